import { randomBytes } from 'node:crypto';
import { type Db, MongoClient, type MongoClientOptions, MongoServerError } from 'mongodb';
import { expect } from 'vitest';
import { type EmbeddedMongo, type EmbeddedMongoOptions, startEmbeddedMongo } from '../src/index.js';

/** True when the tests run against a real MongoDB (`MONGODB_URI` is set). */
export const REAL_MONGODB = Boolean(process.env.MONGODB_URI);

/** Why a test that exercises the embedded store's own machinery does not run against a real MongoDB. */
export const EMBEDDED_ONLY = 'embedded store only (MONGODB_URI is set: this tests the embedded server itself)';

/** A database for one test file: on the embedded store, or on the real MongoDB of `MONGODB_URI`. */
export interface TestBackend {
  uri: string;
  client: MongoClient;
  db: Db;
  /** Another client on the same server (a second connection pool). */
  connect(options?: MongoClientOptions): Promise<MongoClient>;
  close(): Promise<void>;
}

/** Starts (or connects to) the backend and picks a fresh database name; `storeOptions` apply to the embedded store only. */
export async function startBackend(storeOptions: EmbeddedMongoOptions = {}): Promise<TestBackend> {
  let store: EmbeddedMongo | undefined;
  const uri = process.env.MONGODB_URI ?? (store = await startEmbeddedMongo({ ttlIntervalMs: 200, ...storeOptions })).uri;
  const clients: MongoClient[] = [];
  const connect = async (options: MongoClientOptions = {}): Promise<MongoClient> => {
    const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5000, ...options });
    clients.push(client);
    return client;
  };
  const client = await connect();
  const db = client.db(`test_${randomBytes(6).toString('hex')}`);
  return {
    uri,
    client,
    db,
    connect,
    close: async () => {
      await db.dropDatabase().catch(() => undefined);
      await Promise.all(clients.map((c) => c.close()));
      await store?.close();
    },
  };
}

/** The server's error a command must fail with (the test fails if it succeeds or fails otherwise). */
export async function failure(p: Promise<unknown>): Promise<MongoServerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MongoServerError);
  return err as MongoServerError;
}
