/**
 * Events between partners: a transactional outbox per subgraph, a paged feed with a cursor that
 * the other partners read through the gateway as a service, and the consumers that keep local
 * projections of what they read (applied once, cursor in their own database).
 *
 * - A write puts its events in the `outbox` collection in the same transaction as the change.
 * - One sequencer per database (a lease in `outbox_meta`) gives committed events consecutive
 *   numbers; the feed serves numbered events only, so a cursor never passes an event that commits
 *   later (the classic outbox gap).
 * - A consumer asks the feed (long-polling: the producer answers as soon as an event commits),
 *   applies a page in one transaction with its cursor and the ids it applied (`inbox`), and
 *   starts again from its cursor after a restart or an outage of either side.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type ClientSession, type Collection, type Db, type Filter } from 'mongodb';
import { badUserInput } from '@partnerskap/common';

/** The envelope's version: consumers refuse nothing newer silently, they log it. */
export const EVENT_VERSION = 1;

/** One event, as the feed serves it and webhooks deliver it. */
export interface PartnerEvent<D = Record<string, unknown>> {
  /** Unique, stable across redeliveries: what consumers deduplicate on. */
  id: string;
  /** `<kind>.<what happened>`: `study.published`, `application.submitted`, ... */
  type: string;
  /** The partner (subgraph) whose outbox it is. */
  source: string;
  /** The id of the record it is about (a study, an application, a round's year). */
  subject: string;
  /** When it happened, by the rules' clock. */
  time: string;
  /** When the source committed it, by the machine's clock (the rules' clock may be frozen): lag is measured from it. */
  recordedAt: string;
  /** The envelope's version ({@link EVENT_VERSION}). */
  version: number;
  /** Its number in the source's feed (set when the sequencer numbers it). */
  sequence: number;
  /** The organisations it is about: webhooks deliver it to these only (besides `public`). */
  audience: string[];
  /** Anyone may be told (a published offer, an opened round). */
  public: boolean;
  /** The record's state after the change, as its consumers may see it: pseudonymous ids, no names. */
  data: D;
}

/** An event as the outbox stores it. */
interface OutboxDoc extends Omit<PartnerEvent, 'id' | 'sequence' | 'data' | 'recordedAt'> {
  _id: string;
  kind: string;
  /** Null until the sequencer numbers it. */
  seq: number | null;
  /** The machine's time of the write (the rules' clock may be frozen in tests): projection lag is measured from it. */
  recordedAt: Date;
  data: Record<string, unknown>;
}

/** An event to write, before the outbox gives it an id and a number. */
export interface NewEvent {
  type: string;
  subject: string;
  data: Record<string, unknown>;
  audience?: readonly (string | null | undefined)[];
  public?: boolean;
}

let lastStamp = 0;
/** Ids sort in the order this process made them (microseconds, then a counter). */
function eventId(): string {
  const now = Date.now() * 1000;
  lastStamp = now > lastStamp ? now : lastStamp + 1;
  return `ev-${lastStamp.toString(36).padStart(11, '0')}-${randomBytes(4).toString('hex')}`;
}

/** Dates become ISO text, undefined goes: the data as it looks after the feed's JSON, so a projection compares equal. */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** The feed's page. */
export interface EventPage {
  events: PartnerEvent[];
  /** Where to go on from: the last number this page covered. */
  cursor: string;
}

/** The largest page a feed serves. */
export const MAX_EVENT_PAGE = 500;
/** The longest a feed request waits for a new event (ms): well under the gateway's subgraph timeout. */
export const MAX_FEED_WAIT_MS = 2000;
/**
 * How long a sequencer holds the database's lease without renewing it. A replica killed while
 * holding it delays numbering (so delivery) by at most this long; a restart in the same process
 * takes it back at once (the holder is the process).
 */
const LEASE_MS = 3_000;

/** A subgraph's outbox: written in its writes' transactions, numbered by one sequencer, read as a feed. */
export interface Outbox {
  readonly source: string;
  ensureIndexes(): Promise<void>;
  /** Adds events in the caller's transaction. */
  add(events: readonly NewEvent[], time: Date, session: ClientSession): Promise<void>;
  /** Tells waiting feed readers that a transaction with events committed. */
  committed(): void;
  /** A page of events after `after` (of the given kinds), waiting up to `waitMs` for one when there is none. */
  page(options: { after?: string | null; kinds?: readonly string[] | null; first?: number | null; waitMs?: number | null }): Promise<EventPage>;
  /** The highest number given so far (after numbering what has committed). */
  head(): Promise<number>;
  /** The subgraph is stopping: feed requests waiting for an event answer now (a drain does not wait for them). */
  close(): Promise<void>;
}

function cursorArg(after: string | null | undefined): number {
  if (after === null || after === undefined || after === '') return 0;
  if (!/^\d{1,15}$/.test(after)) throw badUserInput('after must be a cursor the feed gave', 'after');
  return Number(after);
}

/** The outbox of the subgraph `source` in `db`. */
export function createOutbox(db: Db, source: string): Outbox {
  const outbox = db.collection<OutboxDoc>('outbox');
  const meta = db.collection<{ _id: string; holder: string | null; until: Date }>('outbox_meta');
  const me = `${hostname()}:${process.pid}`;
  const signal = new EventEmitter();
  signal.setMaxListeners(0);
  let running: Promise<number> | undefined;
  let again = false;
  let closed = false;

  const highest = async () =>
    (
      await outbox
        .find({ seq: { $ne: null } }, { projection: { seq: 1 } })
        .sort({ seq: -1 })
        .limit(1)
        .next()
    )?.seq ?? 0;

  /** One numbering run, holding the lease (one sequencer per database even with several replicas). */
  const run = async (): Promise<number> => {
    // Nothing to number: no lease taken (a quiet database stays unchanged).
    if (!(await outbox.findOne({ seq: null }, { projection: { _id: 1 } }))) return highest();
    const now = new Date();
    const lease = await meta.findOneAndUpdate(
      { _id: 'sequencer', $or: [{ holder: me }, { until: { $lt: now } }] },
      { $set: { holder: me, until: new Date(now.getTime() + LEASE_MS) } },
    );
    if (!lease) return highest();
    let head = await highest();
    for (let batch = 0; ; batch++) {
      if (batch > 0) await meta.updateOne({ _id: 'sequencer', holder: me }, { $set: { until: new Date(Date.now() + LEASE_MS) } });
      const pending = await outbox
        .find({ seq: null }, { projection: { _id: 1 } })
        .sort({ _id: 1 })
        .limit(1000)
        .toArray();
      if (pending.length === 0) return head;
      await outbox.bulkWrite(
        pending.map((p, i) => ({ updateOne: { filter: { _id: p._id, seq: null }, update: { $set: { seq: head + i + 1 } } } })),
        { ordered: true },
      );
      head += pending.length;
      if (pending.length < 1000) return head;
    }
  };
  /** Runs are serialised in this process; a call during a run gets the run after it (which sees its commit). */
  const sequence = (): Promise<number> => {
    if (!running) {
      running = run().finally(() => {
        running = undefined;
      });
      return running;
    }
    again = true;
    return running.then(() => {
      if (!again) return highest();
      again = false;
      return sequence();
    });
  };

  const read = async (after: number, kinds: readonly string[] | null | undefined, first: number): Promise<EventPage> => {
    const head = await sequence();
    const filter = { seq: { $gt: after, $ne: null }, ...(kinds?.length ? { kind: { $in: [...kinds] } } : {}) };
    const docs = await outbox
      .find(filter as Filter<OutboxDoc>)
      .sort({ seq: 1 })
      .limit(first)
      .toArray();
    const events = docs.map(toEvent);
    const last = events.at(-1)?.sequence ?? after;
    // A full page goes on from its last event; a short one covered everything numbered so far.
    return { events, cursor: String(docs.length === first ? last : Math.max(last, head)) };
  };

  return {
    source,
    ensureIndexes: async () => {
      await outbox.createIndexes([{ key: { seq: 1 } }, { key: { kind: 1, seq: 1 } }]);
      await meta.updateOne({ _id: 'sequencer' }, { $setOnInsert: { holder: null, until: new Date(0) } }, { upsert: true });
    },
    add: async (events, time, session) => {
      if (events.length === 0) return;
      const recordedAt = new Date();
      await outbox.insertMany(
        events.map((e) => ({
          _id: eventId(),
          kind: e.type.split('.')[0]!,
          type: e.type,
          source,
          subject: e.subject,
          time: time.toISOString(),
          version: EVENT_VERSION,
          seq: null,
          recordedAt,
          audience: [...new Set(e.audience ?? [])].filter((a): a is string => typeof a === 'string' && a !== ''),
          public: e.public ?? false,
          data: plain(e.data),
        })),
        { session },
      );
    },
    committed: () => {
      signal.emit('committed');
    },
    head: sequence,
    close: async () => {
      closed = true;
      signal.emit('committed');
      // The lease stays: it is this process's, so a restart here takes it back at once, and another replica after it expires.
      await running?.catch(() => undefined);
    },
    page: async ({ after, kinds, first, waitMs }) => {
      const from = cursorArg(after);
      const size = Math.max(1, Math.min(first ?? 100, MAX_EVENT_PAGE));
      const page = await read(from, kinds, size);
      const wait = closed ? 0 : Math.max(0, Math.min(waitMs ?? 0, MAX_FEED_WAIT_MS));
      if (page.events.length > 0 || wait === 0) return page;
      // Nothing yet: answer as soon as a write with events commits here, or when the wait is over.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.off('committed', done);
          resolve();
        };
        const timer = setTimeout(done, wait);
        signal.on('committed', done);
      });
      return read(Number(page.cursor), kinds, size);
    },
  };
}

function toEvent(doc: OutboxDoc): PartnerEvent {
  return {
    id: doc._id,
    type: doc.type,
    source: doc.source,
    subject: doc.subject,
    time: doc.time,
    version: doc.version,
    sequence: doc.seq ?? 0,
    audience: doc.audience,
    public: doc.public,
    data: doc.data,
    recordedAt: doc.recordedAt.toISOString(),
  };
}

/** A feed event as the GraphQL API serves it (`data` as JSON text). */
export function eventView(event: PartnerEvent) {
  return { ...event, data: JSON.stringify(event.data) };
}

/** The resolver of a subgraph's feed field (`<name>Events`): for services only (the schema says so). */
export function feedResolver<C>(outboxOf: (ctx: C) => Outbox) {
  return async (_: unknown, args: { after?: string | null; kinds?: string[] | null; first?: number | null; waitMs?: number | null }, ctx: C) => {
    const page = await outboxOf(ctx).page(args);
    return { cursor: page.cursor, events: page.events.map(eventView) };
  };
}

// ---------------------------------------------------------------------------------------------
// Projections: what a partner keeps of the others' records, by kind and key.

/** A record of another partner as a consumer keeps it. */
interface ProjectionDoc {
  _id: string;
  kind: string;
  key: string;
  /** The source record's id (`subject`): a new state replaces every row of the old one. */
  ref: string;
  source: string;
  /** The source's number of the event that wrote it (0: rebuilt from the owner's records). */
  seq: number;
  data: Record<string, unknown>;
}

/** A row of a projection: its key and data. */
export interface ProjectionRow {
  key: string;
  data: Record<string, unknown>;
}

/** How a consumer keeps one kind of another partner's records: rows from the record's state (default: one row keyed by the subject). */
export interface KindSpec {
  /** The rows of one state; none removes what was kept. */
  project?: (data: Record<string, unknown>, subject: string) => ProjectionRow[];
  /** More to do in the same transaction when a new state is kept (admissions keeps `ownerApproved` on its applications). */
  also?: (data: Record<string, unknown>, subject: string, session: ClientSession | undefined) => Promise<void>;
}

/** A partner's projections of other partners' records. */
export interface Projections {
  ensureIndexes(): Promise<void>;
  /** The data kept of one record of `kind` under `key`, or null. */
  get<T = Record<string, unknown>>(kind: string, key: string, session?: ClientSession): Promise<T | null>;
  /** Several at once (one command): by key. */
  getMany<T = Record<string, unknown>>(kind: string, keys: readonly string[]): Promise<Map<string, T>>;
  /**
   * Keeps a page's new states of records of one kind at once (a few commands whatever the page's
   * size): per record its latest state in the page, unless a later one is kept already.
   */
  keepMany(
    kind: string,
    source: string,
    states: { subject: string; seq: number; data: Record<string, unknown> | null }[],
    spec: KindSpec,
    session?: ClientSession,
  ): Promise<number>;
  /** Every row kept of a kind, by `_id` (reconcile compares them with the owner's records). */
  all(kind: string): Promise<{ key: string; ref: string; data: Record<string, unknown> }[]>;
  /** Replaces every row of a kind by rows made from the owner's records (seed, repair): plain JSON data (see {@link plain}). */
  replace(kind: string, source: string, rows: { ref: string; key: string; data: Record<string, unknown> }[]): Promise<void>;
  collection: Collection<ProjectionDoc>;
}

/** The rows of one state under a spec. */
export function rowsOf(spec: KindSpec, data: Record<string, unknown> | null, subject: string): ProjectionRow[] {
  if (!data) return [];
  return spec.project ? spec.project(data, subject) : [{ key: subject, data }];
}

/** A subgraph's projections, in its own database (`projections`). */
export function createProjections(db: Db): Projections {
  const rows = db.collection<ProjectionDoc>('projections');
  const id = (kind: string, key: string) => `${kind}|${key}`;
  return {
    collection: rows,
    ensureIndexes: async () => {
      await rows.createIndexes([{ key: { kind: 1, ref: 1 } }]);
    },
    get: async <T>(kind: string, key: string, session?: ClientSession) =>
      ((await rows.findOne({ _id: id(kind, key) }, session ? { session } : {}))?.data as T | undefined) ?? null,
    getMany: async <T>(kind: string, keys: readonly string[]) => {
      const found = await rows.find({ _id: { $in: keys.map((k) => id(kind, k)) } }).toArray();
      return new Map(found.map((d) => [d.key, d.data as T]));
    },
    keepMany: async (kind, source, states, spec, session) => {
      const opts = session ? { session } : {};
      const latest = new Map<string, (typeof states)[number]>();
      for (const st of states) if ((latest.get(st.subject)?.seq ?? -1) < st.seq) latest.set(st.subject, st);
      if (latest.size === 0) return 0;
      const kept = await rows.find({ kind, ref: { $in: [...latest.keys()] } }, { ...opts, projection: { ref: 1, seq: 1 } }).toArray();
      for (const k of kept) if (k.seq >= (latest.get(k.ref)?.seq ?? Infinity)) latest.delete(k.ref);
      if (latest.size === 0) return 0;
      const refs = [...latest.keys()];
      if (kept.some((k) => latest.has(k.ref))) await rows.deleteMany({ kind, ref: { $in: refs } }, opts);
      const next = [...latest.values()].flatMap((st) =>
        rowsOf(spec, st.data, st.subject).map((r) => ({ _id: id(kind, r.key), kind, key: r.key, ref: st.subject, source, seq: st.seq, data: plain(r.data) })),
      );
      if (next.length) await rows.insertMany(next, opts);
      if (spec.also) for (const st of latest.values()) await spec.also(st.data ?? {}, st.subject, session);
      return latest.size;
    },
    all: async (kind) => (await rows.find({ kind }).sort({ _id: 1 }).toArray()).map((d) => ({ key: d.key, ref: d.ref, data: d.data })),
    replace: async (kind, source, next) => {
      await rows.deleteMany({ kind });
      // Rows are plain JSON values (the owners' states): stored as they are, in large batches (the seed writes ~190,000).
      for (let i = 0; i < next.length; i += 5000) {
        await rows.insertMany(
          next.slice(i, i + 5000).map((r) => ({ _id: id(kind, r.key), kind, key: r.key, ref: r.ref, source, seq: 0, data: r.data })),
          { ordered: false },
        );
      }
    },
  };
}

/**
 * GDPR erasure of a teacher in one partner's events and projections: the outbox's events and the
 * projection rows that name the teacher name the pseudonym instead, and the projection row of the
 * teacher itself (admissions keeps plans' teachers) goes. In the caller's transaction. Answers how
 * many documents changed.
 */
export async function eraseTeacherFromEvents(db: Db, teacher: string, pseudonym: string, session?: ClientSession): Promise<number> {
  const opts = session ? { session } : {};
  const outbox = await db.collection('outbox').updateMany({ 'data.teacher': teacher }, { $set: { 'data.teacher': pseudonym } }, opts);
  const rows = await db.collection('projections').updateMany({ 'data.teacher': teacher }, { $set: { 'data.teacher': pseudonym } }, opts);
  const own = await db.collection('projections').deleteMany({ kind: 'teacher', key: teacher }, opts);
  return outbox.modifiedCount + rows.modifiedCount + own.deletedCount;
}
