/**
 * A consumer of another partner's feed: reads it through the gateway as a service, applies each
 * event once (ids in `inbox`, the cursor in `cursors`, both in the transaction that applies the
 * page), and goes on from its cursor after a restart or an outage of either side.
 */
import { type ClientSession, type Db } from 'mongodb';
import { type PartnerEvent, type EventPage, type KindSpec, type Projections, MAX_FEED_WAIT_MS } from './events.js';
import { inTransaction } from './transactions.js';
import { type Log } from '@partnerskap/common';
import { defaultLog } from './server.js';

/** How long the ids of applied events are kept (a redelivery comes long before). */
export const INBOX_TTL_S = 30 * 24 * 60 * 60;
/** The page a consumer asks for. */
export const CONSUMER_PAGE = 100;

/** Reads one page of a partner's feed (through the gateway, as this subgraph's service). */
export type FeedReader = (
  source: string,
  options: { after: string | null; kinds: readonly string[]; first: number; waitMs: number; signal: AbortSignal },
) => Promise<EventPage>;

/** Where a consumer stands: `/ready` shows it, tests and the bench wait on it. */
export interface ConsumerStatus {
  group: string;
  source: string;
  cursor: string | null;
  /** Whether its last read succeeded and found nothing new (it has everything the source had numbered then). */
  caughtUp: boolean;
  /** When it last read the feed successfully (ISO), or null. */
  lastReadAt: string | null;
  lastError: string | null;
  applied: number;
  /** Lag of the events it applied (ms from the source's commit to its own), over the last 10,000. */
  lagMs: { p50: number; p99: number; max: number; count: number };
}

/** Options of {@link startConsumer}. */
export interface ConsumerOptions {
  db: Db;
  /** Which of this subgraph's consumers (`projections`, `webhooks`): each has its own cursor per source. */
  group: string;
  source: string;
  kinds: readonly string[];
  read: FeedReader;
  /** Applies a page's new events in the consumer's transaction (the same one that moves the cursor). */
  apply(events: PartnerEvent[], session: ClientSession): Promise<void>;
  log?: Log;
  /** Longest pause after failures (ms; default 1 s: a partner back from an outage is read again within it). */
  maxBackoffMs?: number;
}

/** A running consumer. */
export interface Consumer {
  status(): ConsumerStatus;
  stop(): Promise<void>;
}

interface CursorDoc {
  _id: string;
  after: string;
}

/** Starts reading a partner's feed; `stop()` ends the loop (a read in flight is abandoned, nothing half-applied). */
export function startConsumer(options: ConsumerOptions): Consumer {
  const cursors = options.db.collection<CursorDoc>('cursors');
  const inbox = options.db.collection<{ _id: string; at: Date }>('inbox');
  const log = options.log ?? defaultLog;
  const key = `${options.group}|${options.source}`;
  const abort = new AbortController();
  const lags: number[] = [];
  const state = { cursor: null as string | null, caughtUp: false, lastReadAt: null as string | null, lastError: null as string | null, applied: 0 };
  let failures = 0;

  // The listener goes with its timer: a partner down for hours must not pile one up per retry.
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => (clearTimeout(t), resolve());
      const t = setTimeout(() => (abort.signal.removeEventListener('abort', wake), resolve()), ms);
      abort.signal.addEventListener('abort', wake, { once: true });
    });

  const once = async () => {
    if (state.cursor === null) state.cursor = (await cursors.findOne({ _id: key }))?.after ?? '0';
    const page = await options.read(options.source, {
      after: state.cursor,
      kinds: options.kinds,
      first: CONSUMER_PAGE,
      // Caught up: wait at the producer for the next commit (long poll); behind: ask again at once.
      waitMs: state.caughtUp ? MAX_FEED_WAIT_MS / 2 : 0,
      signal: abort.signal,
    });
    if (abort.signal.aborted) return;
    if (page.events.length) {
      // Ids are kept per group: two groups of one database (projections, webhooks) each apply an event once.
      const idOf = (e: PartnerEvent) => `${options.group}|${e.id}`;
      const seen = new Set((await inbox.find({ _id: { $in: page.events.map(idOf) } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
      const fresh = page.events.filter((e) => !seen.has(idOf(e)));
      await inTransaction(options.db, async (session) => {
        if (fresh.length) {
          await inbox.insertMany(
            fresh.map((e) => ({ _id: idOf(e), at: new Date() })),
            { session },
          );
          await options.apply(fresh, session);
        }
        await cursors.updateOne({ _id: key }, { $set: { after: page.cursor } }, { upsert: true, session });
      });
      const now = Date.now();
      for (const e of fresh) {
        const at = Date.parse(e.recordedAt);
        lags.push(Math.max(0, now - at));
      }
      if (lags.length > 10_000) lags.splice(0, lags.length - 10_000);
      state.applied += fresh.length;
    } else if (page.cursor !== state.cursor) {
      await cursors.updateOne({ _id: key }, { $set: { after: page.cursor } }, { upsert: true });
    }
    state.cursor = page.cursor;
    state.caughtUp = page.events.length < CONSUMER_PAGE;
    state.lastReadAt = new Date().toISOString();
    state.lastError = null;
  };

  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        await once();
        if (failures >= 4) log({ level: 'info', msg: 'reading a partner’s events again', group: options.group, source: options.source, after: failures });
        failures = 0;
      } catch (err) {
        if (abort.signal.aborted) break;
        failures++;
        state.caughtUp = false;
        const message = String((err as Error)?.message ?? err);
        // Once when a run of failures starts (after the first few: the gateway starts after its subgraphs), then every 50th.
        if (failures === 4 || failures % 50 === 0)
          log({
            level: 'warn',
            msg: 'reading a partner’s events keeps failing; retrying',
            group: options.group,
            source: options.source,
            failures,
            error: message,
          });
        state.lastError = message;
        await sleep(Math.min(options.maxBackoffMs ?? 1000, 100 * 2 ** Math.min(failures, 4)));
      }
    }
  })();

  return {
    status: () => {
      const sorted = [...lags].sort((a, b) => a - b);
      const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);
      return { group: options.group, source: options.source, ...state, lagMs: { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0, count: sorted.length } };
    },
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}

/** What a subgraph keeps of one other partner's records: the kinds it reads from that partner's feed. */
export interface Subscription {
  source: string;
  kinds: Record<string, KindSpec>;
}

/** Applies events to projections (the `projections` consumers' `apply`): one batch per kind, whatever the page's size. */
export function projectionApplier(projections: Projections, subscription: Subscription) {
  return async (events: PartnerEvent[], session: ClientSession) => {
    const byKind = new Map<string, { subject: string; seq: number; data: Record<string, unknown> | null }[]>();
    for (const e of events) {
      const kind = e.type.split('.')[0]!;
      if (!subscription.kinds[kind]) continue;
      byKind.set(kind, [...(byKind.get(kind) ?? []), { subject: e.subject, seq: e.sequence, data: e.type.endsWith('.deleted') ? null : e.data }]);
    }
    for (const [kind, states] of byKind) await projections.keepMany(kind, subscription.source, states, subscription.kinds[kind]!, session);
  };
}

/** The ids a consumer applied recently are kept this long (TTL index). */
export async function ensureConsumerIndexes(db: Db): Promise<void> {
  await db.collection('inbox').createIndexes([{ key: { at: 1 }, expireAfterSeconds: INBOX_TTL_S }]);
}

/** What a subgraph's `/ready` says of its events. */
interface ReadyEvents {
  events?: { head?: number; consumers?: ConsumerStatus[]; background?: { consumers?: ConsumerStatus[] } };
}

/**
 * Waits until every subgraph's projections hold every event committed before the call (each
 * consumer's cursor at or past its source's head then), reading `/ready` of each: what tests,
 * `npm run year` and the bench use between steps that cross partners. `readyUrls` by subgraph name.
 */
export async function settleEvents(readyUrls: Record<string, string>, options: { timeoutMs?: number; group?: string } = {}): Promise<void> {
  const read = async (url: string) => ((await (await fetch(url, { signal: AbortSignal.timeout(5000) })).json()) as ReadyEvents).events ?? {};
  const heads = Object.fromEntries(await Promise.all(Object.entries(readyUrls).map(async ([name, url]) => [name, (await read(url)).head ?? 0] as const)));
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const behind: string[] = [];
    for (const [name, url] of Object.entries(readyUrls)) {
      const events = await read(url);
      // Background work's consumers (the catalogue's webhooks) count too: a step must not race their writes.
      for (const c of [...(events.consumers ?? []), ...(events.background?.consumers ?? [])]) {
        if (options.group && c.group !== options.group) continue;
        const head = heads[c.source];
        if (head !== undefined && Number(c.cursor ?? 0) < head)
          behind.push(`${name} (${c.group}) of ${c.source}: ${c.cursor ?? 'none'} < ${head}${c.lastError ? `, ${c.lastError}` : ''}`);
      }
    }
    if (behind.length === 0) return;
    if (Date.now() > deadline) throw new Error(`events not applied in time: ${behind.join('; ')}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}
