import { createHash } from 'node:crypto';
import { type ClientSession, type Db } from 'mongodb';
import { type Identity, badUserInput, conflict } from '@partnerskap/common';

/** A client's idempotency key for a mutation that creates something, and how to answer a retry. */
export interface Idempotency<T> {
  /** The key the client sent (`idempotencyKey`); none means no replay protection. */
  key: string | null | undefined;
  /** Whose key it is and for what: the caller and the mutation (keys of different callers never meet). */
  scope: string;
  /** The request's arguments: the same key with other arguments is a CONFLICT. */
  request: unknown;
  /** The first result again, from the id it created. */
  replay(id: string): Promise<T>;
}

/** The scope of a caller's idempotency keys for one mutation. */
export function idempotencyScope(identity: Identity, mutation: string): string {
  return `${identity.role}|${identity.org ?? ''}|${mutation}`;
}

/** A mutation's idempotency: the caller's key for these arguments, and how to give the first result again. */
export function idempotencyOf<T>(
  identity: Identity,
  mutation: string,
  key: string | null | undefined,
  request: unknown,
  replay: (id: string) => Promise<T>,
): Idempotency<T> {
  return { key, scope: idempotencyScope(identity, mutation), request, replay };
}

/** What tells a request's first result by its idempotency key: a subgraph's store (its writer's `replayed`). */
export interface Replays {
  replayed<T>(idempotency: Idempotency<T>): Promise<T | undefined>;
}

/**
 * A creating mutation under its idempotency key: a retry gets the first result at once, before any
 * rule is checked again (a retry after a deadline still gets its result); a new key (or none) runs
 * `mutation`, whose write stores the key with the record.
 */
export async function idempotent<T>(store: Replays, idempotency: Idempotency<T>, mutation: (idempotency: Idempotency<T>) => Promise<T>): Promise<T> {
  return (await store.replayed(idempotency)) ?? mutation(idempotency);
}

/** How long an idempotency key is kept: a client retries within this time. */
export const IDEMPOTENCY_TTL_S = 24 * 60 * 60;

interface IdempotencyDoc {
  _id: string;
  request: string;
  result: string;
  expiresAt: Date;
}

/** Where a key is stored, and the fingerprint of the request it came with. */
export interface StoredKey {
  id: string;
  request: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** An idempotency key: 8 to 100 letters, digits, `-` or `_` (a UUID fits). */
function checkedKey(key: string): string {
  if (!/^[A-Za-z0-9_-]{8,100}$/.test(key)) throw badUserInput('idempotencyKey must be 8 to 100 letters, digits, - or _ (a UUID fits)', 'idempotencyKey');
  return key;
}

/**
 * A subgraph's stored idempotency keys (collection `idempotency`, expiring after
 * {@link IDEMPOTENCY_TTL_S}): a key is stored in its write's transaction under a unique `_id`, so
 * of concurrent or retried requests with one key exactly one writes.
 */
export function createIdempotencyKeys(db: Db) {
  const keys = db.collection<IdempotencyDoc>('idempotency');
  /** The first result under a stored key; CONFLICT when the key came with another request. */
  const firstResult = async <T>(idempotency: Idempotency<T>, stored: StoredKey): Promise<T | undefined> => {
    const first = await keys.findOne({ _id: stored.id });
    if (!first) return undefined;
    if (first.request !== stored.request) throw conflict('This idempotency key was already used for a different request', 'idempotencyKey');
    return idempotency.replay(first.result);
  };
  return {
    ensureIndexes: async (): Promise<void> => {
      await keys.createIndexes([{ key: { expiresAt: 1 }, expireAfterSeconds: 0 }]);
    },
    /** Where a request's key is stored; undefined without a key, BAD_USER_INPUT for a malformed one. */
    storedKey: (idempotency: Idempotency<unknown>): StoredKey | undefined =>
      idempotency.key ? { id: sha256(`${idempotency.scope}|${checkedKey(idempotency.key)}`), request: sha256(JSON.stringify(idempotency.request)) } : undefined,
    /** Stores a key with the id its write created, in the write's transaction. */
    store: async (stored: StoredKey, result: string, session: ClientSession): Promise<void> => {
      await keys.insertOne({ _id: stored.id, request: stored.request, result, expiresAt: new Date(Date.now() + IDEMPOTENCY_TTL_S * 1000) }, { session });
    },
    firstResult,
  };
}
