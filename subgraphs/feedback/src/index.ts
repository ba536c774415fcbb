import { subscriptions } from './events.js';
import { type SubgraphModule } from '@partnerskap/kit';
import { type FeedbackContext, createContext } from './context.js';
import { figures } from './figures.js';
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
  // The same counted collection (and figure sets) the store writes through.
  figures,
};

export { type FeedbackStore, createFeedbackStore } from './store.js';
export { FEEDBACK_FIGURES, createCountedFeedback } from './figures.js';
