import { subscriptions, snapshots } from './events.js';
import { type SubgraphModule } from '@partnerskap/kit';
import { type PlansContext, createContext } from './context.js';
import { createPlansServer } from './server.js';
import { figures } from './figures.js';
import { type PlansStore, createPlansStore } from './store.js';

/** The plans subgraph (KS and the school owners), ready to start. */
export const plans: SubgraphModule<PlansStore, PlansContext> = {
  name: 'plans',
  defaultPort: 4003,
  createStore: createPlansStore,
  createServer: createPlansServer,
  createContext,
  subscriptions: () => subscriptions,
  snapshots,
  figures,
};

export { type PlansStore, createPlansStore } from './store.js';
export { createPlansCounted, figures } from './figures.js';
