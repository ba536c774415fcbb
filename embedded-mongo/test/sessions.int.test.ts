import { type CommandStartedEvent, type Document, type MongoServerError, Timestamp } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestBackend, startBackend } from './backend.js';

// Snapshot reads outside transactions (MongoDB 5.0+, a replica set): a session with `snapshot: true`
// reads every find, aggregate and distinct at the cluster time its first read returned.
let backend: TestBackend;
let n = 0;

beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend?.close();
});

const fresh = () => backend.db.collection<any>(`s${++n}`);

describe('snapshot reads outside transactions', () => {
  it('read the state as of the first read, whatever is written later, and return atClusterTime', async () => {
    const client = await backend.connect({ monitorCommands: true });
    const sent: CommandStartedEvent[] = [];
    client.on('commandStarted', (e) => sent.push(e));
    const c = client.db(backend.db.databaseName).collection<any>(`s${++n}`);
    await c.insertMany([
      { _id: 1, x: 11 },
      { _id: 2, x: 22 },
    ]);
    const session = client.startSession({ snapshot: true });
    try {
      expect(await c.find({}, { session }).sort({ _id: 1 }).toArray()).toEqual([
        { _id: 1, x: 11 },
        { _id: 2, x: 22 },
      ]);
      await c.updateOne({ _id: 1 }, { $inc: { x: 1 } });
      await c.deleteOne({ _id: 2 });
      await c.insertOne({ _id: 3, x: 33 });
      expect(await c.find({}, { session }).sort({ _id: 1 }).toArray()).toEqual([
        { _id: 1, x: 11 },
        { _id: 2, x: 22 },
      ]);
      expect(await c.findOne({ _id: 2 }, { session })).toEqual({ _id: 2, x: 22 });
      expect(await c.aggregate([{ $group: { _id: null, sum: { $sum: '$x' } } }], { session }).toArray()).toEqual([{ _id: null, sum: 33 }]);
      expect((await c.distinct('x', {}, { session })).sort()).toEqual([11, 22]);
      // Outside the session: the current state.
      expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
        { _id: 1, x: 12 },
        { _id: 3, x: 33 },
      ]);
    } finally {
      await session.endSession();
    }
    const finds = sent.filter((e) => e.commandName === 'find' && e.command.readConcern?.level === 'snapshot');
    expect(finds[0]!.command.readConcern.atClusterTime).toBeUndefined();
    expect(finds[1]!.command.readConcern.atClusterTime).toBeInstanceOf(Timestamp);
  });

  it('answers SnapshotTooOld (239) for a time older than the history kept, InvalidOptions (72) for a future one', async () => {
    const c = fresh();
    await c.insertOne({ _id: 1 });
    const run = (atClusterTime: Timestamp): Promise<Document> =>
      backend.db.command({ find: c.collectionName, readConcern: { level: 'snapshot', atClusterTime } });
    await expect(run(new Timestamp({ t: 1, i: 1 }))).rejects.toMatchObject({ code: 239, codeName: 'SnapshotTooOld' });
    const future = new Timestamp({ t: Math.floor(Date.now() / 1000) + 3600, i: 1 });
    await expect(run(future)).rejects.toMatchObject({ code: 72 });
  });

  it('is refused for writes and other commands (InvalidOptions)', async () => {
    const c = fresh();
    const err = (await backend.db
      .command({ insert: c.collectionName, documents: [{ _id: 1 }], readConcern: { level: 'snapshot' } })
      .catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(72);
    expect(await c.countDocuments()).toBe(0);
  });
});
