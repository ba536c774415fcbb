import { type Clock, type Identity, type Projections, type SubgraphServices } from '@partnerskap/kit';
import { type PlansLoaders, createLoaders } from './loaders.js';
import { type PlansStore } from './store.js';

/** What every plans resolver receives. */
export interface PlansContext {
  store: PlansStore;
  loaders: PlansLoaders;
  /** Who is asking, as the gateway vouched. */
  identity: Identity;
  /** The one clock of the rules. */
  clock: Clock;
  /** What this partner keeps of the others' records (kept from their events): rules read it, never a live call. */
  projections: Projections;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: PlansStore, identity: Identity, services: SubgraphServices): PlansContext {
  return { store, loaders: createLoaders(store), identity, clock: services.clock, projections: services.projections };
}
