import { type SubgraphModule } from '@partnerskap/kit';
import { type CatalogueContext, createContext } from './context.js';
import { createCatalogueServer } from './server.js';
import { type CatalogueStore, createCatalogueStore } from './store.js';

/** The catalogue subgraph (Udir), ready to start. */
export const catalogue: SubgraphModule<CatalogueStore, CatalogueContext> = {
  name: 'catalogue',
  defaultPort: 4001,
  createStore: createCatalogueStore,
  createServer: createCatalogueServer,
  createContext,
};

export { type CatalogueStore, createCatalogueStore } from './store.js';
