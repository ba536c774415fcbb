/**
 * The webhooks' data: the partners' subscriptions (`webhooks`) and one delivery job per
 * subscription and event (`webhook_deliveries`), which is also the dead-letter list.
 */
import { randomBytes } from 'node:crypto';
import { type ClientSession, type Db, type Filter } from 'mongodb';
import { type AuditDoc, type PageWindow, afterCursor, createAuditedWriter, keysetOrder, keysetSort, withId } from '@partnerskap/kit';

/** A partner's subscription as stored. */
export interface WebhookDoc {
  _id: string;
  /** The subscriber's organisation; null for the directorate (it has none). */
  org: string | null;
  role: string;
  url: string;
  /** Exact types (`study.published`) or whole kinds (`application.*`). */
  eventTypes: string[];
  /** `whsec_…`: shown once at registration, erased on removal. */
  secret: string;
  createdAt: Date;
  active: boolean;
  removedAt?: Date;
}

/** Where a delivery job stands. */
export type DeliveryState = 'pending' | 'delivered' | 'dead';

/** One event to deliver to one subscription, as stored. */
export interface DeliveryDoc {
  /** `<webhook id>_<event id>`: one job per subscription and event, whatever happens. */
  _id: string;
  webhook: string;
  org: string | null;
  role: string;
  eventId: string;
  eventType: string;
  /** The body every attempt sends, fixed when the job is made. */
  payload: string;
  state: DeliveryState;
  attempts: number;
  /** When it is due; while an attempt runs, when the attempt's lease runs out. */
  nextAt: Date;
  /** The token of the attempt running, so that only it records its outcome. */
  claim: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  deadAt: Date | null;
  /** Delivered jobs are kept a week, dead letters 30 days (TTL index). */
  expiresAt?: Date;
}

/** How long delivered jobs and dead letters are kept. */
export const DELIVERED_TTL_MS = 7 * 86_400_000;
export const DEAD_LETTER_TTL_MS = 30 * 86_400_000;

/** The dead-letter list's stable order: newest first, then id. */
export const DEAD_LETTER_ORDER = keysetOrder('webhookDeadLetters', [{ field: 'deadAt', direction: -1, type: 'date' }]);

/** Whose subscriptions: a role and its organisation (null for the directorate). */
export interface Subscriber {
  role: string;
  org: string | null;
}

/** A job claimed for an attempt, with what the attempt needs of its subscription. */
export interface ClaimedDelivery {
  job: DeliveryDoc;
  url: string;
  secret: string;
}

/** What the background work of a database tells the resolvers of the same database (the kit hands them nothing else in common). */
export interface WebhookRuntime {
  /** Development URLs (loopback http) are allowed; without a runtime production rules hold. */
  development: boolean;
  /** Wakes the delivery worker (after a replay). */
  nudge(): void;
}

const runtimes = new WeakMap<Db, WebhookRuntime>();

/** Registers the running background work of a database. */
export function setWebhookRuntime(db: Db, runtime: WebhookRuntime): void {
  runtimes.set(db, runtime);
}

/** The webhooks' store over a catalogue database. */
export function createWebhookStore(db: Db) {
  const webhooks = db.collection<WebhookDoc>('webhooks');
  const deliveries = db.collection<DeliveryDoc>('webhook_deliveries');
  // Audit lines only (no events): the catalogue's own writer keeps its outbox.
  const writer = createAuditedWriter(db, 'catalogue');
  const mine = (s: Subscriber) => ({ role: s.role, org: s.org });
  return {
    development: () => runtimes.get(db)?.development ?? false,
    nudge: () => runtimes.get(db)?.nudge(),
    /**
     * GDPR erasure: the deliveries whose body names the teacher (an application's state) name the
     * pseudonym instead; bodies already delivered are the partner's to erase, on the `application.erased` event.
     */
    async rekeyTeacher(teacher: string, pseudonym: string, session?: ClientSession): Promise<number> {
      const named = await deliveries
        .find({ payload: { $regex: escapeRegExp(JSON.stringify(teacher)) } }, { projection: { payload: 1 }, ...(session ? { session } : {}) })
        .toArray();
      for (const d of named) {
        await deliveries.updateOne(
          { _id: d._id },
          { $set: { payload: d.payload.split(JSON.stringify(teacher)).join(JSON.stringify(pseudonym)) } },
          session ? { session } : {},
        );
      }
      return named.length;
    },
    async ensureIndexes(): Promise<void> {
      await webhooks.createIndexes([{ key: { role: 1, org: 1, active: 1, createdAt: -1 } }, { key: { active: 1 } }]);
      await deliveries.createIndexes([
        { key: { state: 1, nextAt: 1 } },
        { key: { webhook: 1 } },
        { key: { role: 1, org: 1, state: 1, deadAt: -1, _id: 1 } },
        { key: { expiresAt: 1 }, expireAfterSeconds: 0 },
      ]);
    },
    async register(doc: WebhookDoc, line: AuditDoc): Promise<WebhookDoc> {
      return writer.write(line, null, async (session) => (await webhooks.insertOne(doc, { session }), doc));
    },
    activeCount: (s: Subscriber) => webhooks.countDocuments({ ...mine(s), active: true }),
    byId: (id: string) => webhooks.findOne({ _id: id }),
    async list(s: Subscriber): Promise<WebhookDoc[]> {
      return webhooks
        .find({ ...mine(s), active: true })
        .sort({ createdAt: -1, _id: 1 })
        .limit(100)
        .toArray();
    },
    /** Stops a subscription: no more jobs, and its pending jobs and dead letters go. */
    async remove(id: string, line: AuditDoc): Promise<WebhookDoc | null> {
      return writer.write(line, null, async (session) => {
        const doc = await webhooks.findOneAndUpdate(
          { _id: id, active: true },
          { $set: { active: false, removedAt: line.at, secret: '' } },
          { session, returnDocument: 'after' },
        );
        if (doc) await deliveries.deleteMany({ webhook: id }, { session });
        return doc;
      });
    },
    /** Makes the jobs of a page's events for every subscription that should get them, in the consumer's transaction. */
    async enqueue(make: (subscriptions: WebhookDoc[]) => DeliveryDoc[], session: ClientSession): Promise<number> {
      const subscriptions = await webhooks.find({ active: true }, { session }).toArray();
      if (subscriptions.length === 0) return 0;
      const jobs = make(subscriptions);
      if (jobs.length > 0) await deliveries.insertMany(jobs, { session });
      return jobs.length;
    },
    /** Claims the job due first for one attempt (its lease: `leaseMs`), with its subscription; null when none is due. */
    async claim(now: Date, leaseMs: number): Promise<ClaimedDelivery | null> {
      for (;;) {
        const claim = randomBytes(8).toString('hex');
        const job = await deliveries.findOneAndUpdate(
          { state: 'pending', nextAt: { $lte: now } },
          { $set: { nextAt: new Date(now.getTime() + leaseMs), claim } },
          { sort: { nextAt: 1 }, returnDocument: 'after' },
        );
        if (!job) return null;
        const hook = await webhooks.findOne({ _id: job.webhook, active: true });
        if (hook) return { job, url: hook.url, secret: hook.secret };
        // Removed meanwhile: its job goes too.
        await deliveries.deleteOne({ _id: job._id, claim });
      }
    },
    /** Records an attempt's outcome; a job no longer claimed by it (removed, replayed) is left alone. */
    async settle(job: DeliveryDoc, outcome: { status: number | null; error: string | null; at: Date; next: Date | null; delivered: boolean }): Promise<void> {
      const attempts = job.attempts + 1;
      const last = { attempts, lastStatus: outcome.status, lastError: outcome.error, claim: null };
      const set: Partial<DeliveryDoc> = outcome.delivered
        ? { ...last, state: 'delivered', deliveredAt: outcome.at, expiresAt: new Date(outcome.at.getTime() + DELIVERED_TTL_MS) }
        : outcome.next
          ? { ...last, nextAt: outcome.next }
          : { ...last, state: 'dead', deadAt: outcome.at, expiresAt: new Date(outcome.at.getTime() + DEAD_LETTER_TTL_MS) };
      await deliveries.updateOne({ _id: job._id, claim: job.claim }, { $set: set });
    },
    /** When the next pending job is due, or null. */
    async nextDue(): Promise<Date | null> {
      return (
        (
          await deliveries
            .find({ state: 'pending' }, { projection: { nextAt: 1 } })
            .sort({ nextAt: 1 })
            .limit(1)
            .next()
        )?.nextAt ?? null
      );
    },
    async deadLetters(s: Subscriber, window: PageWindow) {
      const docs = await deliveries
        .find(afterCursor({ ...mine(s), state: 'dead' as const }, window) as Filter<DeliveryDoc>)
        .sort(keysetSort(DEAD_LETTER_ORDER))
        .limit(window.limit + 1)
        .toArray();
      return docs.map(withId);
    },
    countDeadLetters: (s: Subscriber) => deliveries.countDocuments({ ...mine(s), state: 'dead' }),
    deliveriesByIds: (ids: string[]) => deliveries.find({ _id: { $in: ids } }).toArray(),
    /** Makes dead letters due again, from their first attempt. */
    async replay(ids: string[], now: Date, line: AuditDoc): Promise<DeliveryDoc[]> {
      return writer.write(line, null, async (session) => {
        await deliveries.updateMany(
          { _id: { $in: ids }, state: 'dead' },
          { $set: { state: 'pending', nextAt: now, attempts: 0, deadAt: null, claim: null }, $unset: { expiresAt: '' } },
          { session },
        );
        return deliveries.find({ _id: { $in: ids } }, { session }).toArray();
      });
    },
  };
}

/** The webhooks' store. */
export type WebhookStore = ReturnType<typeof createWebhookStore>;

/** Text as a regular expression that matches exactly it. */
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
