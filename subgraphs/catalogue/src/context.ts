import { createLoaders, type CatalogueLoaders } from './loaders.js';
import { type CatalogueStore } from './store.js';

/** What every catalogue resolver receives. */
export interface CatalogueContext {
  store: CatalogueStore;
  loaders: CatalogueLoaders;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: CatalogueStore): CatalogueContext {
  return { store, loaders: createLoaders(store) };
}
