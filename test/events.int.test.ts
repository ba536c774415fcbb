/**
 * The events machinery on its own, against the embedded store (or MONGODB_URI): the outbox in the
 * writer's transaction, numbering in commit order (never a cursor past a late commit), the feed's
 * kinds and long poll, projections that never go back to an older state, and a consumer that
 * applies each event once and goes on from its cursor after a restart.
 */
import { getEventListeners } from 'node:events';
import { type Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  type EventPage,
  type FeedReader,
  type PartnerEvent,
  auditEntry,
  createAuditedWriter,
  createOutbox,
  createProjections,
  ensureConsumerIndexes,
  projectionApplier,
  startConsumer,
} from '@partnerskap/kit';
import { useStoreClient } from './store-client.js';

const { client, fresh } = useStoreClient('events');

const line = (target: string) => auditEntry({ role: 'directorate' }, new Date('2030-01-10T10:00:00Z'), 'test', target, 'udir');
const event = (type: string, subject: string, data: Record<string, unknown> = {}) => ({ type, subject, data: { id: subject, ...data }, public: true });

describe('the outbox', () => {
  it('holds the events of committed writes only, numbered from 1; a refused write leaves none', async () => {
    const db = fresh();
    const writer = createAuditedWriter(db, 'catalogue');
    await writer.ensureIndexes();
    const things = db.collection<{ _id: string }>('things');
    await writer.write(
      line('a'),
      null,
      async (session) => (await things.insertOne({ _id: 'a' }, { session }), 'a'),
      undefined,
      () => [event('thing.made', 'a')],
    );
    await expect(
      writer.write(
        line('b'),
        null,
        async (session) => {
          await things.insertOne({ _id: 'b' }, { session });
          throw new Error('a rule refused it');
        },
        undefined,
        () => [event('thing.made', 'b')],
      ),
    ).rejects.toThrow('a rule refused it');
    await writer.write(
      line('c'),
      null,
      async (session) => (await things.insertOne({ _id: 'c' }, { session }), 'c'),
      undefined,
      () => [event('thing.made', 'c'), event('other.made', 'c')],
    );
    const page = await writer.outbox.page({});
    expect(page.events.map((e) => [e.sequence, e.type, e.subject, e.source, e.version])).toEqual([
      [1, 'thing.made', 'a', 'catalogue', 1],
      [2, 'thing.made', 'c', 'catalogue', 1],
      [3, 'other.made', 'c', 'catalogue', 1],
    ]);
    expect(page.cursor).toBe('3');
    expect(await things.countDocuments({ _id: 'b' })).toBe(0);
    // Kinds filter; a cursor goes on from where the last page ended.
    expect((await writer.outbox.page({ kinds: ['other'] })).events.map((e) => e.sequence)).toEqual([3]);
    expect((await writer.outbox.page({ after: '1', first: 1 })).events.map((e) => e.sequence)).toEqual([2]);
    expect(await writer.outbox.page({ after: '3' })).toEqual({ events: [], cursor: '3' });
  });

  it('never lets a cursor pass an event whose transaction commits later than others', async () => {
    const db = fresh();
    const outbox = createOutbox(db, 'admissions');
    await outbox.ensureIndexes();
    // A transaction that writes its event first and commits last.
    const slow = client().startSession();
    slow.startTransaction();
    await outbox.add([event('application.submitted', 'slow')], new Date(), slow);
    for (const s of ['x', 'y']) {
      const session = client().startSession();
      await session.withTransaction(() => outbox.add([event('application.submitted', s)], new Date(), session));
      await session.endSession();
    }
    const first = await outbox.page({});
    expect(first.events.map((e) => e.subject)).toEqual(['x', 'y']);
    await slow.commitTransaction();
    await slow.endSession();
    // The late commit comes after the cursor the first page gave: a consumer reading on from it gets it.
    const next = await outbox.page({ after: first.cursor });
    expect(next.events.map((e) => [e.subject, e.sequence])).toEqual([['slow', 3]]);
  });

  it('answers a waiting feed request as soon as a write with events commits', async () => {
    const db = fresh();
    const writer = createAuditedWriter(db, 'plans');
    await writer.ensureIndexes();
    const started = performance.now();
    const waiting = writer.outbox.page({ waitMs: 2000 });
    setTimeout(
      () =>
        void writer.write(
          line('d'),
          null,
          async () => 'd',
          undefined,
          () => [event('decision.made', 'd')],
        ),
      100,
    );
    const page = await waiting;
    expect(page.events.map((e) => e.subject)).toEqual(['d']);
    expect(performance.now() - started).toBeLessThan(1500);
    // Nothing new: the wait ends empty, at its end.
    expect((await writer.outbox.page({ after: page.cursor, waitMs: 200 })).events).toEqual([]);
  });
});

describe('projections', () => {
  it('keep the latest state of each record, never an older one, and replace every row of a record', async () => {
    const projections = createProjections(fresh());
    await projections.ensureIndexes();
    const spec = {};
    await projections.keepMany(
      'study',
      'catalogue',
      [
        { subject: 's1', seq: 1, data: { status: 'OFFERED' } },
        { subject: 's1', seq: 3, data: { status: 'CANCELLED' } },
        { subject: 's2', seq: 2, data: { status: 'OFFERED' } },
      ],
      spec,
    );
    expect(await projections.get('study', 's1')).toEqual({ status: 'CANCELLED' });
    // An older state arriving late (a redelivery) changes nothing.
    expect(await projections.keepMany('study', 'catalogue', [{ subject: 's1', seq: 2, data: { status: 'OFFERED' } }], spec)).toBe(0);
    expect(await projections.get('study', 's1')).toEqual({ status: 'CANCELLED' });
    // Rows under a key of the consumer's own (feedback's participant hash): a new state replaces the record's old rows.
    const byOwner = { project: (d: Record<string, unknown>) => (d.owner ? [{ key: String(d.owner), data: { app: d.id } }] : []) };
    await projections.keepMany('application', 'admissions', [{ subject: 'a1', seq: 1, data: { id: 'a1', owner: 'o1' } }], byOwner);
    await projections.keepMany('application', 'admissions', [{ subject: 'a1', seq: 2, data: { id: 'a1', owner: 'o2' } }], byOwner);
    expect((await projections.all('application')).map((r) => r.key)).toEqual(['o2']);
    await projections.keepMany('application', 'admissions', [{ subject: 'a1', seq: 3, data: null }], byOwner);
    expect(await projections.all('application')).toEqual([]);
  });
});

describe('a consumer', () => {
  it('applies each event once, keeps its cursor, and goes on from it after a restart', async () => {
    const db = fresh();
    const source = createOutbox(db, 'catalogue');
    await source.ensureIndexes();
    const add = async (subject: string, status: string) => {
      const session = client().startSession();
      await session.withTransaction(() => source.add([event('study.updated', subject, { status })], new Date(), session));
      await session.endSession();
      source.committed();
    };
    const consumerDb: Db = fresh();
    await ensureConsumerIndexes(consumerDb);
    const projections = createProjections(consumerDb);
    await projections.ensureIndexes();
    const applied: string[] = [];
    let pages = 0;
    // The feed as the gateway would serve it, but every page sent twice (an at-least-once redelivery).
    const read: FeedReader = async (_source, options) => {
      const page: EventPage = await source.page(options);
      pages++;
      if (page.events.length && pages % 2 === 1) return { events: page.events, cursor: options.after ?? '0' };
      return page;
    };
    const apply = projectionApplier(projections, { source: 'catalogue', kinds: { study: {} } });
    const start = () =>
      startConsumer({
        db: consumerDb,
        group: 'projections',
        source: 'catalogue',
        kinds: ['study'],
        read,
        apply: async (events: PartnerEvent[], session) => {
          applied.push(...events.map((e) => e.id));
          await apply(events, session);
        },
        log: () => undefined,
      });
    const waitFor = async (check: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 25));
    };
    let consumer = start();
    await add('s1', 'OFFERED');
    await add('s2', 'OFFERED');
    await waitFor(async () => (await projections.get('study', 's2')) !== null);
    await consumer.stop();
    await add('s1', 'CANCELLED');
    // A new consumer (a restart) goes on from the stored cursor.
    consumer = start();
    await waitFor(async () => (await projections.get<{ status: string }>('study', 's1'))?.status === 'CANCELLED');
    const status = consumer.status();
    await consumer.stop();
    expect(await projections.get('study', 's1')).toMatchObject({ status: 'CANCELLED' });
    expect(await projections.get('study', 's2')).toMatchObject({ status: 'OFFERED' });
    expect(applied).toHaveLength(3);
    expect(new Set(applied).size).toBe(3);
    expect(status).toMatchObject({ group: 'projections', source: 'catalogue', cursor: '3', lastError: null });
    expect(await consumerDb.collection('cursors').findOne({ _id: 'projections|catalogue' as never })).toMatchObject({ after: '3' });
  });

  it('retries a failing feed without piling up listeners on its stop signal (a partner down for hours)', async () => {
    const db = fresh();
    let signal: AbortSignal | undefined;
    let failures = 0;
    const consumer = startConsumer({
      db,
      group: 'projections',
      source: 'catalogue',
      kinds: ['study'],
      read: async (_source, options) => {
        signal = options.signal;
        failures++;
        throw new Error('the gateway is down');
      },
      apply: async () => undefined,
      maxBackoffMs: 1,
      log: () => undefined,
    });
    for (let i = 0; i < 200 && failures < 30; i++) await new Promise((r) => setTimeout(r, 5));
    const listeners = getEventListeners(signal!, 'abort').length;
    await consumer.stop();
    expect(failures).toBeGreaterThanOrEqual(30);
    expect(listeners).toBeLessThanOrEqual(1);
  });
});
