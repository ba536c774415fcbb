import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogue } from '@partnerskap/catalogue';
import { CREDENTIAL_HEADER, type Identity, createCredentialSigner, startSubgraph } from '@partnerskap/kit';
import { type Harness, startHarness } from './harness.js';
import { rebuildFigures } from '../demo/figures.js';

// The catalogue's part of the strategy insights (offers, funding, requirements) through the
// gateway. Expected figures are counted here with plain find() and JavaScript, and the funding
// split is worked out again from the rules (docs/insights.md), never with the subgraph's code.
let h: Harness;
type Doc = Record<string, any>;
const find = (coll: string, filter: Record<string, unknown> = {}) => h.dbs.catalogue.collection(coll).find(filter).toArray() as Promise<Doc[]>;

const QUERY = `query CatalogueInsights($year: Int!) {
  insights(year: $year) {
    year
    offers { subject gradeBand offers cancelled places }
    funding {
      funded notFunded
      bySubject { key funded notFunded } byGradeBand { key funded notFunded } byCounty { key funded notFunded }
      split { scheme participants stateNok ownerNok teacherNok stateFtes ownerFtes teacherFtes }
    }
    requirements { subject gradeBand credits }
  }
}`;

/** A year made here with small numbers (the demo's years have none in the funding figures). */
const SMALL_YEAR = 2031;
const MATHS_AND_SCIENCE = ['MAT', 'NAT'];
const DEFAULTS = { nokPerFte: 850_000, scholarshipNok: 120_000 };

/** A count as a caller who may not see persons sees it. */
const pub = (n: number) => (n === 0 ? 0 : n < 5 ? null : Math.round(n / 5) * 5);
/**
 * A total as such a caller sees it: the sum of the first partition's cells as shown (counties),
 * hidden as soon as a cell of any partition beside it (county, subject, grade band) is.
 */
const pubTotal = (partitions: number[][]) => (partitions.some((p) => p.some((n) => n > 0 && n < 5)) ? null : partitions[0]!.reduce((a, n) => a + pub(n)!, 0));
const exact = (n: number) => n;
const exactTotal = (partitions: number[][]) => partitions[0]!.reduce((a, b) => a + b, 0);
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Groups documents by a key, in key order (string order). */
function groupBy(docs: Doc[], keyOf: (d: Doc) => string): [string, Doc[]][] {
  const m = new Map<string, Doc[]>();
  for (const d of docs) m.set(keyOf(d), [...(m.get(keyOf(d)) ?? []), d]);
  return [...m.entries()].sort(([a], [b]) => cmp(a, b));
}

/**
 * The split worked out from the rules in 1/160 FTE: a participant is released 3/8 FTE = 60/160;
 * maths and science: state 3/4 of it (45), teacher 1/4 (15); other subjects: state 3/5 (36),
 * owner 3/20 (9), teacher 1/4 (15). Scholarship: the state pays the scholarship, the teacher 60.
 */
function split(ms: number | null, other: number | null, scholarship: number | null, s = DEFAULTS) {
  const kr = (k: number) => Math.round((k * s.nokPerFte) / 160);
  const fte = (k: number) => Math.round((k * 100) / 160) / 100;
  const none = { participants: null, stateNok: null, ownerNok: null, teacherNok: null, stateFtes: null, ownerFtes: null, teacherFtes: null };
  const substitute =
    ms === null || other === null
      ? { scheme: 'SUBSTITUTE', ...none }
      : (() => {
          const [state, owner, teacher] = [ms * 45 + other * 36, other * 9, (ms + other) * 15];
          return {
            scheme: 'SUBSTITUTE',
            participants: ms + other,
            stateNok: kr(state),
            ownerNok: kr(owner),
            teacherNok: kr(teacher),
            stateFtes: fte(state),
            ownerFtes: fte(owner),
            teacherFtes: fte(teacher),
          };
        })();
  const sch =
    scholarship === null
      ? { scheme: 'SCHOLARSHIP', ...none }
      : {
          scheme: 'SCHOLARSHIP',
          participants: scholarship,
          stateNok: scholarship * s.scholarshipNok,
          ownerNok: 0,
          teacherNok: kr(scholarship * 60),
          stateFtes: Math.round(((scholarship * s.scholarshipNok) / s.nokPerFte) * 100) / 100,
          ownerFtes: 0,
          teacherFtes: fte(scholarship * 60),
        };
  return [substitute, sch];
}

/** The catalogue's insights of a year, counted from the raw documents, as shown by `show` and `total`. */
async function expected(year: number, show: (n: number) => number | null, total: (partitions: number[][]) => number | null, settings = DEFAULTS) {
  const studies = await find('studies', { year });
  const allocations = await find('allocations', { year });
  const requirements = await find('requirements');
  const offers = groupBy(studies, (s) => `${s.subject} ${s.gradeBand}`).map(([, list]) => ({
    subject: list[0]!.subject,
    gradeBand: list[0]!.gradeBand,
    // Exact for everyone: offers are not persons, and the catalogue lists them all.
    offers: list.length,
    cancelled: list.filter((s) => s.status === 'CANCELLED').length,
    places: list.filter((s) => s.status === 'OFFERED').reduce((sum, s) => sum + s.places, 0),
  }));
  const cells = (field: string) =>
    groupBy(allocations, (a) => a[field]).map(([key, list]) => ({
      key,
      funded: list.filter((a) => a.funded).length,
      notFunded: list.filter((a) => !a.funded).length,
    }));
  const shown = (field: string) => cells(field).map((c) => ({ key: c.key, funded: show(c.funded), notFunded: show(c.notFunded) }));
  const funded = (scheme: string, subjects: (s: string) => boolean) => allocations.filter((a) => a.funded && a.scheme === scheme && subjects(a.subject)).length;
  return {
    year,
    offers,
    funding: {
      funded: total(['county', 'subject', 'gradeBand'].map((p) => cells(p).map((c) => c.funded))),
      notFunded: total(['county', 'subject', 'gradeBand'].map((p) => cells(p).map((c) => c.notFunded))),
      bySubject: shown('subject'),
      byGradeBand: shown('gradeBand'),
      byCounty: shown('county'),
      split: split(
        show(funded('SUBSTITUTE', (s) => MATHS_AND_SCIENCE.includes(s))),
        show(funded('SUBSTITUTE', (s) => !MATHS_AND_SCIENCE.includes(s))),
        show(funded('SCHOLARSHIP', () => true)),
        settings,
      ),
    },
    requirements: requirements
      .filter((r) => r.inForceFrom <= `${year}-08-01`)
      .sort((a, b) => cmp(a.subject, b.subject) || cmp(a.gradeBand, b.gradeBand))
      .map((r) => ({ subject: r.subject, gradeBand: r.gradeBand, credits: r.credits })),
  };
}

/** Every count of persons of an answer: funded, notFunded and participants. */
function counts(insights: Doc): (number | null)[] {
  const f = insights.funding;
  return [
    f.funded,
    f.notFunded,
    ...[...f.bySubject, ...f.byGradeBand, ...f.byCounty].flatMap((c: Doc) => [c.funded, c.notFunded]),
    ...f.split.map((s: Doc) => s.participants),
  ];
}

const catalogueCommands = () =>
  h
    .takeCommands()
    .filter((c) => c.db === h.dbs.catalogue.databaseName)
    .map((c) => `${c.command} ${String(c.collection)}`)
    .sort();

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
  // A round of its own with small counts: a county with 3 funded, 2 maths participants on the substitute scheme.
  const round = (await find('rounds', { _id: 2024 }))[0]!;
  await h.dbs.catalogue.collection('rounds').insertOne({ ...round, _id: SMALL_YEAR } as never);
  const template = (await find('studies', { year: 2024, subject: 'MAT' }))[0]!;
  const study = (code: string, status: string, places: number) => ({
    ...template,
    _id: `${code}-${SMALL_YEAR}`,
    code,
    gradeBand: 'GRADES_1_7',
    year: SMALL_YEAR,
    status,
    places,
  });
  await h.dbs.catalogue
    .collection('studies')
    .insertMany([study('K2MAT1701', 'OFFERED', 30), study('K2MAT1702', 'CANCELLED', 25), study('K2MAT1703', 'OFFERED', 40)] as never[]);
  const allocation = (i: number, county: string, subject: string, funded: boolean, scheme: string | null) => ({
    _id: `a-small-${i}`,
    year: SMALL_YEAR,
    study: `K2MAT1701-${SMALL_YEAR}`,
    teacher: `t-small-${i}`,
    institution: template.institution,
    subject,
    gradeBand: 'GRADES_1_7',
    county,
    owner: county === '03' ? '0301' : '4601',
    funded,
    scheme,
    decidedAt: new Date(`${SMALL_YEAR}-04-20T12:00:00Z`),
  });
  await h.dbs.catalogue
    .collection('allocations')
    .insertMany([
      ...[0, 1, 2].map((i) => allocation(i, '03', 'ENG', true, 'SCHOLARSHIP')),
      ...[3, 4].map((i) => allocation(i, '46', 'MAT', true, 'SUBSTITUTE')),
      ...[5, 6, 7, 8, 9, 10, 11].map((i) => allocation(i, '46', 'ENG', true, 'SUBSTITUTE')),
      ...[12, 13, 14, 15, 16, 17].map((i) => allocation(i, '46', 'ENG', false, null)),
    ] as never[]);
  // Written around the subgraph: its figures are counted from the records again, as a bulk load does.
  await rebuildFigures(h.dbs, ['catalogue']);
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe("the catalogue's insights through the gateway", () => {
  it.each([2022, 2024])('gives the directorate the exact figures of %i', async (year) => {
    const res = await h.query(QUERY, { year }, { token: await h.token({ role: 'directorate' }) });
    const want = await expected(year, exact, exactTotal);
    expect(res).toMatchObject({ status: 200 });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ insights: want });
    // Every funded demo allocation has a scheme: the two splits add up to the funded total.
    expect(want.funding.split[0]!.participants! + want.funding.split[1]!.participants!).toBe(want.funding.funded);
    expect(want.offers.length).toBeGreaterThan(20);
    expect(want.funding.byCounty.length).toBe(15);
  });

  it.each([
    ['the public', undefined],
    ['a union', { role: 'union', org: 'UDF' }],
  ] as [string, Identity | undefined][])('shows %s counts of 5 or more rounded, the rest hidden, and derives money and FTEs from them', async (_, who) => {
    const token = who ? await h.token(who) : undefined;
    for (const year of [2022, 2024, SMALL_YEAR]) {
      const res = await h.query<{ insights: Doc }>(QUERY, { year }, token ? { token } : {});
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ insights: await expected(year, pub, pubTotal) });
      const shown = counts(res.data!.insights);
      expect(shown.every((n) => n === null || n % 5 === 0)).toBe(true);
      expect(shown.some((n) => n !== null && n > 0 && n < 5)).toBe(false);
      // The small year's county of 3 funded is hidden (the demo's years have no small funding cells).
      if (year === SMALL_YEAR) expect(shown).toContain(null);
    }
  });

  it("hides a total when one county is hidden and the split when a subject class is, but not the directorate's", async () => {
    const asPublic = await h.query<{ insights: Doc }>(QUERY, { year: SMALL_YEAR });
    expect(asPublic.data!.insights.funding).toMatchObject({
      funded: null,
      notFunded: 5,
      byCounty: [
        { key: '03', funded: null, notFunded: 0 },
        { key: '46', funded: 10, notFunded: 5 },
      ],
      split: [
        { scheme: 'SUBSTITUTE', participants: null, stateNok: null },
        { scheme: 'SCHOLARSHIP', participants: null, teacherNok: null },
      ],
    });
    // Offers are not persons: exact for everyone.
    expect(asPublic.data!.insights.offers).toEqual([{ subject: 'MAT', gradeBand: 'GRADES_1_7', offers: 3, cancelled: 1, places: 70 }]);
    const asUdir = await h.query<{ insights: Doc }>(QUERY, { year: SMALL_YEAR }, { token: await h.token({ role: 'directorate' }) });
    expect(asUdir.data!.insights.funding).toMatchObject({ funded: 12, notFunded: 6, split: split(2, 7, 3) });
    expect(asUdir.data!.insights.offers).toEqual([{ subject: 'MAT', gradeBand: 'GRADES_1_7', offers: 3, cancelled: 1, places: 70 }]);
  });

  it("uses the catalogue's own codes for maths and science", async () => {
    const subjects = new Map((await find('subjects')).map((s) => [s._id, s.name]));
    expect(MATHS_AND_SCIENCE.map((c) => subjects.get(c))).toEqual(['Matematikk', 'Naturfag']);
  });

  it("sends the same three database commands for any year, and for the whole trend: the year's figures are one read of maintained cells", async () => {
    const token = await h.token({ role: 'directorate' });
    const three = ['find figures', 'find requirements', 'find rounds'];
    for (const year of [2022, 2024]) {
      h.takeCommands();
      const res = await h.query(QUERY, { year }, { token });
      expect(res.errors).toBeUndefined();
      expect(catalogueCommands()).toEqual(three);
    }
    h.takeCommands();
    const trend = await h.query<{ insightsTrend: Doc[] }>(
      `{ insightsTrend { year offers { places } funding { funded split { stateNok } } requirements { credits } } }`,
      {},
      { token },
    );
    expect(trend.errors).toBeUndefined();
    expect(trend.data!.insightsTrend.length).toBe(4);
    expect(catalogueCommands()).toEqual(three);
  });

  it("lists one entry per round year, oldest first, with each year's own figures", async () => {
    const years = (await find('rounds')).map((r) => r._id as number).sort((a, b) => a - b);
    expect(years).toEqual([2022, 2023, 2024, SMALL_YEAR]);
    const res = await h.query<{ insightsTrend: Doc[] }>(`{ insightsTrend { year funding { funded } } }`, {}, { token: await h.token({ role: 'directorate' }) });
    expect(res.errors).toBeUndefined();
    const funded = await Promise.all(years.map(async (year) => (await find('allocations', { year, funded: true })).length));
    expect(res.data).toEqual({ insightsTrend: years.map((year, i) => ({ year, funding: { funded: funded[i] } })) });
  });

  it('is null for a year without a round, and refuses a year out of range', async () => {
    expect(await h.query(`{ insights(year: 2019) { year offers { places } } }`)).toMatchObject({ status: 200, data: { insights: null } });
    const bad = await h.query(`{ insights(year: 1850) { year } }`);
    expect(bad.data).toEqual({ insights: null });
    expect(bad.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('Insights as an entity of the catalogue', () => {
  it('answers _entities in key order, null for a year without a round or a bad key, in one command per collection', async () => {
    h.takeCommands();
    const udir = await h.querySubgraph<{ _entities: unknown[] }>(
      'catalogue',
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Insights { year funding { funded } requirements { subject } } } }`,
      { r: [2024, 2019, 2022, { $ne: null }, 'x'].map((year) => ({ __typename: 'Insights', year })) },
    );
    // One round lookup and one allocation aggregation for both years (the loaders batch them).
    const commands = catalogueCommands();
    const funded = async (year: number) => (await find('allocations', { year, funded: true })).length;
    const requirements = (await find('requirements')).map((r) => r.subject as string).sort();
    expect(udir.errors).toBeUndefined();
    expect(udir.data).toEqual({
      _entities: [
        { year: 2024, funding: { funded: await funded(2024) }, requirements: requirements.map((subject) => ({ subject })) },
        null,
        { year: 2022, funding: { funded: await funded(2022) }, requirements: requirements.map((subject) => ({ subject })) },
        null,
        null,
      ],
    });
    expect(commands).toEqual(['find figures', 'find requirements', 'find rounds']);
  });
});

describe('the insights configuration', () => {
  it('values the split with the salary cost and scholarship the subgraph is started with', async () => {
    const settings = { nokPerFte: 1_000_000, scholarshipNok: 100_000 };
    const own = await startSubgraph(catalogue as never, {
      db: h.dbs.catalogue,
      port: 0,
      development: true,
      gatewaySecret: h.secrets.catalogue,
      insights: settings,
    });
    try {
      const credential = await createCredentialSigner('catalogue', h.secrets.catalogue)({ role: 'directorate' });
      const res = await fetch(own.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [CREDENTIAL_HEADER]: credential },
        body: JSON.stringify({
          query: '{ insights(year: 2023) { funding { split { scheme participants stateNok ownerNok teacherNok stateFtes ownerFtes teacherFtes } } } }',
        }),
      });
      const want = await expected(2023, exact, exactTotal, settings);
      expect(await res.json()).toEqual({ data: { insights: { funding: { split: want.funding.split } } } });
      expect(want.funding.split).not.toEqual((await expected(2023, exact, exactTotal)).funding.split);
    } finally {
      await own.stop();
    }
  });
});
