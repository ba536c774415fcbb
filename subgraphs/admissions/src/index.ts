import { subscriptions, snapshots } from './events.js';
import { type SubgraphModule } from '@partnerskap/kit';
import { type AdmissionsContext, createContext } from './context.js';
import { createAdmissionsServer } from './server.js';
import { type AdmissionsStore, createAdmissionsStore } from './store.js';

/** The admissions subgraph (the institutions), ready to start. */
export const admissions: SubgraphModule<AdmissionsStore, AdmissionsContext> = {
  name: 'admissions',
  defaultPort: 4002,
  createStore: createAdmissionsStore,
  createServer: createAdmissionsServer,
  createContext,
  subscriptions,
  snapshots,
};

export { type AdmissionsStore, createAdmissionsStore } from './store.js';
