import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Collection, type CommandStartedEvent, type Document, Long, type MongoClient, MongoServerError } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '../src/index.js';
import { EMBEDDED_ONLY, REAL_MONGODB, type TestBackend, startBackend } from './backend.js';
import { exited, startCli } from './cli.js';

// MongoDB's failCommand fail point, as the driver's retry and transaction tests use it. On the
// embedded store it needs `enableTestCommands`; against a real MongoDB (MONGODB_URI) it needs a
// server started with test commands, and these tests report themselves skipped without one.
let backend: TestBackend;
let failPoints = false;
let n = 0;

beforeAll(async () => {
  backend = await startBackend({ enableTestCommands: true });
  failPoints = await backend.client
    .db('admin')
    .command({ configureFailPoint: 'failCommand', mode: 'off' })
    .then(
      () => true,
      (err: unknown) => {
        if ((err as MongoServerError).code !== 59) throw err;
        return false;
      },
    );
});
afterEach(async () => {
  if (failPoints) await backend.client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
});
afterAll(async () => {
  await backend?.close();
});

/** Turns the fail point on for the commands of one client, named `appName`. */
const failCommand = (appName: string, mode: Document | string, data: Document): Promise<Document> =>
  backend.client.db('admin').command({ configureFailPoint: 'failCommand', mode, data: { ...data, appName } });

/** A client of its own (its appName scopes the fail point) that records the commands it sends. */
async function recordingClient(options: Document = {}): Promise<{ client: MongoClient; appName: string; sent: CommandStartedEvent[] }> {
  const appName = `fp-${++n}`;
  const client = await backend.connect({ appName, monitorCommands: true, heartbeatFrequencyMS: 500, ...options });
  const sent: CommandStartedEvent[] = [];
  client.on('commandStarted', (e) => sent.push(e));
  return { client, appName, sent };
}

const named = (sent: CommandStartedEvent[], name: string): CommandStartedEvent[] => sent.filter((e) => e.commandName === name);
// Untyped: the tests use numbers and strings as _id, which the driver's default typing (ObjectId) refuses.
const collection = (client: MongoClient): Collection<any> => client.db(backend.db.databaseName).collection(`f${++n}`);

describe('configureFailPoint on the embedded store', () => {
  it.skipIf(REAL_MONGODB)(`is an unknown command unless the store runs with test commands (${EMBEDDED_ONLY})`, async () => {
    const store = await startEmbeddedMongo();
    const { MongoClient } = await import('mongodb');
    const client = await MongoClient.connect(store.uri);
    try {
      await expect(client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'alwaysOn', data: { failCommands: ['ping'] } })).rejects.toMatchObject(
        {
          code: 59,
          codeName: 'CommandNotFound',
          message: "no such command: 'configureFailPoint'",
        },
      );
    } finally {
      await client.close();
      await store.close();
    }
  });
});

describe('npm run mongo -- --enable-test-commands', () => {
  it.skipIf(REAL_MONGODB)(`answers configureFailPoint, which it refuses without the flag (${EMBEDDED_ONLY})`, async () => {
    const { MongoClient } = await import('mongodb');
    for (const flag of [true, false]) {
      const dir = mkdtempSync(join(tmpdir(), 'fp-cli-'));
      const cli = await startCli(dir, flag ? ['--enable-test-commands'] : []);
      const client = await MongoClient.connect(cli.uri, { serverSelectionTimeoutMS: 5000 });
      try {
        const asked = client.db('admin').command({ configureFailPoint: 'failCommand', mode: { times: 1 }, data: { failCommands: ['ping'], errorCode: 91 } });
        if (flag) {
          await asked;
          await expect(client.db('admin').command({ ping: 1 })).rejects.toMatchObject({ code: 91 });
          expect(await client.db('admin').command({ ping: 1 })).toMatchObject({ ok: 1 });
        } else await expect(asked).rejects.toMatchObject({ code: 59 });
      } finally {
        await client.close();
        cli.proc.kill('SIGTERM');
        await exited(cli.proc);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

describe('the failCommand fail point (needs a server with test commands)', () => {
  const needs = (name: string) => `${name}${REAL_MONGODB ? ' (skipped when MONGODB_URI has no test commands)' : ''}`;
  const check = (ctx: { skip: (note?: string) => void }): void => {
    if (!failPoints) ctx.skip('the server at MONGODB_URI was not started with enableTestCommands: no fail points');
  };

  it(needs('fails a command with errorCode, then only as many times as asked'), async (ctx) => {
    check(ctx);
    const { client, appName } = await recordingClient();
    const c = collection(client);
    await failCommand(appName, { times: 1 }, { failCommands: ['find'], errorCode: 2 });
    const err = (await c.findOne({}).catch((e: unknown) => e)) as MongoServerError;
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err).toMatchObject({ code: 2, codeName: 'BadValue', message: "Failing command via 'failCommand' failpoint" });
    expect(await c.findOne({})).toBeNull();
  });

  it(needs('skips the first commands with { skip: n }, then fails every one until turned off'), async (ctx) => {
    check(ctx);
    const { client, appName } = await recordingClient();
    const db = client.db(backend.db.databaseName);
    await failCommand(appName, { skip: 2 }, { failCommands: ['ping'], errorCode: 8000 });
    await db.command({ ping: 1 });
    await db.command({ ping: 1 });
    await expect(db.command({ ping: 1 })).rejects.toMatchObject({ code: 8000 });
    await expect(db.command({ ping: 1 })).rejects.toMatchObject({ code: 8000 });
    // Another client (another appName) is not touched.
    await backend.db.command({ ping: 1 });
    await backend.client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
    await db.command({ ping: 1 });
  });

  it(needs('retries a write once after a retryable error code and applies it once'), async (ctx) => {
    check(ctx);
    const { client, appName, sent } = await recordingClient();
    const c = collection(client);
    await c.insertOne({ _id: 'counter', v: 0 });
    await failCommand(appName, { times: 1 }, { failCommands: ['update'], errorCode: 91 });
    await c.updateOne({ _id: 'counter' }, { $inc: { v: 1 } });
    const updates = named(sent, 'update');
    expect(updates).toHaveLength(2);
    expect(updates[1]!.command.txnNumber).toEqual(updates[0]!.command.txnNumber);
    expect(await c.findOne({ _id: 'counter' })).toEqual({ _id: 'counter', v: 1 });
  });

  it(needs('retries a write after closeConnection, on a new connection, and applies it once'), async (ctx) => {
    check(ctx);
    const { client, appName, sent } = await recordingClient();
    const c = collection(client);
    await failCommand(appName, { times: 1 }, { failCommands: ['insert'], closeConnection: true });
    await c.insertOne({ _id: 1 });
    const inserts = named(sent, 'insert');
    expect(inserts).toHaveLength(2);
    expect(inserts[1]!.connectionId).not.toEqual(inserts[0]!.connectionId);
    expect(await c.find().toArray()).toEqual([{ _id: 1 }]);
  });

  it(needs('returns the first result to a write retried after a writeConcernError: applied once, never twice'), async (ctx) => {
    check(ctx);
    const { client, appName, sent } = await recordingClient();
    const c = collection(client);
    await c.insertOne({ _id: 'counter', v: 0 });
    await failCommand(
      appName,
      { times: 1 },
      {
        failCommands: ['update'],
        writeConcernError: { code: 91, errmsg: 'Replication is being shut down' },
      },
    );
    const result = await c.updateOne({ _id: 'counter' }, { $inc: { v: 1 } });
    expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    const updates = named(sent, 'update');
    expect(updates).toHaveLength(2);
    expect(updates[1]!.command.txnNumber).toEqual(updates[0]!.command.txnNumber);
    expect(await c.findOne({ _id: 'counter' })).toEqual({ _id: 'counter', v: 1 });
  });

  it(needs('lets errorLabels replace the labels: none on a retryable code means no retry'), async (ctx) => {
    check(ctx);
    const { client, appName, sent } = await recordingClient();
    const c = collection(client);
    await failCommand(appName, { times: 1 }, { failCommands: ['insert'], errorCode: 91, errorLabels: [] });
    const err = (await c.insertOne({ _id: 1 }).catch((e: unknown) => e)) as MongoServerError;
    expect(err).toMatchObject({ code: 91, codeName: 'ShutdownInProgress' });
    expect(err.hasErrorLabel('RetryableWriteError')).toBe(false);
    expect(named(sent, 'insert')).toHaveLength(1);
    await failCommand(appName, { times: 1 }, { failCommands: ['insert'], errorCode: 2, errorLabels: ['RetryableWriteError'] });
    await c.insertOne({ _id: 2 });
    expect(named(sent, 'insert')).toHaveLength(3);
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 2 }]);
  });

  it(needs('holds only the blocked connection for blockTimeMS'), async (ctx) => {
    check(ctx);
    const { client, appName } = await recordingClient();
    const c = collection(client);
    await failCommand(appName, { times: 1 }, { failCommands: ['find'], blockConnection: true, blockTimeMS: 400 });
    const started = Date.now();
    const blocked = c.findOne({}).then(() => Date.now() - started);
    // Another client goes on meanwhile.
    await backend.db.collection('other').findOne({});
    const other = Date.now() - started;
    expect(await blocked).toBeGreaterThanOrEqual(390);
    expect(other).toBeLessThan(390);
  });

  it(needs('labels a retryable error inside a transaction TransientTransactionError, not RetryableWriteError'), async (ctx) => {
    check(ctx);
    const { client, appName } = await recordingClient();
    const c = collection(client);
    await c.insertOne({ _id: 0 });
    await failCommand(appName, { times: 1 }, { failCommands: ['insert'], errorCode: 10107 });
    const session = client.startSession();
    try {
      session.startTransaction();
      const err = (await c.insertOne({ _id: 1 }, { session }).catch((e: unknown) => e)) as MongoServerError;
      expect(err.code).toBe(10107);
      expect(err.hasErrorLabel('TransientTransactionError')).toBe(true);
      expect(err.hasErrorLabel('RetryableWriteError')).toBe(false);
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect(await c.find().toArray()).toEqual([{ _id: 0 }]);
  });

  it(needs('has withTransaction retry the whole transaction after a transient error, which commits once'), async (ctx) => {
    check(ctx);
    const { client, appName } = await recordingClient();
    const c = collection(client);
    await c.insertOne({ _id: 'n', v: 0 });
    await failCommand(appName, { times: 1 }, { failCommands: ['update'], errorCode: 112 });
    let attempts = 0;
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        attempts++;
        await c.updateOne({ _id: 'n' }, { $inc: { v: 1 } }, { session });
        await c.insertOne({ _id: `attempt-${attempts}` }, { session });
      });
    } finally {
      await session.endSession();
    }
    expect(attempts).toBe(2);
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 'attempt-2' }, { _id: 'n', v: 1 }]);
  });

  it(needs('retries commitTransaction once after a retryable error and commits once'), async (ctx) => {
    check(ctx);
    const { client, appName, sent } = await recordingClient();
    const c = collection(client);
    await c.insertOne({ _id: 0 });
    await failCommand(appName, { times: 1 }, { failCommands: ['commitTransaction'], errorCode: 91 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await c.insertOne({ _id: 1 }, { session });
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    expect(named(sent, 'commitTransaction')).toHaveLength(2);
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 0 }, { _id: 1 }]);
  });

  it(needs('reports UnknownTransactionCommitResult when the commit retry fails too; committing again succeeds'), async (ctx) => {
    check(ctx);
    const { client, appName } = await recordingClient();
    const c = collection(client);
    await c.insertOne({ _id: 0 });
    await failCommand(appName, { times: 2 }, { failCommands: ['commitTransaction'], errorCode: 91 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await c.insertOne({ _id: 1 }, { session });
      const err = (await session.commitTransaction().catch((e: unknown) => e)) as MongoServerError;
      expect(err.code).toBe(91);
      expect(err.hasErrorLabel('UnknownTransactionCommitResult')).toBe(true);
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 0 }, { _id: 1 }]);
  });
});

// onPrimaryTransactionalWrite acts where a retryable write's statement commits; it is not scoped to a client, so each test turns it off.
describe('the onPrimaryTransactionalWrite fail point (needs a server with test commands)', () => {
  const needs = (name: string) => `${name}${REAL_MONGODB ? ' (skipped when MONGODB_URI has no test commands)' : ''}`;
  const check = (ctx: { skip: (note?: string) => void }): void => {
    if (!failPoints) ctx.skip('the server at MONGODB_URI was not started with enableTestCommands: no fail points');
  };
  const onWrite = (mode: Document | string, data: Document = {}): Promise<Document> =>
    backend.client.db('admin').command({ configureFailPoint: 'onPrimaryTransactionalWrite', mode, data });
  afterEach(async () => {
    if (failPoints) await onWrite('off');
  });

  it(needs('commits the write, closes the connection before the reply, and the retry applies it once'), async (ctx) => {
    check(ctx);
    const { client, sent } = await recordingClient();
    const c = collection(client);
    await c.insertOne({ _id: 'counter', v: 0 });
    await onWrite({ times: 1 });
    await c.updateOne({ _id: 'counter' }, { $inc: { v: 1 } });
    const updates = named(sent, 'update');
    expect(updates).toHaveLength(2);
    expect(updates[1]!.command.txnNumber).toEqual(updates[0]!.command.txnNumber);
    expect(await c.findOne({ _id: 'counter' })).toEqual({ _id: 'counter', v: 1 });
    await onWrite({ times: 1 });
    await expect(c.insertMany([{ _id: 1 }, { _id: 2 }])).resolves.toMatchObject({ insertedCount: 2 });
    expect(await c.find({ _id: { $in: [1, 2] } }).toArray()).toEqual([{ _id: 1 }, { _id: 2 }]);
  });

  it(needs('fails a statement before it commits with failBeforeCommitExceptionCode: the retry applies it'), async (ctx) => {
    check(ctx);
    const { client, sent } = await recordingClient();
    const c = collection(client);
    await c.insertOne({ _id: 'counter', v: 0 });
    await onWrite({ times: 1 }, { failBeforeCommitExceptionCode: 1 });
    await c.findOneAndUpdate({ _id: 'counter' }, { $inc: { v: 1 } });
    expect(named(sent, 'findAndModify')).toHaveLength(2);
    expect(await c.findOne({ _id: 'counter' })).toEqual({ _id: 'counter', v: 1 });
    // Both attempts fail: never committed.
    await onWrite({ times: 2 }, { failBeforeCommitExceptionCode: 1 });
    await expect(c.insertOne({ _id: 'never' })).rejects.toThrow();
    expect(await c.countDocuments({ _id: 'never' })).toBe(0);
  });

  it(needs('skips on retry the statements committed before a later one failed: each applied exactly once'), async (ctx) => {
    check(ctx);
    const { client } = await recordingClient();
    const c = collection(client);
    await c.insertMany([
      { _id: 1, x: 10 },
      { _id: 2, x: 20 },
    ]);
    // One update command of two statements, sent by hand with the same lsid and txnNumber twice: the first attempt
    // commits the first statement and fails the second; the retry must run the second only.
    const session = client.startSession();
    const update = {
      update: c.collectionName,
      updates: [
        { q: { _id: 1 }, u: { $inc: { x: 1 } } },
        { q: { _id: 2 }, u: { $inc: { x: 1 } } },
      ],
      ordered: true,
      // Above any the driver used on this (pooled) session.
      txnNumber: Long.fromNumber(1_000_000),
    };
    try {
      await onWrite({ skip: 1 }, { closeConnection: false, failBeforeCommitExceptionCode: 1 });
      const first = await client
        .db(backend.db.databaseName)
        .command(update, { session })
        .catch((e: unknown) => e);
      await onWrite('off');
      // mongod answers the statement's failure as a write error; the embedded store as the command's error: either way the second did not commit.
      if (!(first instanceof Error)) expect(first).toMatchObject({ n: 1, writeErrors: [{ index: 1, code: 1 }] });
      expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
        { _id: 1, x: 11 },
        { _id: 2, x: 20 },
      ]);
      await expect(client.db(backend.db.databaseName).command(update, { session })).resolves.toMatchObject({ n: 2, nModified: 2 });
    } finally {
      await session.endSession();
    }
    expect(await c.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, x: 11 },
      { _id: 2, x: 21 },
    ]);
  });
});
