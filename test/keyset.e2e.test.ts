import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { rebuildFigures } from '../demo/figures.js';

// Keyset cursors (docs/frontend.md: the client kit): a page starts strictly after the last item of
// the page before, in the list's stable order, however the list changed in between. Each case
// reads a first page, then inserts one item before the cursor and one right after it (same sort
// key, a larger id: the tie-break) and reads the next page; then deletes two items of the first
// page and reads it again. With offset cursors the first read would repeat an item, the second skip one.
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

type Page = { edges: { cursor: string; node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number };
type Doc = { _id: string } & Record<string, any>;

interface Case {
  name: string;
  db: keyof Harness['dbs'];
  coll: string;
  /** The operation; `$first` and `$after` page, the connection is found by `page`. */
  query: string;
  variables?: Record<string, unknown>;
  page: (data: any) => Page;
  /** Copies a document with a new id (and whatever a unique index needs changed). */
  copy: (doc: Doc, id: string) => Doc;
}

const CASES: Case[] = [
  {
    name: 'catalogue: studies (name, Norwegian collation, then id)',
    db: 'catalogue',
    coll: 'studies',
    query:
      'query ($first: Int, $after: String) { studies(filter: { year: 2024 }, first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }',
    page: (d) => d.studies,
    copy: (doc, id) => ({ ...doc, _id: id, code: `KS${id.replace(/[^A-Za-z0-9]/g, '').slice(-12)}` }),
  },
  {
    name: 'admissions: applications (newest year first, then id)',
    db: 'admissions',
    coll: 'applications',
    query:
      'query ($first: Int, $after: String, $study: ID) { applications(filter: { study: $study }, first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }',
    page: (d) => d.applications,
    copy: (doc, id) => ({ ...doc, _id: id, teacher: `t-keyset-${id}` }),
  },
  {
    name: "plans: a school owner's teachers (by id)",
    db: 'plans',
    coll: 'teachers',
    query:
      'query ($first: Int, $after: String) { schoolOwner(id: "4601") { id teachers(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } } }',
    page: (d) => d.schoolOwner.teachers,
    copy: (doc, id) => ({ ...doc, _id: id }),
  },
  {
    name: 'plans: school owners (name, Norwegian collation, then id)',
    db: 'plans',
    coll: 'owners',
    query:
      'query ($first: Int, $after: String) { schoolOwners(filter: { kind: MUNICIPALITY }, first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }',
    page: (d) => d.schoolOwners,
    copy: (doc, id) => ({ ...doc, _id: id }),
  },
  {
    name: 'feedback: statements (newest first, then id)',
    db: 'feedback',
    coll: 'statements',
    query:
      'query ($first: Int, $after: String) { statements(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }',
    page: (d) => d.statements,
    copy: (doc, id) => ({ ...doc, _id: id }),
  },
];

describe('keyset cursors', () => {
  it.each(CASES)('$name: an insert before and after the cursor and a delete between pages neither skip nor repeat', async (c) => {
    const token = await h.token({ role: 'directorate' });
    const coll = h.dbs[c.db].collection<any>(c.coll);
    let variables = c.variables ?? {};
    if (c.coll === 'applications') {
      // One study's applications keep the pages small; the busiest has several pages of 3.
      const [busiest] = await coll
        .aggregate<{ _id: string }>([{ $group: { _id: '$study', n: { $sum: 1 } } }, { $sort: { n: -1, _id: 1 } }, { $limit: 1 }])
        .toArray();
      variables = { study: busiest!._id };
    }
    const n = 3;
    const ask = async (after: string | null, first = n) => {
      const res = await h.query<any>(c.query, { ...variables, first, after }, { token });
      expect(res.errors).toBeUndefined();
      return c.page(res.data);
    };
    const before = await ask(null, 2 * n);
    expect(before.edges.length).toBe(2 * n);
    const first = await ask(null);
    expect(first.edges.map((e) => e.node.id)).toEqual(before.edges.slice(0, n).map((e) => e.node.id));
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges.at(-1)!.cursor });

    const last = (await coll.findOne({ _id: first.edges.at(-1)!.node.id }))!;
    const gone = await coll.find({ _id: { $in: first.edges.slice(0, 2).map((e) => e.node.id) } }).toArray();
    // Same sort key as the last item of the page, so the id decides: '!' sorts before every id character, '~' after.
    const beforeCursor = c.copy(last, `${String(last._id).slice(0, -1)}!`);
    const afterCursor = c.copy(last, `${last._id}~`);
    const expected = [afterCursor._id, ...before.edges.slice(n, 2 * n - 1).map((e) => e.node.id)];
    await coll.insertMany([beforeCursor, afterCursor]);
    // Written around the subgraph: its figures (a totalCount may be one) are counted from the records again.
    await rebuildFigures(h.dbs, [c.db]);
    try {
      // An offset would repeat the page's last item here.
      const second = await ask(first.pageInfo.endCursor);
      expect(second.edges.map((e) => e.node.id)).toEqual(expected);
      expect(second.totalCount).toBe(before.totalCount + 2);
      // And skip one here, two items before the cursor fewer.
      await coll.deleteMany({ _id: { $in: gone.map((d) => d._id) } });
      await rebuildFigures(h.dbs, [c.db]);
      const again = await ask(first.pageInfo.endCursor);
      expect(again.edges.map((e) => e.node.id)).toEqual(expected);
      expect(again.totalCount).toBe(before.totalCount);
    } finally {
      await coll.deleteMany({ _id: { $in: [beforeCursor._id, afterCursor._id] } });
      await coll.deleteMany({ _id: { $in: gone.map((d) => d._id) } });
      await coll.insertMany(gone);
      await rebuildFigures(h.dbs, [c.db]);
    }
  });
});

describe('walking a list to its end', () => {
  it('pages through every school owner in Norwegian order (Æ, Ø, Å last), each once', async () => {
    const nb = new Intl.Collator('nb');
    const owners = await h.dbs.plans.collection<{ _id: string; name: string }>('owners').find().toArray();
    owners.sort((a, b) => nb.compare(a.name, b.name) || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const res: { data?: any } = await h.query<any>(
        'query ($after: String) { schoolOwners(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      seen.push(...res.data.schoolOwners.edges.map((e: { node: { id: string } }) => e.node.id));
      if (!res.data.schoolOwners.pageInfo.hasNextPage) break;
      after = res.data.schoolOwners.pageInfo.endCursor;
    }
    expect(seen).toEqual(owners.map((o) => o._id));
    expect(owners.some((o) => /^[ÆØÅ]/.test(o.name))).toBe(true);
  });
});

describe('cursors are opaque and checked', () => {
  const STUDIES = 'query ($after: String) { studies(first: 2, after: $after) { edges { node { id } } } }';
  const refused = (res: { errors?: { extensions?: Record<string, unknown>; path?: unknown }[] }) =>
    res.errors?.map((e) => ({ code: e.extensions?.code, field: e.extensions?.field, path: e.path }));
  const b64 = (s: string) => Buffer.from(s).toString('base64url');

  it('hands out cursors that are base64url, not offsets', async () => {
    const res = await h.query<any>('{ studies(first: 2) { edges { cursor } pageInfo { endCursor } } }');
    const cursor: string = res.data.studies.pageInfo.endCursor;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(cursor, 'base64url').toString()).not.toMatch(/^o:\d+$/);
  });

  it.each([
    ['an offset cursor of the old kind', b64('o:99')],
    ['a cursor edited by hand', 'not*a*cursor'],
    ['a cursor whose JSON was cut short', b64('["studies","Engelsk 1"')],
    ['a cursor of another list', b64('["schoolOwners","Bergen","4601"]')],
    ['a cursor with a number for a name', b64('["studies",7,"K2ENG1510-2024"]')],
    ['a cursor without an id', b64('["studies","Engelsk 1"]')],
    ['a cursor with an operator for an id', b64('["studies","Engelsk 1",{"$gt":""}]')],
    ['a cursor far too long', 'A'.repeat(2000)],
  ])('refuses %s as BAD_USER_INPUT naming after', async (_, after) => {
    const res = await h.query(STUDIES, { after });
    expect(refused(res)).toEqual([{ code: 'BAD_USER_INPUT', field: 'after', path: ['studies'] }]);
  });

  it('refuses a tampered cursor of a real page', async () => {
    const page = await h.query<any>('{ studies(first: 2) { pageInfo { endCursor } } }');
    const cursor: string = page.data.studies.pageInfo.endCursor;
    const tampered = b64(Buffer.from(cursor, 'base64url').toString().replace('["studies"', '["statements"'));
    expect(refused(await h.query(STUDIES, { after: tampered }))).toEqual([{ code: 'BAD_USER_INPUT', field: 'after', path: ['studies'] }]);
    expect(refused(await h.query(STUDIES, { after: `${cursor.slice(0, -3)}***` }))).toEqual([{ code: 'BAD_USER_INPUT', field: 'after', path: ['studies'] }]);
  });
});
