/**
 * The webhooks' API: a partner registers, lists and removes its own organisation's webhooks, and
 * reads and replays its dead letters. Another organisation's webhook or dead letter is FORBIDDEN.
 */
import { randomBytes } from 'node:crypto';
import { type Identity, ErrorCode, auditEntry, badUserInput, forbidden, notFound, pageWindow, refused, toConnection } from '@partnerskap/kit';
import { type CatalogueContext } from './context.js';
import { type MutationResolvers, type QueryResolvers } from './generated/resolvers.js';
import { newWebhookSecret } from './webhook-delivery.js';
import { DEAD_LETTER_ORDER, type DeliveryDoc, type Subscriber, type WebhookDoc, type WebhookStore } from './webhook-store.js';
import { checkWebhookUrl } from './webhook-urls.js';
import { SUBSCRIBER_ROLES, type SubscriberRole, checkEventTypes } from './webhooks.js';

/** An organisation keeps at most this many webhooks. */
export const MAX_WEBHOOKS = 20;
/** The most dead letters one replay takes. */
const MAX_REPLAY = 100;

/** The catalogue's organisation in the audit trail, for the directorate's own webhooks. */
const UDIR = 'udir';

const webhooksOf = (ctx: CatalogueContext): WebhookStore => ctx.store.webhooks;

/** The caller as a subscriber; the SDL's guard already admits these roles only. */
function subscriberOf(identity: Identity): Subscriber & { role: SubscriberRole } {
  if (!(SUBSCRIBER_ROLES as readonly string[]).includes(identity.role))
    throw forbidden('Webhooks are for institutions, school owners, unions and the directorate');
  return { role: identity.role as SubscriberRole, org: identity.org ?? null };
}

const owns = (s: Subscriber, doc: { role: string; org: string | null }) => doc.role === s.role && doc.org === s.org;

/** A webhook's or a delivery's id: what we make (`wh-…`, `wh-…_ev-…`), nothing that could be an operator. */
function idOf(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,100}$/.test(value)) throw badUserInput(`${field} is not a valid id`, field);
  return value;
}

const webhookView = (d: WebhookDoc) => ({ id: d._id, url: d.url, eventTypes: d.eventTypes, createdAt: d.createdAt, active: d.active });

const deliveryView = (d: DeliveryDoc | (Omit<DeliveryDoc, '_id'> & { id: string })) => ({
  id: '_id' in d ? d._id : d.id,
  webhookId: d.webhook,
  eventId: d.eventId,
  eventType: d.eventType,
  state: d.state.toUpperCase(),
  attempts: d.attempts,
  lastStatus: d.lastStatus,
  lastError: d.lastError,
  createdAt: d.createdAt,
  deadAt: d.deadAt,
  payload: d.payload,
});

/** The webhooks' queries. */
export const webhookQueries: QueryResolvers = {
  webhooks: async (_, __, ctx) => (await webhooksOf(ctx).list(subscriberOf(ctx.identity))).map(webhookView),
  webhookDeadLetters: async (_, args, ctx) => {
    const subscriber = subscriberOf(ctx.identity);
    const window = pageWindow(args, DEAD_LETTER_ORDER);
    const rows = await webhooksOf(ctx).deadLetters(subscriber, window);
    const connection = toConnection(rows, window, () => webhooksOf(ctx).countDeadLetters(subscriber));
    return { ...connection, edges: connection.edges.map((e) => ({ cursor: e.cursor, node: deliveryView(e.node) })) };
  },
};

/** The webhooks' mutations. */
export const webhookMutations: MutationResolvers = {
  registerWebhook: async (_, { input }, ctx) => {
    const subscriber = subscriberOf(ctx.identity);
    const store = webhooksOf(ctx);
    const url = checkWebhookUrl(input.url, { development: store.development() });
    const eventTypes = checkEventTypes(input.eventTypes, subscriber.role);
    if (typeof eventTypes === 'string') throw badUserInput(eventTypes, 'input.eventTypes');
    if ((await store.activeCount(subscriber)) >= MAX_WEBHOOKS)
      throw badUserInput(`An organisation keeps at most ${MAX_WEBHOOKS} webhooks: remove one first`, 'input');
    // Machine time, not the rules' clock: it is compared with the events' commit times.
    const createdAt = new Date();
    const doc: WebhookDoc = {
      _id: `wh-${randomBytes(8).toString('hex')}`,
      ...subscriber,
      url,
      eventTypes,
      secret: newWebhookSecret(),
      createdAt,
      active: true,
    };
    const line = auditEntry(ctx.identity, ctx.clock.now(), 'registerWebhook', doc._id, subscriber.org ?? UDIR, { host: new URL(url).host, eventTypes });
    const saved = await store.register(doc, line);
    return { id: saved._id, webhook: webhookView(saved), secret: saved.secret };
  },

  removeWebhook: async (_, args, ctx) => {
    const subscriber = subscriberOf(ctx.identity);
    const id = idOf(args.id, 'id');
    const store = webhooksOf(ctx);
    const found = await store.byId(id);
    if (!found || !found.active) throw notFound(`There is no webhook ${id}`, 'id');
    if (!owns(subscriber, found)) throw forbidden('This webhook is another organisation’s', 'id');
    const removed = await store.remove(id, auditEntry(ctx.identity, ctx.clock.now(), 'removeWebhook', id, subscriber.org ?? UDIR));
    // Removed by a concurrent request between the look and the write.
    if (!removed) throw notFound(`There is no webhook ${id}`, 'id');
    return webhookView(removed);
  },

  replayDeadLetters: async (_, args, ctx) => {
    const subscriber = subscriberOf(ctx.identity);
    if (args.ids.length === 0 || args.ids.length > MAX_REPLAY) throw badUserInput(`ids must name 1 to ${MAX_REPLAY} dead letters`, 'ids');
    const ids = [...new Set(args.ids.map((id, i) => idOf(id, `ids.${i}`)))];
    const store = webhooksOf(ctx);
    const found = new Map((await store.deliveriesByIds(ids)).map((d) => [d._id, d]));
    // Every id is checked before anything changes: all are replayed, or none.
    args.ids.forEach((id, i) => {
      const d = found.get(id);
      if (!d) throw notFound(`There is no dead letter ${id}`, `ids.${i}`);
      if (!owns(subscriber, d)) throw forbidden('This dead letter is another organisation’s', `ids.${i}`);
      if (d.state !== 'dead') throw refused(ErrorCode.INVALID_STATE, `${id} is not a dead letter (it is ${d.state})`, `ids.${i}`);
    });
    const line = auditEntry(
      ctx.identity,
      ctx.clock.now(),
      'replayDeadLetters',
      ids.length === 1 ? ids[0]! : `${ids.length} dead letters`,
      subscriber.org ?? UDIR,
      { ids },
    );
    const replayed = new Map((await store.replay(ids, new Date(), line)).map((d) => [d._id, d]));
    store.nudge();
    return ids.flatMap((id) => (replayed.has(id) ? [deliveryView(replayed.get(id)!)] : []));
  },
};
