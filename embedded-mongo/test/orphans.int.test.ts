/**
 * A transaction whose client process is killed: MongoDB keeps it open (holding its records) for
 * transactionLifetimeLimitSeconds; the embedded store aborts it once its connection has closed and
 * its session has not come back for ORPHANED_TRANSACTION_MS, so a killed partner's half-done write
 * does not stall everyone's writes to the same records for a minute.
 */
import { spawn } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ORPHANED_TRANSACTION_MS } from '../src/commands.js';
import { type EmbeddedMongo, startEmbeddedMongo } from '../src/index.js';
import { EMBEDDED_ONLY, REAL_MONGODB } from './backend.js';

let store: EmbeddedMongo;
let client: MongoClient;
beforeAll(async () => {
  if (REAL_MONGODB) return;
  store = await startEmbeddedMongo({ log: () => undefined });
  client = await MongoClient.connect(store.uri);
});
afterAll(async () => {
  await client?.close();
  await store?.close();
});

/** A process that opens a transaction, writes the record, says so and waits to be killed. */
const HOLDER = `
const { MongoClient } = require('mongodb');
(async () => {
  const client = await MongoClient.connect(process.argv[1]);
  const session = client.startSession();
  session.startTransaction();
  await client.db('orphans').collection('cursors').updateOne({ _id: 'c' }, { $set: { after: 'held' } }, { session });
  process.stdout.write('holding\\n');
  setInterval(() => undefined, 1000);
})();
`;

it.skipIf(REAL_MONGODB)(`aborts a killed client's open transaction within seconds, not the lifetime limit (${EMBEDDED_ONLY})`, async () => {
  const cursors = client.db('orphans').collection<{ _id: string; after: string }>('cursors');
  await cursors.insertOne({ _id: 'c', after: '0' });
  const holder = spawn(process.execPath, ['-e', HOLDER, store.uri], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (b: Buffer) => b.toString().includes('holding') && resolve());
    holder.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  // While it lives, a transaction writing the same record conflicts (the holder's write stands in its way).
  const write = async () => {
    const session = client.startSession();
    try {
      session.startTransaction();
      await cursors.updateOne({ _id: 'c' }, { $set: { after: 'next' } }, { session });
      await session.commitTransaction();
      return 'written';
    } catch (err) {
      await session.abortTransaction().catch(() => undefined);
      return (err as { codeName?: string }).codeName ?? String(err);
    } finally {
      await session.endSession();
    }
  };
  expect(await write()).toBe('WriteConflict');
  holder.kill('SIGKILL');
  const killed = performance.now();
  let outcome = 'WriteConflict';
  while (outcome === 'WriteConflict' && performance.now() - killed < 10_000) {
    await new Promise((r) => setTimeout(r, 100));
    outcome = await write();
  }
  expect(outcome).toBe('written');
  expect(performance.now() - killed).toBeLessThan(ORPHANED_TRANSACTION_MS + 2500);
  // The orphan's write is gone with it.
  expect(await cursors.findOne({ _id: 'c' })).toEqual({ _id: 'c', after: 'next' });
});
