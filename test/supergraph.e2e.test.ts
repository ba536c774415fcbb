import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// The whole supergraph over the demo data. Expected answers are counted independently here,
// with plain find() and JavaScript, never with the subgraphs' own queries.
let h: Harness;
const nb = new Intl.Collator('nb');
const byNameThenId = (a: { name: string; _id: string }, b: { name: string; _id: string }) =>
  nb.compare(a.name, b.name) || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);
const round2 = (n: number) => Math.round(n * 100) / 100;
const find = (partner: keyof Harness['dbs'], coll: string, filter: Record<string, unknown> = {}) =>
  h.dbs[partner].collection(coll).find(filter).toArray() as Promise<Record<string, any>[]>;

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('the README example through the gateway', () => {
  const query = readFileSync(new URL('../operations/english-studies.graphql', import.meta.url), 'utf8');
  /** The raw figures, counted here with find() and JavaScript. */
  async function rawFigures() {
    const studies = (await find('catalogue', 'studies', { subject: 'ENG', gradeBand: 'GRADES_5_10', year: 2024 })) as any[];
    studies.sort(byNameThenId);
    const institutions = new Map((await find('admissions', 'institutions')).map((i) => [i._id, i]));
    const rows = await Promise.all(
      studies.slice(0, 5).map(async (s) => {
        const apps = await find('admissions', 'applications', { study: s._id });
        const approved = (await find('plans', 'decisions', { study: s._id })).filter((d) => d.owner === '4601' && d.outcome === 'APPROVED').length;
        const ratings = (await find('feedback', 'feedback', { study: s._id })).map((f) => f.rating as number);
        return { s, inst: institutions.get(s.institution)!, admitted: apps.filter((a) => a.admission?.outcome === 'ADMITTED').length, approved, ratings };
      }),
    );
    return { total: studies.length, rows };
  }
  const small = (n: number) => n > 0 && n < 5;
  /** A count as the public sees it: hidden under 5, else rounded to base 5. */
  const pub = (n: number) => (n === 0 ? 0 : small(n) ? null : Math.round(n / 5) * 5);

  it('answers the directorate from all four subgraphs with exact figures', async () => {
    const { total, rows } = await rawFigures();
    const res = await h.query(query, { owner: '4601' }, { token: await h.token({ role: 'directorate' }) });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      studies: {
        totalCount: total,
        edges: rows.map(({ s, inst, admitted, approved, ratings }) => ({
          node: {
            id: s._id,
            name: s.name,
            institution: { orgNumber: inst._id, shortName: inst.shortName, name: inst.name },
            campus: s.campus,
            places: s.places,
            vacantSeats: Math.max(0, s.places - admitted),
            approvedApplications: approved,
            rating: { average: ratings.length ? round2(ratings.reduce((x, y) => x + y, 0) / ratings.length) : null, count: ratings.length },
          },
        })),
        pageInfo: { hasNextPage: total > 5, endCursor: expect.any(String) },
      },
    });
    // The example is only worth something if the demo data makes every part of it non-trivial.
    expect(rows.some((r) => r.approved > 0)).toBe(true);
    expect(rows.some((r) => r.ratings.length > 0)).toBe(true);
    expect(rows.some((r) => r.admitted > 0)).toBe(true);
  });

  it('answers Bergen, as the README runs it, with its own approvals whole and the other figures as the public sees them', async () => {
    const { rows } = await rawFigures();
    const res = await h.query<any>(query, { owner: '4601' }, { token: await h.token({ role: 'school-owner', org: '4601' }) });
    expect(res.errors).toBeUndefined();
    expect(res.data.studies.edges.map((e: any) => e.node)).toEqual(
      rows.map(({ s, admitted, approved, ratings }) =>
        expect.objectContaining({
          id: s._id,
          vacantSeats: pub(admitted) === null ? null : Math.max(0, s.places - pub(admitted)!),
          approvedApplications: approved,
          rating: {
            // Banded to the nearest 0.5 (docs/frontend.md: Who sees what).
            average: ratings.length >= 5 ? Math.round((ratings.reduce((x, y) => x + y, 0) / ratings.length) * 2) / 2 : null,
            count: pub(ratings.length),
          },
        }),
      ),
    );
  });

  it('refuses the public one owner’s approvals (FORBIDDEN at each path) and shows the rest rounded', async () => {
    const { rows } = await rawFigures();
    const res = await h.query<any>(query, { owner: '4601' });
    expect(res.errors!.map((e: any) => [e.extensions.code, e.path.join('.')])).toEqual(
      rows.map((_, i) => ['FORBIDDEN', `studies.edges.${i}.node.approvedApplications`]),
    );
    expect(res.data.studies.edges.map((e: any) => e.node)).toEqual(
      rows.map(({ s, admitted }) =>
        expect.objectContaining({
          id: s._id,
          vacantSeats: pub(admitted) === null ? null : Math.max(0, s.places - pub(admitted)!),
          approvedApplications: null,
        }),
      ),
    );
  });
});

describe('lists', () => {
  it('pages through a year of studies in Norwegian name order without gaps or repeats', async () => {
    const all = (await find('catalogue', 'studies', { year: 2023 })) as any[];
    all.sort(byNameThenId);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res: any = await h.query(
        'query($after: String) { studies(filter: { year: 2023 }, first: 40, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data.studies.totalCount).toBe(all.length);
      seen.push(...res.data.studies.edges.map((e: any) => e.node.id));
      pages++;
      if (!res.data.studies.pageInfo.hasNextPage) break;
      after = res.data.studies.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.map((s) => s._id));
    expect(pages).toBe(Math.ceil(all.length / 40));
  });

  it('sorts school owners with Norwegian collation (Æ, Ø, Å last) and filters them', async () => {
    const owners = (await find('plans', 'owners', { kind: 'MUNICIPALITY', county: '50' })) as any[];
    owners.sort(byNameThenId);
    const res: any = await h.query(
      '{ schoolOwners(filter: { kind: MUNICIPALITY, county: "50" }, first: 100) { totalCount edges { node { id name county { name } } } } }',
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.schoolOwners.totalCount).toBe(owners.length);
    expect(res.data.schoolOwners.edges.map((e: any) => e.node.name)).toEqual(owners.map((o) => o.name));
    expect(res.data.schoolOwners.edges[0].node.county).toEqual({ name: 'Trøndelag - Trööndelage' });
    // Trøndelag has Ørland and Åfjord: they close the list, Ø before Å.
    expect(owners.slice(-2).map((o) => o.name)).toEqual(['Ørland', 'Åfjord']);

    const search = await h.query<any>('{ schoolOwners(filter: { search: "øy" }, first: 5) { totalCount } }');
    const expected = (await find('plans', 'owners')).filter((o) => (o.name as string).toLowerCase().includes('øy')).length;
    expect(search.data?.schoolOwners.totalCount).toBe(expected);
    expect(expected).toBeGreaterThan(0);
  });

  it('filters studies by institution and delivery, and searches names', async () => {
    const [inst] = await find('admissions', 'institutions', { shortName: 'HVL' });
    const expected = (await find('catalogue', 'studies', { institution: inst!._id, delivery: 'ONLINE' })).length;
    const res = await h.query<any>('query($i: ID!) { studies(filter: { institution: $i, delivery: ONLINE }) { totalCount } }', { i: inst!._id });
    expect(res.data?.studies.totalCount).toBe(expected);
    const search = await h.query<any>('{ studies(filter: { search: "matematikk 2", year: 2022 }) { totalCount } }');
    const names = (await find('catalogue', 'studies', { year: 2022 })).filter((s) => (s.name as string).toLowerCase().includes('matematikk 2'));
    expect(search.data?.studies.totalCount).toBe(names.length);
  });
});

describe('cross-partner entities', () => {
  it('joins an application with its teacher’s employer, the owner’s decision, Udir’s funding and the study', async () => {
    const [inst] = await find('admissions', 'institutions', { shortName: 'UiB' });
    const res = await h.query<any>(
      `query($i: ID!) { applications(filter: { institution: $i, year: 2024 }, first: 3) {
        edges { node { id study { name } teacher { employer { id name } } ownerDecision { outcome } funding { funded } } } } }`,
      { i: inst!._id },
      { token: await h.token({ role: 'directorate' }) },
    );
    expect(res.errors).toBeUndefined();
    const apps = (await find('admissions', 'applications', { institution: inst!._id, year: 2024 })).sort((a, b) => (a._id < b._id ? -1 : 1)).slice(0, 3);
    const expected = await Promise.all(
      apps.map(async (a) => {
        const [study] = await find('catalogue', 'studies', { _id: a.study });
        const [teacher] = await find('plans', 'teachers', { _id: a.teacher });
        const [owner] = await find('plans', 'owners', { _id: teacher!.owner });
        const [decision] = await find('plans', 'decisions', { _id: a._id });
        const [allocation] = await find('catalogue', 'allocations', { _id: a._id });
        return {
          node: {
            id: a._id,
            study: { name: study!.name },
            teacher: { employer: { id: owner!._id, name: owner!.name } },
            ownerDecision: { outcome: decision!.outcome },
            funding: allocation ? { funded: allocation.funded } : null,
          },
        };
      }),
    );
    expect(res.data).toEqual({ applications: { edges: expected } });
  });
});

describe('bad input', () => {
  it('refuses a page over 100 at the gateway, before planning', async () => {
    const res = await h.query('{ studies(first: 101) { totalCount } }');
    expect(res.status).toBe(400);
    expect(res.errors?.map((e) => e.extensions)).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', limit: 'pageSize', field: 'first' })]);
  });

  it.each([
    ['{ studies(first: 0) { totalCount } }', 'first', ['studies']],
    ['{ studies(after: "bm9wZQ") { totalCount } }', 'after', ['studies']],
    [`{ studies(filter: { search: "${'x'.repeat(101)}" }) { totalCount } }`, 'filter.search', ['studies']],
    ['{ studies(filter: { year: 1900 }) { totalCount } }', 'filter.year', ['studies']],
    ['{ schoolOwner(id: "0301") { plan(year: 3000) { year } } }', 'year', ['schoolOwner', 'plan']],
  ])('%s answers BAD_USER_INPUT naming %s', async (query, field, path) => {
    const res = await h.query(query);
    expect(res.errors?.map((e) => ({ code: e.extensions?.code, field: e.extensions?.field, path: e.path }))).toEqual([{ code: 'BAD_USER_INPUT', field, path }]);
    expect(JSON.stringify(res)).not.toMatch(/stacktrace|at .*\.ts:\d+/);
  });
});

// Every entity a subgraph owns: `_entities` answers in key order with null for unknown or hostile
// keys, and loads the whole batch with one database command.
const ENTITIES = [
  { subgraph: 'catalogue', type: 'Study', key: 'id', coll: 'studies', db: 'catalogue', fields: 'id name', pick: (d: any) => ({ id: d._id, name: d.name }) },
  {
    subgraph: 'catalogue',
    type: 'Subject',
    key: 'code',
    coll: 'subjects',
    db: 'catalogue',
    fields: 'code name',
    pick: (d: any) => ({ code: d._id, name: d.name }),
  },
  {
    subgraph: 'catalogue',
    type: 'ApplicationRound',
    key: 'year',
    coll: 'rounds',
    db: 'catalogue',
    fields: 'year opens',
    pick: (d: any) => ({ year: d._id, opens: d.opens }),
  },
  {
    subgraph: 'admissions',
    type: 'Institution',
    key: 'orgNumber',
    coll: 'institutions',
    db: 'admissions',
    fields: 'orgNumber shortName',
    pick: (d: any) => ({ orgNumber: d._id, shortName: d.shortName }),
  },
  {
    subgraph: 'admissions',
    type: 'Application',
    key: 'id',
    coll: 'applications',
    db: 'admissions',
    fields: 'id year',
    pick: (d: any) => ({ id: d._id, year: d.year }),
  },
  { subgraph: 'plans', type: 'SchoolOwner', key: 'id', coll: 'owners', db: 'plans', fields: 'id name', pick: (d: any) => ({ id: d._id, name: d.name }) },
  { subgraph: 'plans', type: 'Teacher', key: 'id', coll: 'teachers', db: 'plans', fields: 'id school', pick: (d: any) => ({ id: d._id, school: d.school }) },
  {
    subgraph: 'plans',
    type: 'County',
    key: 'number',
    coll: 'counties',
    db: 'plans',
    fields: 'number name',
    pick: (d: any) => ({ number: d._id, name: d.name }),
  },
] as const;

describe('_entities', () => {
  it.each(ENTITIES)('$subgraph resolves $type in key order, null for unknown and hostile keys, in one batch', async (e) => {
    const docs = (await h.dbs[e.db].collection(e.coll).find().limit(3).toArray()) as any[];
    const reps = [
      { __typename: e.type, [e.key]: docs[2]._id },
      { __typename: e.type, [e.key]: e.key === 'year' ? 1999 : 'unknown-key' },
      { __typename: e.type, [e.key]: docs[0]._id },
      { __typename: e.type, [e.key]: { $ne: null } },
      { __typename: e.type, [e.key]: docs[1]._id },
    ];
    h.takeCommands();
    const res = await h.querySubgraph<any>(e.subgraph, `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${e.type} { ${e.fields} } } }`, {
      r: reps,
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?._entities).toEqual([e.pick(docs[2]), null, e.pick(docs[0]), null, e.pick(docs[1])]);
    const reads = h.takeCommands().filter((c) => c.collection === e.coll && ['find', 'aggregate'].includes(c.command));
    expect(reads.length).toBe(1);
  });

  it('batches the figures admissions adds to many studies into one read of its maintained cells, none of the applications', async () => {
    for (const first of [5, 50]) {
      h.takeCommands();
      const res = await h.query<any>('query($first: Int) { studies(filter: { year: 2022 }, first: $first) { edges { node { id applicants vacantSeats } } } }', {
        first,
      });
      expect(res.data?.studies.edges.length).toBe(first);
      const reads = h.takeCommands().filter((c) => c.db === h.dbs.admissions.databaseName);
      expect(reads.map((c) => `${c.command} ${String(c.collection)}`)).toEqual(['find figures']);
    }
  });
});

describe('registered operations', () => {
  const dir = new URL('../operations/', import.meta.url);
  const samples = JSON.parse(readFileSync(new URL('variables.json', dir), 'utf8')) as Record<
    string,
    { as?: { role: 'institution' | 'school-owner' | 'union' | 'teacher'; org: string }; variables: Record<string, unknown> }
  >;

  it.each(Object.keys(samples))('%s runs through the gateway, as the partner it is for, without errors', async (file) => {
    const sample = samples[file]!;
    // `$teacher` stands for a teacher who has applied, found in the data.
    const teacher = String((await h.dbs.admissions.collection('applications').findOne({ ownerApproved: true }))!.teacher);
    const fill = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll('"$teacher"', JSON.stringify(teacher))) as T;
    const as = sample.as ? fill(sample.as) : undefined;
    const res = await h.query(readFileSync(new URL(file, dir), 'utf8'), fill(sample.variables), as ? { token: await h.token(as) } : {});
    expect(res.errors).toBeUndefined();
    // Every root field answers (nested nulls are legitimate: an application the owner refused has no funding).
    expect(Object.values(res.data ?? {}).every((v) => v !== null)).toBe(true);
    expect(JSON.stringify(res.data).length).toBeGreaterThan(200);
  });
});
