import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Long, MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '../src/index.js';
import { EMBEDDED_ONLY, REAL_MONGODB } from './backend.js';
import { exited, startCli } from './cli.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-mongo-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(REAL_MONGODB)(`persistence (${EMBEDDED_ONLY})`, () => {
  it('keeps documents, indexes and types across a clean restart', async () => {
    const dir = tempDir();
    let store = await startEmbeddedMongo({ dir });
    let client = await MongoClient.connect(store.uri);
    const coll = () => client.db('p').collection('things');
    await coll().createIndex({ code: 1 }, { unique: true });
    await coll().insertMany([
      { _id: 1, code: 'A', big: Long.fromString('9007199254740993') },
      { _id: 2, code: 'B' },
    ] as never[]);
    await coll().updateOne({ _id: 2 } as never, { $set: { code: 'C' } });
    await coll().deleteOne({ _id: 1 } as never);
    await coll().insertOne({ _id: 3, code: 'D', big: Long.fromString('9007199254740993') } as never);
    await client.close();
    await store.close();

    store = await startEmbeddedMongo({ dir });
    client = await MongoClient.connect(store.uri);
    expect(await coll().find({}, { promoteLongs: false }).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 2, code: 'C' },
      { _id: 3, code: 'D', big: Long.fromString('9007199254740993') },
    ]);
    await expect(coll().insertOne({ code: 'C' })).rejects.toMatchObject({ code: 11000 });
    await client.close();
    await store.close();
  });

  it('shows all N acknowledged writes after SIGKILL, and drops a torn last record with a warning', async () => {
    const dir = tempDir();
    const first = await startCli(dir);
    const client = await MongoClient.connect(first.uri, { serverSelectionTimeoutMS: 5000 });
    const N = 200;
    for (let i = 0; i < N; i++) await client.db('p').collection('acks').insertOne({ i });
    await client
      .db('p')
      .collection('acks')
      .updateMany({ i: { $lt: 10 } }, { $set: { early: true } });
    first.proc.kill('SIGKILL');
    await exited(first.proc);
    await client.close().catch(() => undefined);

    // A crash in the middle of a write leaves half a record at the end of the journal.
    const journal = join(dir, 'journal.bin');
    const size = statSync(journal).size;
    appendFileSync(journal, Buffer.from([0x40, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02]));

    const second = await startCli(dir);
    const again = await MongoClient.connect(second.uri, { serverSelectionTimeoutMS: 5000 });
    const acks = again.db('p').collection('acks');
    expect(await acks.countDocuments()).toBe(N);
    expect(await acks.countDocuments({ early: true })).toBe(10);
    expect((await acks.find().sort({ i: -1 }).limit(1).toArray())[0]?.i).toBe(N - 1);
    expect(second.stderr()).toMatch(/dropped a torn last record at byte \d+/);
    // The killed store's lock named a pid that is gone: taken over, and said so.
    expect(second.stderr()).toMatch(new RegExp(`lock: took over .* from pid ${first.proc.pid} .*: pid ${first.proc.pid} is not running`));
    // Compaction on start rewrote the journal without the torn tail (and smaller than N inserts + an update).
    expect(statSync(journal).size).toBeLessThanOrEqual(size);
    await again.close();
    second.proc.kill('SIGTERM');
    expect(await exited(second.proc)).toBe(0);
  });
});
