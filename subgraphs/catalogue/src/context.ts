import { type Clock, type Identity, type InsightsSettings, type Supergraph, type SubgraphServices } from '@partnerskap/kit';
import { createLoaders, type CatalogueLoaders } from './loaders.js';
import { type CatalogueStore } from './store.js';

/** What every catalogue resolver receives. */
export interface CatalogueContext {
  store: CatalogueStore;
  loaders: CatalogueLoaders;
  /** Who is asking, as the gateway vouched. */
  identity: Identity;
  /** The one clock of the rules. */
  clock: Clock;
  /** The supergraph, asked as a service when a rule needs another partner's decision. */
  supergraph: Supergraph;
  /** The salary cost per FTE and the scholarship the insights value funding with (configuration). */
  insights: InsightsSettings;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: CatalogueStore, identity: Identity, services: SubgraphServices): CatalogueContext {
  return { store, loaders: createLoaders(store), identity, clock: services.clock, supergraph: services.supergraph, insights: services.insights };
}
