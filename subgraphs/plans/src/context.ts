import { type Identity } from '@partnerskap/kit';
import { type PlansLoaders, createLoaders } from './loaders.js';
import { type PlansStore } from './store.js';

/** What every plans resolver receives. */
export interface PlansContext {
  store: PlansStore;
  loaders: PlansLoaders;
  /** Who is asking, as the gateway vouched. */
  identity: Identity;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: PlansStore, identity: Identity): PlansContext {
  return { store, loaders: createLoaders(store), identity };
}
