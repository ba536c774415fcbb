import { type Clock, type Identity, type Supergraph, type SubgraphServices } from '@partnerskap/kit';
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
  /** The supergraph, asked as a service when a rule needs another partner's decision. */
  supergraph: Supergraph;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: FeedbackStore, identity: Identity, services: SubgraphServices): FeedbackContext {
  return { store, loaders: createLoaders(store), identity, clock: services.clock, supergraph: services.supergraph };
}
