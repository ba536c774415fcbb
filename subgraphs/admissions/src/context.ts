import { type Identity } from '@partnerskap/kit';
import { type AdmissionsLoaders, createLoaders } from './loaders.js';
import { type AdmissionsStore } from './store.js';

/** What every admissions resolver receives. */
export interface AdmissionsContext {
  store: AdmissionsStore;
  loaders: AdmissionsLoaders;
  /** Who is asking, as the gateway vouched. */
  identity: Identity;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: AdmissionsStore, identity: Identity): AdmissionsContext {
  return { store, loaders: createLoaders(store), identity };
}
