import { type AdmissionsLoaders, createLoaders } from './loaders.js';
import { type AdmissionsStore } from './store.js';

/** What every admissions resolver receives. */
export interface AdmissionsContext {
  store: AdmissionsStore;
  loaders: AdmissionsLoaders;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: AdmissionsStore): AdmissionsContext {
  return { store, loaders: createLoaders(store) };
}
