import { Long } from 'bson';
import { describe, expect, it } from 'vitest';
import { CommandRunner, TRANSACTION_LIFETIME_MS } from './commands.js';
import { Engine, Transaction, idKeyOf } from './engine.js';
import { FailPoints, errorLabelsFor } from './failpoints.js';

const ctx = { connectionId: 1, host: '127.0.0.1:1' };

describe('snapshots', () => {
  it('keeps replaced versions only while an open transaction may read them', () => {
    const engine = new Engine();
    const coll = engine.ensureCollection('d', 'c');
    engine.write(coll, undefined, idKeyOf({ _id: 1 }), { _id: 1, v: 0 });
    // No transaction open: a write keeps nothing.
    engine.write(coll, undefined, idKeyOf({ _id: 1 }), { _id: 1, v: 1 });
    expect(coll.history.size).toBe(0);
    const early = engine.begin(new Transaction(1));
    engine.write(coll, undefined, idKeyOf({ _id: 1 }), { _id: 1, v: 2 });
    const late = engine.begin(new Transaction(2));
    engine.write(coll, undefined, idKeyOf({ _id: 1 }), { _id: 1, v: 3 });
    engine.write(coll, undefined, idKeyOf({ _id: 2 }), { _id: 2 });
    expect(engine.scan(coll, early).map((r) => r.doc)).toEqual([{ _id: 1, v: 1 }]);
    expect(engine.scan(coll, late).map((r) => r.doc)).toEqual([{ _id: 1, v: 2 }]);
    expect(engine.scan(coll, undefined).map((r) => r.doc)).toEqual([{ _id: 1, v: 3 }, { _id: 2 }]);
    expect(coll.history.get(idKeyOf({ _id: 1 }))).toHaveLength(2);
    engine.abort(early);
    // The version only the early transaction could read is gone; the late one's stays.
    expect(coll.history.get(idKeyOf({ _id: 1 }))).toHaveLength(1);
    expect(engine.scan(coll, late).map((r) => r.doc)).toEqual([{ _id: 1, v: 2 }]);
    engine.abort(late);
    expect(coll.history.size).toBe(0);
  });

  it('advances the cluster time with each write', () => {
    const engine = new Engine();
    const before = engine.clusterTime;
    engine.write(engine.ensureCollection('d', 'c'), undefined, idKeyOf({ _id: 1 }), { _id: 1 });
    expect(engine.clusterTime.greaterThan(before)).toBe(true);
  });
});

describe('transactions in the command runner', () => {
  const lsid = { id: { toString: () => 'feed' } };

  it('aborts a transaction left open past the lifetime limit, and the next statement hears why', () => {
    const runner = new CommandRunner(new Engine());
    const txn = { lsid, txnNumber: Long.fromNumber(1), autocommit: false };
    runner.run({ insert: 'c', documents: [{ _id: 1 }], ...txn, startTransaction: true, $db: 'd' }, ctx);
    expect(runner.expireTransactions(Date.now())).toBe(0);
    expect(runner.expireTransactions(Date.now() + TRANSACTION_LIFETIME_MS + 1)).toBe(1);
    expect(() => runner.run({ find: 'c', ...txn, $db: 'd' }, ctx)).toThrow(/transaction lifetime limit/);
    expect(runner.run({ find: 'c', $db: 'd' }, ctx)).toMatchObject({ cursor: { firstBatch: [] } });
  });
});

describe('sessions', () => {
  it('ends an open transaction when the session sends a newer txnNumber (a retryable write)', () => {
    const runner = new CommandRunner(new Engine());
    const lsid = { id: { toString: () => 'cafe' } };
    runner.run({ insert: 'c', documents: [{ _id: 1 }], lsid, txnNumber: Long.fromNumber(1), autocommit: false, startTransaction: true, $db: 'd' }, ctx);
    runner.run({ insert: 'c', documents: [{ _id: 2 }], lsid, txnNumber: Long.fromNumber(2), $db: 'd' }, ctx);
    expect(() => runner.run({ commitTransaction: 1, lsid, txnNumber: Long.fromNumber(1), autocommit: false, $db: 'admin' }, ctx)).toThrow(/not found|aborted/);
    expect(runner.run({ find: 'c', $db: 'd' }, ctx)).toMatchObject({ cursor: { firstBatch: [{ _id: 2 }] } });
  });
});

describe('failCommand', () => {
  const insert = { insert: 'c', documents: [], $db: 'd' };

  it('counts times and skips only for the commands and the appName it names', () => {
    const points = new FailPoints();
    points.configure({ configureFailPoint: 'failCommand', mode: { times: 2 }, data: { failCommands: ['insert'], errorCode: 91, appName: 'a' } });
    expect(points.trigger({ find: 'c', $db: 'd' }, 'a')).toBeUndefined();
    expect(points.trigger(insert, 'b')).toBeUndefined();
    expect(points.trigger(insert, 'a')?.errorCode).toBe(91);
    expect(points.trigger(insert, 'a')?.errorCode).toBe(91);
    expect(points.trigger(insert, 'a')).toBeUndefined();
    expect(points.configure({ configureFailPoint: 'failCommand', mode: { skip: 1 }, data: { failCommands: ['insert'], closeConnection: true } })).toEqual({
      count: 2,
      ok: 1,
    });
    expect(points.trigger(insert, undefined)).toBeUndefined();
    expect(points.trigger(insert, undefined)?.closeConnection).toBe(true);
    expect(points.trigger(insert, undefined)?.closeConnection).toBe(true);
  });

  it('labels errors as the server does', () => {
    const retryableWrite = { insert: 'c', txnNumber: Long.fromNumber(1) };
    const inTxn = { ...retryableWrite, autocommit: false };
    const commit = { commitTransaction: 1, txnNumber: Long.fromNumber(1), autocommit: false };
    expect(errorLabelsFor(retryableWrite, 91, undefined)).toEqual(['RetryableWriteError']);
    expect(errorLabelsFor(retryableWrite, undefined, 91)).toEqual(['RetryableWriteError']);
    expect(errorLabelsFor(retryableWrite, 2, undefined)).toEqual([]);
    expect(errorLabelsFor({ insert: 'c' }, 91, undefined)).toEqual([]);
    expect(errorLabelsFor(inTxn, 91, undefined)).toEqual(['TransientTransactionError']);
    expect(errorLabelsFor(inTxn, 112, undefined)).toEqual(['TransientTransactionError']);
    expect(errorLabelsFor(inTxn, 263, undefined)).toEqual([]);
    expect(errorLabelsFor(commit, 91, undefined)).toEqual(['RetryableWriteError']);
    expect(errorLabelsFor(commit, 251, undefined)).toEqual(['TransientTransactionError']);
    expect(errorLabelsFor(commit, 251, 64)).toEqual([]);
  });
});
