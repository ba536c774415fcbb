import { type Identity } from '@partnerskap/kit';
import { type FeedbackLoaders, createLoaders } from './loaders.js';
import { type FeedbackStore } from './store.js';

/** What every feedback resolver receives. */
export interface FeedbackContext {
  store: FeedbackStore;
  loaders: FeedbackLoaders;
  /** Who is asking, as the gateway vouched. */
  identity: Identity;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: FeedbackStore, identity: Identity): FeedbackContext {
  return { store, loaders: createLoaders(store), identity };
}
