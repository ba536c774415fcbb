import { GraphQLError } from 'graphql';
import {
  MongoBulkWriteError,
  MongoError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoTransactionError,
  type TopologyDescription,
} from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isDuplicateKey, isOutOfDiskSpace, isStoreDown, isTransientTransactionError, isUnknownCommitResult } from './store-errors.js';

// The driver's errors, built as it builds them: a server's reply, a lost connection, no server to select.
const selection = new MongoServerSelectionError('Server selection timed out after 2000 ms', { error: undefined } as unknown as TopologyDescription);
const network = new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed');
const networkTimeout = new MongoNetworkTimeoutError('connection timed out');
const closed = new MongoTopologyClosedError();
const duplicate = new MongoServerError({
  ok: 0,
  code: 11000,
  codeName: 'DuplicateKey',
  errmsg: 'E11000 duplicate key error collection: x.studies index: _id_',
});
const fullDisk = new MongoServerError({ ok: 0, code: 14031, codeName: 'OutOfDiskSpace', errmsg: 'disk full' });
const fullDiskWrite = new MongoBulkWriteError({ message: 'disk full', code: 14031, writeErrors: [] }, { insertedCount: 0 } as never);
const conflict = new MongoServerError({ ok: 0, code: 112, codeName: 'WriteConflict', errmsg: 'write conflict', errorLabels: ['TransientTransactionError'] });
const unknownCommit = new MongoServerError({
  ok: 0,
  code: 91,
  codeName: 'ShutdownInProgress',
  errmsg: 'shutting down',
  errorLabels: ['UnknownTransactionCommitResult'],
});
/** How Apollo hands a resolver's error to formatError: wrapped in a GraphQLError. */
const wrapped = (e: Error) => new GraphQLError('wrapped', { originalError: e });

describe('isStoreDown', () => {
  it("is true for the driver's classes of an unreachable database, also wrapped (GraphQLError, cause)", () => {
    for (const e of [selection, network, networkTimeout, closed]) {
      expect(isStoreDown(e)).toBe(true);
      expect(isStoreDown(wrapped(e))).toBe(true);
      expect(isStoreDown(new Error('outer', { cause: e }))).toBe(true);
    }
  });

  it("is false for a server's answer, a plain error, or an error merely named like the driver's", () => {
    const impostor = Object.assign(new Error('x'), { name: 'MongoNetworkError' });
    for (const e of [duplicate, fullDisk, conflict, new Error('boom'), impostor, null, undefined, 'MongoNetworkError']) expect(isStoreDown(e)).toBe(false);
  });
});

describe('isOutOfDiskSpace', () => {
  it('is true for OutOfDiskSpace (14031) from a command or a write, also wrapped', () => {
    for (const e of [fullDisk, fullDiskWrite]) {
      expect(isOutOfDiskSpace(e)).toBe(true);
      expect(isOutOfDiskSpace(wrapped(e))).toBe(true);
    }
    for (const e of [duplicate, network, Object.assign(new Error('x'), { code: 14031 })]) expect(isOutOfDiskSpace(e)).toBe(false);
  });
});

describe('isDuplicateKey', () => {
  it("is true for a server's E11000 only", () => {
    expect(isDuplicateKey(duplicate)).toBe(true);
    expect(isDuplicateKey(new MongoBulkWriteError({ message: 'E11000', code: 11000, writeErrors: [] }, { insertedCount: 0 } as never))).toBe(true);
    for (const e of [fullDisk, network, Object.assign(new Error('E11000'), { code: 11000 })]) expect(isDuplicateKey(e)).toBe(false);
  });
});

describe('transaction labels', () => {
  it("tells a conflict to run again from a commit to send again, by the driver's labels", () => {
    expect(isTransientTransactionError(conflict)).toBe(true);
    expect(isUnknownCommitResult(conflict)).toBe(false);
    expect(isUnknownCommitResult(unknownCommit)).toBe(true);
    expect(isTransientTransactionError(unknownCommit)).toBe(false);
    const labelledLater = new MongoError('network blip');
    labelledLater.addErrorLabel('TransientTransactionError');
    expect(isTransientTransactionError(labelledLater)).toBe(true);
    for (const e of [duplicate, new MongoTransactionError('no transaction'), Object.assign(new Error('x'), { errorLabels: ['TransientTransactionError'] })])
      expect(isTransientTransactionError(e)).toBe(false);
  });
});
