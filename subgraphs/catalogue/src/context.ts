import { type Clock, type Identity, type InsightsSettings, type Projections, type SubgraphServices } from '@partnerskap/kit';
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
  /** What this partner keeps of the others' records (kept from their events): rules read it, never a live call. */
  projections: Projections;
  /** The salary cost per FTE and the scholarship the insights value funding with (configuration). */
  insights: InsightsSettings;
}

/** A fresh context (and loaders) for one request. */
export function createContext(store: CatalogueStore, identity: Identity, services: SubgraphServices): CatalogueContext {
  return { store, loaders: createLoaders(store), identity, clock: services.clock, projections: services.projections, insights: services.insights };
}
