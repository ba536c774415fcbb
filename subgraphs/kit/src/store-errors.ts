/**
 * What a store error means for a request, told by the driver's own error classes and labels
 * (never by an error's name or message): the database is out of reach, it cannot store, a key is
 * taken, or a transaction met another and may be run again.
 */
import { MongoError, MongoErrorLabel, MongoNetworkError, MongoServerError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';

/** The server's error codes the kit tells apart (MongoDB's numbers). */
export const STORE_ERROR_CODES = Object.freeze({
  /** A unique index refused the write (E11000). */
  DUPLICATE_KEY: 11000,
  /** The store cannot write: its disk is full (the embedded store's ENOSPC). */
  OUT_OF_DISK_SPACE: 14031,
} as const);

/** How deep {@link causes} follows `originalError` / `cause` (a GraphQLError wraps the resolver's error, the driver a server's). */
const MAX_DEPTH = 5;

/** The error and what it wraps: GraphQL's `originalError`, then the standard `cause`. */
function* causes(error: unknown): Generator<unknown> {
  let e = error;
  for (let i = 0; e !== undefined && e !== null && i < MAX_DEPTH; i++) {
    yield e;
    const wrapper = e as { originalError?: unknown; cause?: unknown };
    e = wrapper.originalError ?? wrapper.cause;
  }
}

/**
 * Whether the database cannot be reached (not a bad request): no server to select, a connection
 * lost or timed out (a cleared pool is one of those), or the client closed under the request.
 */
export function isStoreDown(error: unknown): boolean {
  for (const e of causes(error)) {
    if (e instanceof MongoServerSelectionError || e instanceof MongoNetworkError || e instanceof MongoTopologyClosedError) return true;
  }
  return false;
}

/** Whether the database answered but cannot store (its disk is full): the write was not made, reads still work. */
export function isOutOfDiskSpace(error: unknown): boolean {
  for (const e of causes(error)) {
    if (e instanceof MongoServerError && e.code === STORE_ERROR_CODES.OUT_OF_DISK_SPACE) return true;
  }
  return false;
}

/** Whether a driver error is a duplicate key (11000): a unique index refused the write. */
export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === STORE_ERROR_CODES.DUPLICATE_KEY;
}

/** Whether a transaction failed on a conflict with another (`TransientTransactionError`): all of it may run again. */
export function isTransientTransactionError(error: unknown): boolean {
  return error instanceof MongoError && error.hasErrorLabel(MongoErrorLabel.TransientTransactionError);
}

/** Whether a commit's outcome is unknown (`UnknownTransactionCommitResult`): the commit alone may be sent again. */
export function isUnknownCommitResult(error: unknown): boolean {
  return error instanceof MongoError && error.hasErrorLabel(MongoErrorLabel.UnknownTransactionCommitResult);
}
