import { type Identity } from '@partnerskap/kit';
import { createLoaders, type CatalogueLoaders } from './loaders.js';
import { type CatalogueStore } from './store.js';

/** What every catalogue resolver receives. */
export interface CatalogueContext {
  store: CatalogueStore;
  loaders: CatalogueLoaders;
  /** Who is asking, as the gateway vouched. */
  identity: Identity;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: CatalogueStore, identity: Identity): CatalogueContext {
  return { store, loaders: createLoaders(store), identity };
}
