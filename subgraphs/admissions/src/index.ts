import { subscriptions, snapshots } from './events.js';
import { type SubgraphModule } from '@partnerskap/kit';
import { type AdmissionsContext, createContext } from './context.js';
import { figures } from './figures.js';
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
  // The same counted collection (and figure sets) the store writes through.
  figures,
};

export { type AdmissionsStore, createAdmissionsStore } from './store.js';
export { APPLICATION_FIGURES, createCountedApplications, figures } from './figures.js';
