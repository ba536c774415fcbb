import { type Clock, type Identity, type Projections, type SubgraphServices } from '@partnerskap/kit';
import { type FeedbackLoaders, createLoaders } from './loaders.js';
import { type FeedbackStore } from './store.js';

/** What every feedback resolver receives. */
export interface FeedbackContext {
  store: FeedbackStore;
  loaders: FeedbackLoaders;
  /** Who is asking, as the gateway vouched. */
  identity: Identity;
  /** The one clock of the rules. */
  clock: Clock;
  /** What this partner keeps of the others' records (kept from their events): rules read it, never a live call. */
  projections: Projections;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: FeedbackStore, identity: Identity, services: SubgraphServices): FeedbackContext {
  return { store, loaders: createLoaders(store), identity, clock: services.clock, projections: services.projections };
}
