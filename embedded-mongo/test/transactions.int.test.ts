import {
  Binary,
  type ClientSession,
  type Collection,
  type CommandStartedEvent,
  type CommandSucceededEvent,
  type Document,
  Long,
  type MongoClient,
  type MongoServerError,
  Timestamp,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestBackend, startBackend } from './backend.js';

// Transactions, sessions and the logical clock through the official driver: the same file runs
// against a real replica set (MONGODB_URI), which is what each expectation is checked against.
let backend: TestBackend;
let n = 0;
const fresh = (): Collection<any> => backend.db.collection(`t${++n}`);

beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend?.close();
});

/** Runs `work` with a session that is ended afterwards, whatever happens. */
async function withSession<T>(work: (session: ClientSession) => Promise<T>, client: MongoClient = backend.client): Promise<T> {
  const session = client.startSession();
  try {
    return await work(session);
  } finally {
    await session.endSession();
  }
}

const failure = (promise: Promise<unknown>): Promise<MongoServerError> =>
  promise.then(
    () => {
      throw new Error('expected the operation to fail');
    },
    (err: unknown) => err as MongoServerError,
  );

const collectionNames = async (): Promise<string[]> => (await backend.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);

describe('snapshot isolation', () => {
  it('reads the committed state as of its first read, not later commits of other sessions', async () => {
    const c = fresh();
    await c.insertMany([
      { _id: 1, v: 0, k: 'a' },
      { _id: 2, v: 0, k: 'b' },
      { _id: 3, v: 0, k: 'c' },
    ]);
    await c.createIndex({ k: 1 });
    await withSession(async (session) => {
      session.startTransaction();
      expect(await c.findOne({ _id: 1 }, { session })).toEqual({ _id: 1, v: 0, k: 'a' });
      // Commits of others after the transaction's first read: an update, an insert, a delete, a key moved.
      await c.updateOne({ _id: 1 }, { $set: { v: 1 } });
      await c.insertOne({ _id: 4, v: 0, k: 'a' });
      await c.deleteOne({ _id: 3 });
      await c.updateOne({ _id: 2 }, { $set: { k: 'a' } });
      expect(await c.find({}, { session }).sort({ _id: 1 }).toArray()).toEqual([
        { _id: 1, v: 0, k: 'a' },
        { _id: 2, v: 0, k: 'b' },
        { _id: 3, v: 0, k: 'c' },
      ]);
      // Through the index on k and through _id, as through a scan.
      expect(await c.find({ k: 'a' }, { session }).toArray()).toEqual([{ _id: 1, v: 0, k: 'a' }]);
      expect(
        await c
          .find({ k: { $in: ['b', 'c'] } }, { session })
          .sort({ _id: 1 })
          .toArray(),
      ).toEqual([
        { _id: 2, v: 0, k: 'b' },
        { _id: 3, v: 0, k: 'c' },
      ]);
      expect(await c.findOne({ _id: 4 }, { session })).toBeNull();
      expect(await c.countDocuments({}, { session })).toBe(3);
      expect(await c.aggregate([{ $group: { _id: null, v: { $sum: '$v' } } }], { session }).toArray()).toEqual([{ _id: null, v: 0 }]);
      // Its own writes on top of the snapshot.
      await c.insertOne({ _id: 5, v: 5, k: 'a' }, { session });
      expect(await c.find({ k: 'a' }, { session }).sort({ _id: 1 }).toArray()).toEqual([
        { _id: 1, v: 0, k: 'a' },
        { _id: 5, v: 5, k: 'a' },
      ]);
      await session.commitTransaction();
    });
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, v: 1, k: 'a' },
      { _id: 2, v: 0, k: 'a' },
      { _id: 4, v: 0, k: 'a' },
      { _id: 5, v: 5, k: 'a' },
    ]);
  });

  it('keeps each open transaction on its own snapshot', async () => {
    const c = fresh();
    await c.insertOne({ _id: 'x', v: 0 });
    const s1 = backend.client.startSession();
    const s2 = backend.client.startSession();
    try {
      s1.startTransaction();
      expect((await c.findOne({ _id: 'x' }, { session: s1 }))?.v).toBe(0);
      await c.updateOne({ _id: 'x' }, { $set: { v: 1 } });
      s2.startTransaction();
      expect((await c.findOne({ _id: 'x' }, { session: s2 }))?.v).toBe(1);
      await c.updateOne({ _id: 'x' }, { $set: { v: 2 } });
      expect((await c.findOne({ _id: 'x' }, { session: s1 }))?.v).toBe(0);
      expect((await c.findOne({ _id: 'x' }, { session: s2 }))?.v).toBe(1);
      await s1.abortTransaction();
      expect((await c.findOne({ _id: 'x' }, { session: s2 }))?.v).toBe(1);
      await s2.abortTransaction();
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
    expect((await c.findOne({ _id: 'x' }))?.v).toBe(2);
  });

  it('refuses with WriteConflict to write a document committed by another since its snapshot', async () => {
    const c = fresh();
    await c.insertOne({ _id: 'x', v: 0 });
    await withSession(async (session) => {
      session.startTransaction();
      await c.findOne({ _id: 'x' }, { session });
      await c.updateOne({ _id: 'x' }, { $inc: { v: 10 } });
      const err = await failure(c.updateOne({ _id: 'x' }, { $inc: { v: 1 } }, { session }));
      expect(err).toMatchObject({ code: 112, codeName: 'WriteConflict' });
      expect(err.hasErrorLabel('TransientTransactionError')).toBe(true);
      await session.abortTransaction();
    });
    expect(await c.findOne({ _id: 'x' })).toEqual({ _id: 'x', v: 10 });
  });

  it('refuses with WriteConflict a unique key committed by another since its snapshot', async () => {
    const c = fresh();
    await c.createIndex({ k: 1 }, { unique: true });
    await c.insertOne({ _id: 0, k: 'first' });
    await withSession(async (session) => {
      session.startTransaction();
      await c.findOne({}, { session });
      await c.insertOne({ _id: 1, k: 'taken' });
      const err = await failure(c.insertOne({ _id: 2, k: 'taken' }, { session }));
      expect(err).toMatchObject({ code: 112, codeName: 'WriteConflict' });
      await session.abortTransaction();
    });
    expect(await c.countDocuments()).toBe(2);
  });

  it('lets withTransaction retry after such a conflict and apply its write once, on the newer state', async () => {
    const c = fresh();
    await c.insertOne({ _id: 'n', v: 0 });
    let attempts = 0;
    await withSession((session) =>
      session.withTransaction(async () => {
        attempts++;
        const seen = await c.findOne({ _id: 'n' }, { session });
        if (attempts === 1) await c.updateOne({ _id: 'n' }, { $inc: { v: 100 } });
        await c.updateOne({ _id: 'n' }, { $set: { v: (seen?.v as number) + 1 } }, { session });
      }),
    );
    expect(attempts).toBe(2);
    expect(await c.findOne({ _id: 'n' })).toEqual({ _id: 'n', v: 101 });
  });
});

describe('the catalog in a transaction', () => {
  it('keeps a collection an insert creates invisible to others until commit', async () => {
    const c = fresh();
    await withSession(async (session) => {
      session.startTransaction();
      await c.insertOne({ _id: 1 }, { session });
      expect(await c.find({}, { session }).toArray()).toEqual([{ _id: 1 }]);
      expect(await collectionNames()).not.toContain(c.collectionName);
      expect(await c.find().toArray()).toEqual([]);
      await session.commitTransaction();
    });
    expect(await collectionNames()).toContain(c.collectionName);
    expect(await c.find().toArray()).toEqual([{ _id: 1 }]);
  });

  it('drops the collection an aborted transaction created', async () => {
    const c = fresh();
    await withSession(async (session) => {
      session.startTransaction();
      await c.insertOne({ _id: 1 }, { session });
      await session.abortTransaction();
    });
    expect(await collectionNames()).not.toContain(c.collectionName);
    expect(await c.countDocuments()).toBe(0);
  });

  it('creates a collection and its indexes explicitly inside a transaction, visible at commit', async () => {
    const c = fresh();
    await withSession(async (session) => {
      session.startTransaction();
      await backend.db.createCollection(c.collectionName, { session });
      await c.createIndex({ k: 1 }, { name: 'k_1', unique: true, session });
      await c.insertOne({ _id: 1, k: 'a' }, { session });
      await expect(c.insertOne({ _id: 2, k: 'a' }, { session })).rejects.toMatchObject({ code: 11000 });
      await session.abortTransaction();
    });
    expect(await collectionNames()).not.toContain(c.collectionName);
    await withSession(async (session) => {
      session.startTransaction();
      await backend.db.createCollection(c.collectionName, { session });
      await c.createIndex({ k: 1 }, { name: 'k_1', unique: true, session });
      expect(await collectionNames()).not.toContain(c.collectionName);
      await expect(c.listIndexes().toArray()).rejects.toMatchObject({ code: 26, codeName: 'NamespaceNotFound' });
      await session.commitTransaction();
    });
    expect((await c.listIndexes().toArray()).map((i) => i.name).sort()).toEqual(['_id_', 'k_1']);
    await c.insertOne({ k: 'b' });
    await expect(c.insertOne({ k: 'b' })).rejects.toMatchObject({ code: 11000 });
  });

  it('creates an index inside a transaction only on a new, empty collection', async () => {
    const existing = fresh();
    await existing.insertOne({ _id: 1 });
    await withSession(async (session) => {
      session.startTransaction();
      const err = await failure(existing.createIndex({ k: 1 }, { session }));
      expect(err).toMatchObject({ code: 263, codeName: 'OperationNotSupportedInTransaction' });
      await session.abortTransaction().catch(() => undefined);
    });
    const filled = fresh();
    await withSession(async (session) => {
      session.startTransaction();
      await filled.insertOne({ _id: 1 }, { session });
      const err = await failure(filled.createIndex({ k: 1 }, { session }));
      expect(err).toMatchObject({ code: 263, codeName: 'OperationNotSupportedInTransaction' });
      await session.abortTransaction().catch(() => undefined);
    });
    expect((await existing.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('answers WriteConflict to a second transaction creating the same collection', async () => {
    const c = fresh();
    const s1 = backend.client.startSession();
    const s2 = backend.client.startSession();
    try {
      s1.startTransaction();
      s2.startTransaction();
      await c.insertOne({ _id: 1 }, { session: s1 });
      const err = await failure(c.insertOne({ _id: 2 }, { session: s2 }));
      expect(err).toMatchObject({ code: 112, codeName: 'WriteConflict' });
      expect(err.hasErrorLabel('TransientTransactionError')).toBe(true);
      await s2.abortTransaction().catch(() => undefined);
      await s1.commitTransaction();
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
    expect(await c.find().toArray()).toEqual([{ _id: 1 }]);
  });

  it('refuses to drop, list or count inside a transaction, without a transient label', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    const refused: [string, (session: ClientSession) => Promise<unknown>][] = [
      ['count', (session) => backend.db.command({ count: c.collectionName, query: {} }, { session })],
      ['drop', (session) => c.drop({ session })],
      ['listCollections', (session) => backend.db.listCollections({}, { session }).toArray()],
      ['dropIndexes', (session) => c.dropIndexes({ session })],
    ];
    for (const [name, run] of refused) {
      await withSession(async (session) => {
        session.startTransaction();
        const err = await failure(run(session));
        expect(err, name).toMatchObject({ code: 263, codeName: 'OperationNotSupportedInTransaction' });
        expect(err.message).toContain(`Cannot run '${name}' in a multi-document transaction`);
        expect(err.hasErrorLabel('TransientTransactionError'), name).toBe(false);
        await session.abortTransaction().catch(() => undefined);
      });
    }
    expect(await c.find().toArray()).toEqual([{ _id: 1 }]);
  });
});

describe('the logical clock and causal consistency', () => {
  it('puts operationTime and $clusterTime in replies, advancing with each write, and the driver sends $clusterTime back', async () => {
    const client = await backend.connect({ monitorCommands: true });
    const started: CommandStartedEvent[] = [];
    const replies: CommandSucceededEvent[] = [];
    client.on('commandStarted', (e) => started.push(e));
    client.on('commandSucceeded', (e) => replies.push(e));
    const c: Collection<any> = client.db(backend.db.databaseName).collection(`t${++n}`);
    await client.db(backend.db.databaseName).command({ ping: 1 });
    await c.insertOne({ _id: 1 });
    await c.insertOne({ _id: 2 });
    const [ping, first, second] = replies.map((e) => e.reply as Document);
    for (const reply of [ping!, first!, second!]) {
      expect(reply.operationTime).toBeInstanceOf(Timestamp);
      expect(reply.$clusterTime.clusterTime).toBeInstanceOf(Timestamp);
      expect(reply.$clusterTime.signature.hash).toBeInstanceOf(Binary);
      expect((reply.$clusterTime.signature.hash as Binary).length()).toBe(20);
    }
    // The signature's keyId is a Long on the wire (seen with Longs kept as such).
    const raw = await client.db(backend.db.databaseName).command({ ping: 1 }, { promoteLongs: false });
    expect(raw.$clusterTime.signature.keyId).toBeInstanceOf(Long);
    expect((second!.operationTime as Timestamp).greaterThan(first!.operationTime as Timestamp)).toBe(true);
    // The driver gossips the newest $clusterTime it has seen with each command (sessions spec, prose test 3).
    const sent = started[2]!.command.$clusterTime as Document;
    expect((sent.clusterTime as Timestamp).equals(first!.$clusterTime.clusterTime as Timestamp)).toBe(true);
  });

  it('answers a causally consistent session after its own write with readConcern afterClusterTime', async () => {
    const client = await backend.connect({ monitorCommands: true });
    const started: CommandStartedEvent[] = [];
    client.on('commandStarted', (e) => started.push(e));
    const c: Collection<any> = client.db(backend.db.databaseName).collection(`t${++n}`);
    await withSession(async (session) => {
      await c.insertOne({ _id: 1, v: 'written' }, { session });
      const writeTime = session.operationTime!;
      expect(writeTime).toBeInstanceOf(Timestamp);
      expect(await c.findOne({ _id: 1 }, { session })).toEqual({ _id: 1, v: 'written' });
      const find = started.find((e) => e.commandName === 'find')!;
      expect((find.command.readConcern.afterClusterTime as Timestamp).equals(writeTime)).toBe(true);
      // A transaction in the same session starts after that time too.
      await session.withTransaction(async () => {
        await c.updateOne({ _id: 1 }, { $set: { v: 'in a transaction' } }, { session });
      });
      expect(await c.findOne({ _id: 1 }, { session })).toEqual({ _id: 1, v: 'in a transaction' });
    }, client);
  });
});

describe('write concern a one-member replica set cannot meet', () => {
  it('applies the write and answers UnsatisfiableWriteConcern 100 (w above its members) or UnknownReplWriteConcern 79 (a tag it has none of)', async () => {
    const c = fresh();
    const tooMany = await failure(c.insertOne({ _id: 1 }, { writeConcern: { w: 50 } }));
    expect(tooMany.code ?? (tooMany as { result?: { writeConcernError?: { code?: number } } }).result?.writeConcernError?.code).toBe(100);
    const tagged = await failure(c.updateOne({ _id: 1 }, { $set: { a: 1 } }, { writeConcern: { w: 'eu-and-us' as 'majority' } }));
    expect(tagged.code ?? (tagged as { result?: { writeConcernError?: { code?: number } } }).result?.writeConcernError?.code).toBe(79);
    expect(await c.findOne({ _id: 1 })).toEqual({ _id: 1, a: 1 });
  });

  it('a commit with w above the members: the transaction commits, the error has neither TransientTransactionError nor UnknownTransactionCommitResult', async () => {
    const c = fresh();
    await c.insertOne({ _id: 0 });
    const error = await withSession(async (session) => {
      session.startTransaction({ writeConcern: { w: 50 } });
      await c.insertOne({ _id: 1 }, { session });
      return failure(session.commitTransaction());
    });
    expect(error.code).toBe(100);
    expect(error.hasErrorLabel('TransientTransactionError')).toBe(false);
    expect(error.hasErrorLabel('UnknownTransactionCommitResult')).toBe(false);
    expect(await c.countDocuments({ _id: 1 })).toBe(1);
  });
});
