import { subscriptions } from './events.js';
import { type SubgraphModule } from '@partnerskap/kit';
import { type FeedbackContext, createContext } from './context.js';
import { createFeedbackServer } from './server.js';
import { type FeedbackStore, createFeedbackStore } from './store.js';

/** The feedback subgraph (the unions), ready to start. */
export const feedback: SubgraphModule<FeedbackStore, FeedbackContext> = {
  name: 'feedback',
  defaultPort: 4004,
  createStore: createFeedbackStore,
  createServer: createFeedbackServer,
  createContext,
  subscriptions: () => subscriptions,
};

export { type FeedbackStore, createFeedbackStore } from './store.js';
