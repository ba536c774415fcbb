import { describe, expect, it } from 'vitest';
import { afterCursor, keysetOrder, keysetSort, pageWindow, toConnection } from './pagination.js';

const BY_NAME = keysetOrder('things', [{ field: 'name', direction: 1, type: 'string' }]);
const NEWEST = keysetOrder('notes', [{ field: 'at', direction: -1, type: 'date' }]);
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (e) {
    return (e as { extensions?: unknown }).extensions;
  }
  return 'accepted';
};

describe('keyset pagination', () => {
  it("sorts by the order's keys, then _id", () => {
    expect(keysetSort(BY_NAME)).toEqual({ name: 1, _id: 1 });
    expect(keysetSort(NEWEST)).toEqual({ at: -1, _id: 1 });
    expect(keysetSort(keysetOrder('ids', []))).toEqual({ _id: 1 });
  });

  it("hands out the last item's sort key and id as the cursor, and reads it back as a range strictly after it", async () => {
    const window = pageWindow({ first: 2 }, BY_NAME);
    const page = toConnection(
      [
        { id: 'b', name: 'Ørsta' },
        { id: 'a', name: 'Åsnes' },
        { id: 'c', name: 'Åsnes' },
      ],
      window,
      async () => 3,
    );
    expect(page.pageInfo).toEqual({ hasNextPage: true, endCursor: b64(['things', 'Åsnes', 'a']) });
    expect(page.edges.map((e) => e.cursor)).toEqual([b64(['things', 'Ørsta', 'b']), b64(['things', 'Åsnes', 'a'])]);
    const next = pageWindow({ first: 2, after: page.pageInfo.endCursor }, BY_NAME);
    expect(afterCursor({ kind: 'X' }, next)).toEqual({ kind: 'X', $and: [{ $or: [{ name: { $gt: 'Åsnes' } }, { name: 'Åsnes', _id: { $gt: 'a' } }] }] });
    expect(afterCursor({ $and: [{ a: 1 }] }, next).$and).toHaveLength(2);
    expect(afterCursor({ kind: 'X' }, pageWindow({}, BY_NAME))).toEqual({ kind: 'X' });
  });

  it('carries dates as epoch milliseconds and compares descending keys with $lt', () => {
    const at = new Date('2024-03-15T09:30:00.000Z');
    const { pageInfo } = toConnection([{ id: 'n1', at }], pageWindow({ first: 1 }, NEWEST), async () => 1);
    const window = pageWindow({ after: pageInfo.endCursor }, NEWEST);
    expect(window.after).toEqual([at, 'n1']);
    expect(afterCursor({}, window)).toEqual({ $and: [{ $or: [{ at: { $lt: at } }, { at, _id: { $gt: 'n1' } }] }] });
    expect(afterCursor({ owner: 'o' }, pageWindow({ after: b64(['ids', 'x']) }, keysetOrder('ids', [])))).toEqual({
      owner: 'o',
      $and: [{ _id: { $gt: 'x' } }],
    });
  });

  it.each([
    ['an offset cursor', b64('o:99')],
    ['not base64url', 'a+b/c='],
    ['not JSON', b64('["things"')],
    ["another list's cursor", b64(['notes', 'Åsnes', 'a'])],
    ['a number for a name', b64(['things', 7, 'a'])],
    ['an object for an id', b64(['things', 'x', { $gt: '' }])],
    ['no id', b64(['things', 'x'])],
    ['an empty id', b64(['things', 'x', ''])],
    ['too long', 'A'.repeat(1025)],
  ])('refuses %s as BAD_USER_INPUT on after', (_, after) => {
    expect(codeOf(() => pageWindow({ after }, BY_NAME))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('refuses a date out of range, and a cursor where the list has no order', () => {
    expect(codeOf(() => pageWindow({ after: b64(['notes', -1, 'n']) }, NEWEST))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(codeOf(() => pageWindow({ after: b64(['notes', 1.5, 'n']) }, NEWEST))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(codeOf(() => pageWindow({ after: b64(['things', 'x', 'a']) }))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(codeOf(() => pageWindow({ first: 101 }, BY_NAME))).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});
