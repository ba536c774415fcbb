import { type Clock, type Identity, type Supergraph, type SubgraphServices } from '@partnerskap/kit';
import { type AdmissionsLoaders, createLoaders } from './loaders.js';
import { type AdmissionsStore } from './store.js';

/** What every admissions resolver receives. */
export interface AdmissionsContext {
  store: AdmissionsStore;
  loaders: AdmissionsLoaders;
  /** Who is asking, as the gateway vouched. */
  identity: Identity;
  /** The one clock of the rules. */
  clock: Clock;
  /** The supergraph, asked as a service when a rule needs another partner's decision. */
  supergraph: Supergraph;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: AdmissionsStore, identity: Identity, services: SubgraphServices): AdmissionsContext {
  return { store, loaders: createLoaders(store), identity, clock: services.clock, supergraph: services.supergraph };
}
