import { type FeedbackLoaders, createLoaders } from './loaders.js';
import { type FeedbackStore } from './store.js';

/** What every feedback resolver receives. */
export interface FeedbackContext {
  store: FeedbackStore;
  loaders: FeedbackLoaders;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: FeedbackStore): FeedbackContext {
  return { store, loaders: createLoaders(store) };
}
