import { type Clock, type Identity, type Projections, type SubgraphServices } from '@partnerskap/kit';
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
  /** What this partner keeps of the others' records (kept from their events): rules read it, never a live call. */
  projections: Projections;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: AdmissionsStore, identity: Identity, services: SubgraphServices): AdmissionsContext {
  return { store, loaders: createLoaders(store, services.projections), identity, clock: services.clock, projections: services.projections };
}
