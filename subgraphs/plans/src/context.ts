import { type PlansLoaders, createLoaders } from './loaders.js';
import { type PlansStore } from './store.js';

/** What every plans resolver receives. */
export interface PlansContext {
  store: PlansStore;
  loaders: PlansLoaders;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: PlansStore): PlansContext {
  return { store, loaders: createLoaders(store) };
}
