import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '@partnerskap/gateway';
import { type Harness, startHarness } from './harness.js';
import { rebuildFigures } from '../demo/figures.js';

// The school owners' part of the strategy insights (plans): owner decisions per partition and
// teachers below the competence requirements, through the gateway over the demo data. Expected
// figures are counted here with plain find() and JavaScript, never with the subgraph's pipelines.
let h: Harness;
const YEARS = [2023, 2024] as const;
const round2 = (n: number) => Math.round(n * 100) / 100;
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const find = (partner: keyof Harness['dbs'], coll: string, filter: Record<string, unknown> = {}) =>
  h.dbs[partner].collection(coll).find(filter).toArray() as Promise<Record<string, any>[]>;

interface Counts {
  approved: number;
  refused: number;
  confirmed: number;
}
type Cell = { key: string; approved: number | null; refused: number | null; refusalRate: number | null; confirmed: number | null };

const CELL = 'key approved refused refusalRate confirmed';
const DECISIONS = `decisions { total { ${CELL} } bySubject { ${CELL} } byGradeBand { ${CELL} } byCounty { ${CELL} } byOwner { ${CELL} } reasons { reason count } }`;
/** The decision figures as every caller may select them: without the owners' rows (the directorate's only). */
const PUBLIC_DECISIONS = `decisions { total { ${CELL} } bySubject { ${CELL} } byGradeBand { ${CELL} } byCounty { ${CELL} } reasons { reason count } }`;
const COMPETENCE = 'competence { subject teachers below share }';
const INSIGHTS = `query($year: Int!) { insights(year: $year) { year ${DECISIONS} ${COMPETENCE} } }`;
const PUBLIC_INSIGHTS = `query($year: Int!) { insights(year: $year) { year ${PUBLIC_DECISIONS} ${COMPETENCE} } }`;

/** Hidden for callers other than the directorate: 1 to 4. */
const small = (n: number) => n > 0 && n < 5;
/** A count as the public sees it: hidden under 5, else rounded to the nearest 5. */
const pub = (n: number) => (n === 0 ? 0 : small(n) ? null : Math.round(n / 5) * 5);
/** A rate of shown counts, two decimals; null when one is hidden or the denominator 0. */
const rate = (part: number | null, whole: number | null) => (part === null || whole === null || whole === 0 ? null : round2(part / whole));

const countsOf = (docs: Record<string, any>[]): Counts => ({
  approved: docs.filter((d) => d.outcome === 'APPROVED').length,
  refused: docs.filter((d) => d.outcome === 'REJECTED').length,
  confirmed: docs.filter((d) => d.participationConfirmed === true).length,
});
const groupBy = <T>(items: T[], keyOf: (t: T) => string) => {
  const out = new Map<string, T[]>();
  for (const t of items) out.set(keyOf(t), [...(out.get(keyOf(t)) ?? []), t]);
  return [...out].sort(([a], [b]) => byKey(a, b));
};
const exactCell = (key: string, c: Counts): Cell => ({ key, ...c, refusalRate: rate(c.refused, c.approved + c.refused) });
const publicCell = (key: string, c: Counts): Cell => {
  const [approved, refused, confirmed] = [pub(c.approved), pub(c.refused), pub(c.confirmed)];
  return { key, approved, refused, confirmed, refusalRate: rate(refused, approved === null || refused === null ? null : approved + refused) };
};
/** The sum of cells as shown, null as soon as a cell of any of the partitions is 1 to 4. */
const addedUp = (cells: number[], partitions: number[][]) => (partitions.some((p) => p.some(small)) ? null : cells.reduce((a, n) => a + pub(n)!, 0));
/** A cell with the approvals replaced by a sum of studies' as shown (`addedUp`), the rate from them. */
const withApprovals = (cell: Cell, approved: number | null): Cell => ({
  ...cell,
  approved,
  refusalRate: rate(cell.refused, approved === null || cell.refused === null ? null : approved + cell.refused),
});

/** A year's decisions, counted from the raw documents. */
async function rawDecisions(year: number) {
  const docs = await find('plans', 'decisions', { year });
  const partition = (keyOf: (d: Record<string, any>) => string) => groupBy(docs, keyOf).map(([key, ds]) => ({ key, counts: countsOf(ds) }));
  return {
    total: countsOf(docs),
    bySubject: partition((d) => d.subject),
    byGradeBand: partition((d) => d.gradeBand),
    byCounty: partition((d) => d.county),
    byOwner: partition((d) => d.owner),
    byStudy: groupBy(docs, (d) => d.study).map(([key, ds]) => ({
      key,
      subject: ds[0]!.subject as string,
      gradeBand: ds[0]!.gradeBand as string,
      approved: countsOf(ds).approved,
    })),
    reasons: groupBy(
      docs.filter((d) => d.outcome === 'REJECTED'),
      (d) => d.reason,
    ).map(([reason, ds]) => ({ reason, count: ds.length })),
  };
}

/** What the directorate sees: every figure exact. */
function exactDecisions(year: number, raw: Awaited<ReturnType<typeof rawDecisions>>) {
  const cells = (p: { key: string; counts: Counts }[]) => p.map((c) => exactCell(c.key, c.counts));
  return {
    total: exactCell(String(year), raw.total),
    bySubject: cells(raw.bySubject),
    byGradeBand: cells(raw.byGradeBand),
    byCounty: cells(raw.byCounty),
    byOwner: cells(raw.byOwner),
    reasons: raw.reasons,
  };
}

/**
 * Which partitions shown beside the year's total have a cell with count `k` at 1 to 4: county,
 * subject, grade band and, for refusals, reason. (The owners' rows are the directorate's only: not
 * a partition others see.)
 */
function hidingPartitions(raw: Awaited<ReturnType<typeof rawDecisions>>, k: keyof Counts): string[] {
  const hiding = (['byCounty', 'bySubject', 'byGradeBand'] as const).filter((p) => raw[p].some((c) => small(c.counts[k])));
  return k === 'refused' && raw.reasons.some((r) => small(r.count)) ? [...hiding, 'reasons'] : hiding;
}

/**
 * What everyone but the directorate sees (without the owners' rows, which are the owner's and the
 * directorate's only): every cell, counties included, hidden or rounded on its own, but approvals
 * per subject and grade band the sum of their studies' (`Study.approvedApplications`) as shown; the
 * year's total the sum of a partition's cells as shown (the studies' approvals, the counties'
 * refusals and confirmations), hidden per count as soon as a cell of a partition shown beside it is
 * (the total minus the other cells would narrow it down).
 */
function publicDecisions(year: number, raw: Awaited<ReturnType<typeof rawDecisions>>) {
  const studies = (keep: (s: { subject: string; gradeBand: string }) => boolean) => raw.byStudy.filter(keep).map((s) => s.approved);
  const addingUp = (p: { key: string; counts: Counts }[], field: 'subject' | 'gradeBand') =>
    p.map((c) =>
      withApprovals(
        publicCell(c.key, c.counts),
        addedUp(
          studies((s) => s[field] === c.key),
          [studies((s) => s[field] === c.key)],
        ),
      ),
    );
  const parts = (k: keyof Counts) => [raw.byCounty, raw.bySubject, raw.byGradeBand].map((p) => p.map((c) => c.counts[k]));
  const all = studies(() => true);
  const refusedParts = [...parts('refused'), raw.reasons.map((r) => r.count)];
  const confirmed = parts('confirmed');
  const total = withApprovals(
    { key: String(year), approved: null, refused: addedUp(refusedParts[0]!, refusedParts), refusalRate: null, confirmed: addedUp(confirmed[0]!, confirmed) },
    addedUp(all, [all, ...parts('approved')]),
  );
  return {
    total,
    bySubject: addingUp(raw.bySubject, 'subject'),
    byGradeBand: addingUp(raw.byGradeBand, 'gradeBand'),
    byCounty: raw.byCounty.map((c) => publicCell(c.key, c.counts)),
    reasons: raw.reasons.map((r) => ({ reason: r.reason, count: pub(r.count) })),
  };
}

// The levels each requirement governs, as the regulation reads: 30 credits for years 1-7, 60 for 8-10, 60 in upper secondary.
const REQUIREMENT_LEVELS: Record<string, number[]> = {
  GRADES_1_7: [1, 2, 3, 4, 5, 6, 7],
  GRADES_5_10: [8, 9, 10],
  GRADES_8_13: [11, 12, 13],
};
type Rule = { subject: string; gradeBand: string; credits: number };
let teachers: Promise<Record<string, any>[]> | undefined;

/**
 * Teachers below the requirements, teacher by teacher: a subject's rules apply to a teacher who
 * teaches it at a level one of them governs; the credits required are the highest of those
 * rules; the credits held are the teacher's entry for the subject (none is 0).
 */
async function rawCompetence(rules: Rule[]) {
  // Teachers carry no year and no test writes them: read once.
  teachers ??= find('plans', 'teachers');
  const all = await teachers;
  const rows = new Map<string, { teachers: number; below: number }>();
  for (const subject of [...new Set(rules.map((r) => r.subject))]) {
    for (const t of all) {
      const levels = new Set(t.teaches.filter((x: any) => x.subject === subject).flatMap((x: any) => x.gradeLevels as number[]));
      const applicable = rules.filter((r) => r.subject === subject && REQUIREMENT_LEVELS[r.gradeBand]!.some((l) => levels.has(l)));
      if (applicable.length === 0) continue;
      const required = Math.max(...applicable.map((r) => r.credits));
      const held = t.credits.find((c: any) => c.subject === subject)?.credits ?? 0;
      const row = rows.get(subject) ?? { teachers: 0, below: 0 };
      rows.set(subject, row);
      row.teachers++;
      if (held < required) row.below++;
    }
  }
  return [...rows].sort(([a], [b]) => byKey(a, b)).map(([subject, r]) => ({ subject, ...r }));
}

/** The catalogue's requirements in force in a year, read with find(). */
async function rulesOf(year: number): Promise<Rule[]> {
  return (await find('catalogue', 'requirements'))
    .filter((r) => r.inForceFrom <= `${year}-08-01`)
    .map((r) => ({ subject: r.subject, gradeBand: r.gradeBand, credits: r.credits }));
}

const exactCompetence = (rows: Awaited<ReturnType<typeof rawCompetence>>) => rows.map((r) => ({ ...r, share: rate(r.below, r.teachers) }));
const publicCompetence = (rows: Awaited<ReturnType<typeof rawCompetence>>) =>
  rows.map((r) => ({ subject: r.subject, teachers: pub(r.teachers), below: pub(r.below), share: rate(pub(r.below), pub(r.teachers)) }));

/** Every count of an answer: numbers under these field names, wherever they are. */
function countsIn(value: unknown, out: (number | null)[] = []): (number | null)[] {
  if (Array.isArray(value)) for (const v of value) countsIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (['approved', 'refused', 'confirmed', 'count', 'teachers', 'below'].includes(k) && (typeof v === 'number' || v === null)) out.push(v);
      else countsIn(v, out);
    }
  }
  return out;
}

beforeAll(async () => {
  // The trend's competence is priced once per year though computed once: this file counts commands, not costs.
  h = await startHarness({ seedProjections: false, gateway: { limits: { ...DEFAULT_LIMITS, cost: 100_000, partnerCost: 100_000 } } });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('the owners’ decisions and the competence figures, as the directorate', () => {
  it.each(YEARS)('%i: agree with counts made from the raw decisions, teachers and requirements', async (year) => {
    const raw = await rawDecisions(year);
    const res = await h.query<any>(INSIGHTS, { year }, { token: await h.token({ role: 'directorate' }) });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      insights: { year, decisions: exactDecisions(year, raw), competence: exactCompetence(await rawCompetence(await rulesOf(year))) },
    });
    // The demo data has what the figures are about: refusals for every reason, confirmations, several counties.
    expect(raw.reasons.map((r) => r.reason)).toEqual(['COST', 'INCOMPLETE_APPLICATION', 'OTHER', 'PRIORITIES']);
    expect(raw.total.confirmed).toBeGreaterThan(0);
    expect(raw.byCounty.length).toBeGreaterThan(10);
  });

  it('computes competence from the rules the representation brings: the highest rule covering a taught level, 0 credits binding nobody', async () => {
    // A made-up rule set, sent as the gateway would: English 30 for 1-7 but 60 for 8-13, maths 45
    // for 5-10 only, Norwegian 0 (it applies, nobody is below it), and a subject nobody teaches.
    const rules: Rule[] = [
      { subject: 'ENG', gradeBand: 'GRADES_1_7', credits: 30 },
      { subject: 'ENG', gradeBand: 'GRADES_8_13', credits: 60 },
      { subject: 'MAT', gradeBand: 'GRADES_5_10', credits: 45 },
      { subject: 'NOR', gradeBand: 'GRADES_1_7', credits: 0 },
      { subject: 'XYZ', gradeBand: 'GRADES_1_7', credits: 30 },
    ];
    const expected = exactCompetence(await rawCompetence(rules));
    expect(expected.map((r) => r.subject)).toEqual(['ENG', 'MAT', 'NOR']);
    expect(expected.find((r) => r.subject === 'NOR')!.below).toBe(0);
    const res = await h.querySubgraph<any>(
      'plans',
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Insights { competence { subject teachers below share } } } }',
      {
        r: [{ __typename: 'Insights', year: 2024, requirements: rules }],
      },
    );
    expect(res).toMatchObject({ data: { _entities: [{ competence: expected }] } });
    expect(res.errors).toBeUndefined();
  });

  it('refuses a malformed requirement in the representation instead of querying with it', async () => {
    const res = await h.querySubgraph<any>('plans', 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Insights { competence { subject } } } }', {
      r: [{ __typename: 'Insights', year: 2024, requirements: [{ subject: { $ne: null }, gradeBand: 'GRADES_1_7', credits: 30 }] }],
    });
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('small-number suppression', () => {
  it.each([
    ['the public', null],
    ['a union', { role: 'union' as const, org: 'UDF' }],
    ['a school owner', { role: 'school-owner' as const, org: '4601' }],
  ])('as %s: every cell, counties included, hidden or rounded; the total by the partitions beside it; rates from the shown counts', async (_, identity) => {
    let shownDespiteAnOwner = 0;
    for (const year of YEARS) {
      const raw = await rawDecisions(year);
      const res = await h.query<any>(PUBLIC_INSIGHTS, { year }, identity ? { token: await h.token(identity) } : {});
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({
        insights: { year, decisions: publicDecisions(year, raw), competence: publicCompetence(await rawCompetence(await rulesOf(year))) },
      });
      const counts = countsIn(res.data);
      expect(counts.length).toBeGreaterThan(50);
      expect(counts.every((n) => n === null || n % 5 === 0)).toBe(true);
      // Rounding shows: some county's shown counts differ from the exact ones.
      expect(raw.byCounty.some((c) => publicCell(c.key, c.counts).approved !== c.counts.approved)).toBe(true);
      for (const k of ['approved', 'refused', 'confirmed'] as const) {
        const shown = res.data.insights.decisions.total[k];
        if (shown !== null && shown !== 0 && raw.byOwner.some((o) => small(o.counts[k]))) shownDespiteAnOwner++;
      }
    }
    // The demo's counties, subjects, grade bands and reasons are never 1 to 4 (the next test makes
    // some that are), while many owners' counts are: the totals show, rounded, since the owners'
    // rows are not a partition these callers see.
    expect(shownDespiteAnOwner).toBe(6);
  });

  describe('with small cells beside the total (decisions of years the demo has none in, through the plans subgraph)', () => {
    const SCRATCH = [2031, 2032];
    const DIRECT = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Insights { year ${PUBLIC_DECISIONS} } } }`;
    let n = 0;
    /** `count` decisions of one owner, county, subject and grade band. */
    const decisions = (
      count: number,
      d: {
        year: number;
        owner: string;
        county: string;
        subject: string;
        gradeBand: string;
        outcome: 'APPROVED' | 'REJECTED';
        reason?: string;
        confirmed?: number;
      },
    ) =>
      Array.from({ length: count }, (_, i) => ({
        _id: `scratch-${++n}`,
        owner: d.owner,
        teacher: `t-scratch-${n}`,
        study: `S-SCRATCH-${d.subject}-${d.gradeBand}-${d.year}`,
        institution: 'inst-scratch',
        year: d.year,
        subject: d.subject,
        gradeBand: d.gradeBand,
        county: d.county,
        outcome: d.outcome,
        reason: d.outcome === 'REJECTED' ? d.reason! : null,
        rank: null,
        fundingScheme: null,
        decidedAt: new Date(`${d.year - 1}-06-01T10:00:00Z`),
        participationConfirmed: i < (d.confirmed ?? 0),
        confirmedAt: i < (d.confirmed ?? 0) ? new Date(`${d.year - 1}-06-15T10:00:00Z`) : null,
      }));

    beforeAll(async () => {
      const coll = h.dbs.plans.collection('decisions');
      expect(await coll.countDocuments({ year: { $in: SCRATCH } })).toBe(0);
      const [y1, y2] = SCRATCH as [number, number];
      await coll.insertMany([
        // 2031: county 03's approvals are 3, MAT's refusals 2, grades 1-7's confirmations 1; every
        // other cell of every partition shows.
        ...decisions(20, { year: y1, owner: '4601', county: '46', subject: 'ENG', gradeBand: 'GRADES_8_13', outcome: 'APPROVED', confirmed: 10 }),
        ...decisions(10, { year: y1, owner: '4601', county: '46', subject: 'ENG', gradeBand: 'GRADES_8_13', outcome: 'REJECTED', reason: 'COST' }),
        ...decisions(3, { year: y1, owner: '0301', county: '03', subject: 'ENG', gradeBand: 'GRADES_8_13', outcome: 'APPROVED' }),
        ...decisions(2, { year: y1, owner: '4601', county: '46', subject: 'MAT', gradeBand: 'GRADES_8_13', outcome: 'REJECTED', reason: 'COST' }),
        ...decisions(6, { year: y1, owner: '4601', county: '46', subject: 'ENG', gradeBand: 'GRADES_1_7', outcome: 'APPROVED', confirmed: 1 }),
        // 2032: two owners of one county with 3 and 4 approvals (a county of 7), and refusals of
        // 5 for cost and 2 for another reason.
        ...decisions(3, { year: y2, owner: '4601', county: '46', subject: 'ENG', gradeBand: 'GRADES_8_13', outcome: 'APPROVED', confirmed: 3 }),
        ...decisions(4, { year: y2, owner: '4602', county: '46', subject: 'ENG', gradeBand: 'GRADES_8_13', outcome: 'APPROVED', confirmed: 4 }),
        ...decisions(3, { year: y2, owner: '4601', county: '46', subject: 'ENG', gradeBand: 'GRADES_8_13', outcome: 'REJECTED', reason: 'COST' }),
        ...decisions(2, { year: y2, owner: '4602', county: '46', subject: 'ENG', gradeBand: 'GRADES_8_13', outcome: 'REJECTED', reason: 'COST' }),
        ...decisions(2, { year: y2, owner: '4602', county: '46', subject: 'ENG', gradeBand: 'GRADES_8_13', outcome: 'REJECTED', reason: 'OTHER' }),
      ] as never[]);
      // Written around the subgraph: its figures are counted from the records again, as a bulk load does.
      await rebuildFigures(h.dbs, ['plans']);
    });
    afterAll(async () => {
      await h.dbs.plans.collection('decisions').deleteMany({ year: { $in: SCRATCH } });
      await rebuildFigures(h.dbs, ['plans']);
    });

    it.each([
      ['the public', { role: 'public' as const }],
      ['a union', { role: 'union' as const, org: 'UDF' }],
      ['a school owner', { role: 'school-owner' as const, org: '4601' }],
    ])('as %s: a hidden county, subject, grade band or reason cell hides that count of the total; an owner’s alone does not', async (_, identity) => {
      const raws = await Promise.all(SCRATCH.map((y) => rawDecisions(y)));
      // The scratch data is what the comments above say: each count of the total has its partition hiding it.
      expect(raws.map((raw) => (['approved', 'refused', 'confirmed'] as const).map((k) => hidingPartitions(raw, k)))).toEqual([
        [['byCounty'], ['bySubject'], ['byGradeBand']],
        [[], ['reasons'], []],
      ]);
      expect(raws[1]!.byOwner.map((o) => o.counts.approved)).toEqual([3, 4]);
      const res = await h.querySubgraph<any>('plans', DIRECT, { r: SCRATCH.map((year) => ({ __typename: 'Insights', year })) }, { as: identity });
      expect(res.errors).toBeUndefined();
      expect(res.data._entities).toEqual(SCRATCH.map((year, i) => ({ year, decisions: publicDecisions(year, raws[i]!) })));
      // Spelled out: 2031's counts all hidden; 2032's approvals and confirmations shown rounded
      // (7 as 5) although both owners' are 1 to 4, its refusals hidden by the reason OTHER (2).
      expect(res.data._entities.map((e: any) => e.decisions.total)).toEqual([
        { key: '2031', approved: null, refused: null, refusalRate: null, confirmed: null },
        { key: '2032', approved: 5, refused: null, refusalRate: null, confirmed: 5 },
      ]);
      expect(res.data._entities[0].decisions.byCounty).toEqual([
        { key: '03', approved: null, refused: 0, refusalRate: null, confirmed: 0 },
        { key: '46', approved: 25, refused: 10, refusalRate: 0.29, confirmed: 10 },
      ]);
    });

    it('as the directorate: every total exact', async () => {
      const raws = await Promise.all(SCRATCH.map((y) => rawDecisions(y)));
      const res = await h.querySubgraph<any>(
        'plans',
        DIRECT.replace('reasons {', `byOwner { ${CELL} } reasons {`),
        { r: SCRATCH.map((year) => ({ __typename: 'Insights', year })) },
        { as: { role: 'directorate' } },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data._entities).toEqual(SCRATCH.map((year, i) => ({ year, decisions: exactDecisions(year, raws[i]!) })));
      expect(res.data._entities.map((e: any) => e.decisions.total)).toEqual([
        { key: '2031', approved: 29, refused: 12, refusalRate: 0.29, confirmed: 11 },
        { key: '2032', approved: 7, refused: 7, refusalRate: 0.5, confirmed: 7 },
      ]);
    });
  });
});

describe('the owners’ rows of the decision figures', () => {
  const BY_OWNER = `query($year: Int!) { insights(year: $year) { year decisions { total { ${CELL} } byOwner { ${CELL} } } } }`;
  const DIRECT = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Insights { year decisions { byOwner { ${CELL} } } } } }`;

  it.each([
    ['the public', null, 401, 'UNAUTHENTICATED'],
    ['a union', { role: 'union' as const, org: 'UDF' }, 403, 'FORBIDDEN'],
    ['a school owner', { role: 'school-owner' as const, org: '4601' }, 403, 'FORBIDDEN'],
  ] as const)(
    'are refused to %s: the whole operation before planning, with no database command, and by the subgraph called directly',
    async (_, identity, status, code) => {
      h.takeCommands();
      const res = await h.query(BY_OWNER, { year: 2024 }, identity ? { token: await h.token(identity) } : {});
      expect(res.status).toBe(status);
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual([code]);
      expect(h.takeCommands()).toEqual([]);
      const direct = await h.querySubgraph<any>('plans', DIRECT, { r: [{ __typename: 'Insights', year: 2024 }] }, { as: identity ?? { role: 'public' } });
      expect(direct.errors?.map((e) => e.extensions?.code)).toEqual([code]);
      expect(direct.data?._entities?.[0]?.decisions?.byOwner ?? null).toBeNull();
      expect(h.takeCommands().filter((c) => c.db === h.dbs.plans.databaseName)).toEqual([]);
    },
  );

  it('are the directorate’s: every owner’s cell, exact', async () => {
    const raw = await rawDecisions(2024);
    const res = await h.query<any>(BY_OWNER, { year: 2024 }, { token: await h.token({ role: 'directorate' }) });
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(res.data.insights.decisions).toEqual({ total: exactCell('2024', raw.total), byOwner: raw.byOwner.map((o) => exactCell(o.key, o.counts)) });
    // Some owners' cells hold counts of 1 to 4 that only the directorate may see.
    expect(raw.byOwner.some((o) => small(o.counts.approved))).toBe(true);
  });
});

describe('one school owner’s decisions', () => {
  const OWNER = '4601';
  const OTHER = '0301';
  const PICTURE = `query($owner: ID!, $year: Int!) { schoolOwner(id: $owner) { plan(year: $year) { priorities { subject { code } gradeBand targetTeachers } } decisionFigures(year: $year) { ${CELL} } } }`;
  const countsOfOwner = async (owner: string, year: number) => countsOf(await find('plans', 'decisions', { owner, year }));

  it('gives the owner its plan targets and its own decisions, exact, in one request', async () => {
    const token = await h.token({ role: 'school-owner', org: OWNER });
    for (const year of YEARS) {
      const plan = (await find('plans', 'plans', { owner: OWNER, year }))[0];
      const counts = await countsOfOwner(OWNER, year);
      const res = await h.query(PICTURE, { owner: OWNER, year }, { token });
      expect(res).toMatchObject({
        data: {
          schoolOwner: {
            plan: plan
              ? { priorities: plan.priorities.map((p: any) => ({ subject: { code: p.subject }, gradeBand: p.gradeBand, targetTeachers: p.targetTeachers })) }
              : null,
            decisionFigures: exactCell(OWNER, counts),
          },
        },
      });
      expect(res.errors).toBeUndefined();
      // Bergen decided on applications that year: the cell is not an empty one.
      expect(counts.approved + counts.refused).toBeGreaterThan(0);
    }
  });

  it('refuses another owner’s decisions (FORBIDDEN) and the public every owner’s, shows the directorate every owner’s exact, and an owner with no decisions zeros', async () => {
    const asOwner = await h.token({ role: 'school-owner', org: OWNER });
    const asDirectorate = await h.token({ role: 'directorate' });
    const query = `query($a: ID!, $b: ID!, $year: Int!) { a: schoolOwner(id: $a) { decisionFigures(year: $year) { ${CELL} } } b: schoolOwner(id: $b) { decisionFigures(year: $year) { ${CELL} } } }`;
    const year = 2024;
    const own = await countsOfOwner(OWNER, year);
    const other = await countsOfOwner(OTHER, year);
    // Every owner's row, even rounded, beside the totals would narrow hidden cells down: owners' rows
    // are the owner's and the directorate's only, here as in `byOwner`.
    const mine = await h.query(query, { a: OWNER, b: OTHER, year }, { token: asOwner });
    expect(mine).toMatchObject({ data: { a: { decisionFigures: exactCell(OWNER, own) }, b: { decisionFigures: null } } });
    expect(mine.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['b', 'decisionFigures'], 'FORBIDDEN']]);
    const anonymous = await h.query(query, { a: OWNER, b: OTHER, year }, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(await h.query(query, { a: OWNER, b: OTHER, year }, { token: asDirectorate })).toMatchObject({
      data: { a: { decisionFigures: exactCell(OWNER, own) }, b: { decisionFigures: exactCell(OTHER, other) } },
    });
    // Exact and rounded differ for these owners, so the assertions above tell them apart.
    expect([exactCell(OWNER, own), exactCell(OTHER, other)]).not.toEqual([publicCell(OWNER, own), publicCell(OTHER, other)]);
    const none = await h.query(query, { a: OWNER, b: OTHER, year: 2030 }, { token: asDirectorate });
    expect(none).toMatchObject({ data: { a: { decisionFigures: { key: OWNER, approved: 0, refused: 0, refusalRate: null, confirmed: 0 } } } });
  });

  it('sends one read of maintained cells for the figures of a whole page of owners', async () => {
    const token = await h.token({ role: 'directorate' });
    const query = `query($first: Int!) { schoolOwners(first: $first) { edges { node { id decisionFigures(year: 2024) { approved } } } } }`;
    const commands = async (first: number) => {
      h.takeCommands();
      const res = await h.query<any>(query, { first }, { token });
      expect(res.errors).toBeUndefined();
      expect(res.data.schoolOwners.edges).toHaveLength(first);
      return h.takeCommands().filter((c) => c.db === h.dbs.plans.databaseName && ['decisions', 'figures'].includes(String(c.collection)));
    };
    expect(await commands(5)).toEqual([expect.objectContaining({ command: 'find', collection: 'figures' })]);
    expect(await commands(50)).toEqual([expect.objectContaining({ command: 'find', collection: 'figures' })]);
  });
});

describe('database commands', () => {
  it('are a fixed few reads of maintained cells for the insights query, the same for every year', async () => {
    const token = await h.token({ role: 'directorate' });
    const plansCommands = async (query: string, variables: Record<string, unknown>) => {
      h.takeCommands();
      const res = await h.query(query, variables, { token });
      expect(res.errors).toBeUndefined();
      return h
        .takeCommands()
        .filter((c) => c.db === h.dbs.plans.databaseName)
        .map((c) => `${c.command} ${String(c.collection)}`)
        .sort();
    };
    const fixed = ['find figures', 'find figures', 'find figures'];
    for (const year of YEARS) expect(await plansCommands(INSIGHTS, { year })).toEqual(fixed);
    // Every year of the trend at once: the years share the reads, and the same rules one competence computation.
    expect(await plansCommands(`{ insightsTrend { year ${DECISIONS} ${COMPETENCE} } }`, {})).toEqual(fixed);
  });
});
