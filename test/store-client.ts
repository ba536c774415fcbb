/**
 * A test file's MongoDB: the embedded store (started for the file), or a real MongoDB when
 * `MONGODB_URI` is set, through the official driver; closed after the file. And the seeded
 * generator the property tests draw from (the same sequence every run, so a failure reproduces).
 */
import { randomBytes } from 'node:crypto';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { type EmbeddedMongo, startEmbeddedMongo } from '@partnerskap/embedded-mongo';

/** Registers the file's store and client (call at the top level); `fresh()` is a new database named after `prefix`. */
export function useStoreClient(prefix: string): { client: () => MongoClient; fresh: () => Db } {
  let store: EmbeddedMongo | undefined;
  let client: MongoClient | undefined;
  beforeAll(async () => {
    const uri = process.env.MONGODB_URI ?? (store = await startEmbeddedMongo({ log: () => undefined })).uri;
    client = await MongoClient.connect(uri);
  });
  afterAll(async () => {
    await client?.close();
    await store?.close();
  });
  return {
    client: () => client!,
    fresh: () => client!.db(`${prefix}_${randomBytes(4).toString('hex')}`),
  };
}

/** mulberry32: `rnd(n)` draws a whole number below n, the same sequence for the same seed. */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n: number) => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
