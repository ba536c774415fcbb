/**
 * Partner webhooks (hosted by the catalogue: Udir runs the strategy's shared infrastructure). One
 * consumer per partner feed (group `webhooks`) turns each event into one delivery job per
 * subscription that may and wants to get it, in the transaction that moves its cursor (so an event
 * is enqueued exactly once per subscription); the delivery worker sends the jobs. docs/webhooks.md.
 */
import { type Background, type BackgroundContext, type PartnerEvent, defaultLog, startConsumer } from '@partnerskap/kit';
import { type WebhookConfig } from './webhook-config.js';
import { startDeliveryWorker } from './webhook-delivery.js';
import { type DeliveryDoc, type WebhookDoc, createWebhookStore, setWebhookRuntime } from './webhook-store.js';

/** The event types a webhook can ask for, by the partner whose feed has them. */
export const WEBHOOK_EVENT_TYPES = Object.freeze({
  catalogue: ['study.published', 'study.updated', 'study.cancelled', 'round.opened', 'allocation.decided'],
  admissions: [
    'application.submitted',
    'application.withdrawn',
    'application.admission-decided',
    'application.enrolled',
    'application.completed',
    'application.erased',
  ],
  plans: ['decision.made', 'decision.funding-scheme-chosen', 'decision.participation-confirmed', 'decision.updated'],
  feedback: ['statement.published'],
} as const);

/** The roles that may register webhooks (teachers and services may not). */
export const SUBSCRIBER_ROLES = ['institution', 'school-owner', 'union', 'directorate'] as const;
/** One of {@link SUBSCRIBER_ROLES}. */
export type SubscriberRole = (typeof SUBSCRIBER_ROLES)[number];

/**
 * The kinds each role can ever get: public kinds for everyone; the records of an application
 * (admissions', the owner's decision, Udir's funding) only for the organisations they are about;
 * the directorate its own funding decisions besides what is public, never an application's or an
 * owner's details.
 */
export const RECEIVABLE_KINDS: Readonly<Record<SubscriberRole, readonly string[]>> = Object.freeze({
  institution: ['study', 'round', 'statement', 'allocation', 'application', 'decision'],
  'school-owner': ['study', 'round', 'statement', 'allocation', 'application', 'decision'],
  union: ['study', 'round', 'statement'],
  directorate: ['study', 'round', 'statement', 'allocation'],
});

/** The directorate's own records: it gets every event of these kinds, whoever they are about. */
const DIRECTORATE_KINDS = new Set(['study', 'round', 'allocation']);

const kindOf = (type: string) => type.split('.')[0]!;
const ALL_TYPES = new Set<string>(Object.values(WEBHOOK_EVENT_TYPES).flat());
const ALL_KINDS = new Set([...ALL_TYPES].map(kindOf));

/** Whether a subscriber may get an event: public ones, the ones about its organisation, the directorate's own kinds; within its role's kinds. */
export function mayReceive(subscriber: { role: string; org: string | null }, event: Pick<PartnerEvent, 'type' | 'public' | 'audience'>): boolean {
  const kind = kindOf(event.type);
  if (!(RECEIVABLE_KINDS[subscriber.role as SubscriberRole] ?? []).includes(kind)) return false;
  if (event.public) return true;
  if (subscriber.role === 'directorate') return DIRECTORATE_KINDS.has(kind);
  return subscriber.org !== null && event.audience.includes(subscriber.org);
}

/** Whether a subscription asks for an event type: the exact type or its kind (`application.*`). */
export function matchesTypes(eventTypes: readonly string[], type: string): boolean {
  return eventTypes.includes(type) || eventTypes.includes(`${kindOf(type)}.*`);
}

/**
 * The event types a subscription asks for, checked: known types or `kind.*`, each of a kind the
 * role can ever get; sorted, without repeats. A problem is returned as its message (the resolver
 * turns it into BAD_USER_INPUT at `input.eventTypes`).
 */
export function checkEventTypes(types: readonly string[], role: SubscriberRole): string[] | string {
  if (types.length === 0 || types.length > 30) return 'input.eventTypes must name 1 to 30 event types';
  for (const t of types) {
    const wildcard = t.endsWith('.*');
    if (!(wildcard ? ALL_KINDS.has(t.slice(0, -2)) : ALL_TYPES.has(t)))
      return `input.eventTypes: "${String(t).slice(0, 60)}" is no event type (see docs/webhooks.md; a whole kind as "study.*")`;
    if (!RECEIVABLE_KINDS[role].includes(kindOf(t))) return `input.eventTypes: ${kindOf(t)} events never go to the role ${role}`;
  }
  return [...new Set(types)].sort();
}

/** What a receiver gets: Standard Webhooks' `type`, `timestamp` and `data`, and where the event comes from. No audience: other organisations' ids are not the receiver's business. */
export function webhookPayload(event: PartnerEvent): string {
  return JSON.stringify({
    type: event.type,
    timestamp: event.time,
    id: event.id,
    source: event.source,
    subject: event.subject,
    sequence: event.sequence,
    version: event.version,
    data: event.data,
  });
}

/** When the source committed the event (machine time), as the feed serves it. */
function recordedAt(event: PartnerEvent): number {
  return Date.parse(event.recordedAt);
}

/** The delivery jobs of some events for some subscriptions: one per subscription that wants and may get an event committed after it was registered. */
export function deliveryJobs(events: readonly PartnerEvent[], subscriptions: readonly WebhookDoc[], now: Date): DeliveryDoc[] {
  const jobs: DeliveryDoc[] = [];
  for (const event of events) {
    let payload: string | undefined;
    for (const s of subscriptions) {
      if (!s.active || !matchesTypes(s.eventTypes, event.type) || !mayReceive(s, event)) continue;
      // A new subscription starts with what happens after it: not with a backlog a lagging consumer still holds.
      if (recordedAt(event) < s.createdAt.getTime()) continue;
      payload ??= webhookPayload(event);
      jobs.push({
        _id: `${s._id}_${event.id}`,
        webhook: s._id,
        org: s.org,
        role: s.role,
        eventId: event.id,
        eventType: event.type,
        payload,
        state: 'pending',
        attempts: 0,
        nextAt: now,
        claim: null,
        lastStatus: null,
        lastError: null,
        createdAt: now,
        deliveredAt: null,
        deadAt: null,
      });
    }
  }
  return jobs;
}

/** The catalogue's background work: the webhooks' consumers of the four feeds and the delivery worker. */
export function startWebhooks(context: BackgroundContext, config: WebhookConfig): Background {
  const log = context.log ?? defaultLog;
  const store = createWebhookStore(context.db);
  const worker = startDeliveryWorker({ store, config, development: context.development, log });
  setWebhookRuntime(context.db, { development: context.development, nudge: () => worker.nudge() });
  const consumers = Object.entries(WEBHOOK_EVENT_TYPES).map(([source, types]) =>
    startConsumer({
      db: context.db,
      group: 'webhooks',
      source,
      kinds: [...new Set(types.map(kindOf))],
      read: context.read,
      apply: async (events, session) => {
        // The jobs are there once the consumer's transaction is over (its session then ends).
        if ((await store.enqueue((subscriptions) => deliveryJobs(events, subscriptions, new Date()), session)) > 0) session.once('ended', () => worker.nudge());
      },
      ...(context.log ? { log: context.log } : {}),
    }),
  );
  return {
    status: () => ({ consumers: consumers.map((c) => c.status()), deliveries: worker.status() }),
    stop: async () => {
      await Promise.all(consumers.map((c) => c.stop()));
      await worker.stop();
    },
  };
}
