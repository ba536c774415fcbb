import { Long } from 'bson';
import { describe, expect, it } from 'vitest';
import { CURSOR_TIMEOUT_MS, CommandRunner } from './commands.js';
import { Engine } from './engine.js';
import { MongoServerError } from './errors.js';

const ctx = { connectionId: 1, host: '127.0.0.1:1' };

describe('CommandRunner', () => {
  it('forgets a cursor nobody read from within the cursor timeout', () => {
    const runner = new CommandRunner(new Engine());
    runner.run({ insert: 'c', documents: Array.from({ length: 30 }, (_, i) => ({ _id: i })), $db: 'd' }, ctx);
    const found = runner.run({ find: 'c', batchSize: 10, $db: 'd' }, ctx) as { cursor: { id: Long } };
    expect(runner.expireCursors(Date.now())).toBe(0);
    expect(runner.expireCursors(Date.now() + CURSOR_TIMEOUT_MS + 1)).toBe(1);
    expect(() => runner.run({ getMore: found.cursor.id, collection: 'c', $db: 'd' }, ctx)).toThrow(MongoServerError);
  });

  it('returns the first reply again for a retried write with the same session and txnNumber', () => {
    const runner = new CommandRunner(new Engine());
    const lsid = { id: { toString: () => 'abcd' } };
    const insert = { insert: 'c', documents: [{ v: 1 }], lsid, txnNumber: Long.fromNumber(1), $db: 'd' };
    const first = runner.run(insert, ctx);
    const again = runner.run({ ...insert, documents: [{ v: 1 }] }, ctx);
    expect(again).toBe(first);
    expect(runner.run({ count: 'c', $db: 'd' }, ctx)).toEqual({ n: 1, ok: 1 });
  });
});
