import { subscriptions, snapshots } from './events.js';
import { type SubgraphModule } from '@partnerskap/kit';
import { type CatalogueContext, createContext } from './context.js';
import { createCatalogueServer } from './server.js';
import { figures } from './figures.js';
import { type CatalogueStore, createCatalogueStore } from './store.js';
import { loadWebhookConfig } from './webhook-config.js';
import { startWebhooks } from './webhooks.js';

/** The catalogue subgraph (Udir), ready to start. */
export const catalogue: SubgraphModule<CatalogueStore, CatalogueContext> = {
  name: 'catalogue',
  defaultPort: 4001,
  createStore: createCatalogueStore,
  createServer: createCatalogueServer,
  createContext,
  subscriptions: () => subscriptions,
  snapshots,
  // The same counted collections (and figure sets) the store writes through.
  figures,
  // Its own settings (WEBHOOK_*), read where the module is started: the kit's config knows no webhooks.
  background: (context) => startWebhooks(context, loadWebhookConfig(process.env)),
};

export { type CatalogueStore, createCatalogueStore } from './store.js';
export { ALLOCATION_FIGURES, OFFER_FIGURES, createCatalogueFigures, figures } from './figures.js';
export { type WebhookReceiver, type WebhookReceiverOptions, startWebhookReceiver } from './webhook-receiver.js';
