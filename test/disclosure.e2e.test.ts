import { type Identity, shownCount } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AverageRule, type Published, type SearchResult, type Structure, type TotalHidden, search } from './disclosure-search.js';
import { type Harness, startHarness } from './harness.js';

// The disclosure rule (docs/frontend.md: Who sees what) tried the way an attacker would: every figure the
// public (no token) may read about the demo data's three years, through the gateway, turned into
// integer constraints and searched for a count that has one value left (./disclosure-search.ts).
// The same search over the same figures published by the old rule (totals rounded on their own,
// averages to one decimal) must find some, so that this test cannot pass vacuously. The true
// figures come from the directorate's answers and, for rating sums, the feedback itself: the search
// must never rule the truth out.
let h: Harness;
let publicAnswers: Answers;
beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
  publicAnswers = await answersAs(null);
}, 180_000);
afterAll(async () => {
  await h?.close();
});

const YEARS = [2022, 2023, 2024];
const APP_FIELDS = ['applications', 'admitted', 'waitlisted', 'rejected', 'withdrawn', 'completed'] as const;
/** The funnel's counts the API also shows per study: a subject's add up from those. */
const STUDY_FIELDS = new Set(['applications', 'admitted', 'waitlisted']);
/** The owner's share of the substitute scheme's NOK per participant in other subjects (15 % of 0.375 FTE at NOK 850,000). */
const OWNER_NOK_PER_OTHER = (15 * 375 * 850_000) / 100_000;

const RATING = 'count average byTopic { topic count average }';
const STUDIES = `query($year: Int!, $after: String) { studies(filter: { year: $year }, first: 50, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id gradeBand subject { code } places applicants admitted waitlisted vacantSeats approvedApplications rating { ${RATING} } } } } }`;
const SUBJECTS = `{ subjects { code rating { ${RATING} } } }`;
// Two operations, each within the gateway's cost limit.
const INSIGHTS = [
  `query($year: Int!) { insights(year: $year) {
  applications { total { ...F } bySubject { ...F } byGradeBand { ...F } byCounty { ...F } }
  vacantSeats { subject places admitted vacant }
  decisions { total { ...D } bySubject { ...D } byGradeBand { ...D } byCounty { ...D } reasons { reason count } } } }
fragment F on FunnelCell { key applications admitted waitlisted rejected withdrawn completed }
fragment D on DecisionCell { key approved refused refusalRate confirmed }`,
  `query($year: Int!) { insights(year: $year) {
  funding { funded notFunded bySubject { ...U } byGradeBand { ...U } byCounty { ...U } split { scheme participants ownerNok } }
  competence { subject teachers below share }
  ratings { overall { ...R } bySubject { key rating { ...R } } byCounty { key rating { ...R } } } } }
fragment U on FundingCell { key funded notFunded }
fragment R on RatingSummary { ${RATING} }`,
];

type Count = number | null;
interface Summary {
  count: Count;
  average: number | null;
  byTopic: { topic: string; count: Count; average: number | null }[];
}
interface Study {
  id: string;
  gradeBand: string;
  subject: { code: string };
  places: number;
  applicants: Count;
  admitted: Count;
  waitlisted: Count;
  vacantSeats: Count;
  approvedApplications: Count;
  rating: Summary;
}
type Keyed<T> = T & { key: string };
type Funnel = Record<(typeof APP_FIELDS)[number], Count>;
interface Decisions {
  approved: Count;
  refused: Count;
  refusalRate: number | null;
  confirmed: Count;
}
interface Insights {
  applications: { total: Funnel; bySubject: Keyed<Funnel>[]; byGradeBand: Keyed<Funnel>[]; byCounty: Keyed<Funnel>[] };
  vacantSeats: { subject: string; places: number | null; admitted: Count; vacant: Count }[];
  decisions: {
    total: Decisions;
    bySubject: Keyed<Decisions>[];
    byGradeBand: Keyed<Decisions>[];
    byCounty: Keyed<Decisions>[];
    reasons: { reason: string; count: Count }[];
  };
  funding: {
    funded: Count;
    notFunded: Count;
    bySubject: Keyed<{ funded: Count; notFunded: Count }>[];
    byGradeBand: Keyed<{ funded: Count; notFunded: Count }>[];
    byCounty: Keyed<{ funded: Count; notFunded: Count }>[];
    split: { scheme: string; participants: Count; ownerNok: number | null }[];
  };
  competence: { subject: string; teachers: Count; below: Count; share: number | null }[];
  ratings: { overall: Summary; bySubject: { key: string; rating: Summary }[]; byCounty: { key: string; rating: Summary }[] };
}
/** Everything one caller may read about the demo years. */
interface Answers {
  studies: Map<number, Study[]>;
  subjects: { code: string; rating: Summary }[];
  insights: Map<number, Insights>;
}

async function answersAs(identity: Identity | null): Promise<Answers> {
  const token = identity ? await h.token(identity) : undefined;
  const ask = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const res = await h.query<T>(query, variables, token ? { token } : {});
    expect(res.errors).toBeUndefined();
    return res.data!;
  };
  const studies = new Map<number, Study[]>();
  const insights = new Map<number, Insights>();
  for (const year of YEARS) {
    const rows: Study[] = [];
    let after: string | null = null;
    do {
      const page: { studies: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: Study }[] } } = await ask(STUDIES, { year, after });
      rows.push(...page.studies.edges.map((e) => e.node));
      after = page.studies.pageInfo.hasNextPage ? page.studies.pageInfo.endCursor : null;
    } while (after);
    studies.set(year, rows);
    const parts = await Promise.all(INSIGHTS.map((q) => ask<{ insights: Partial<Insights> }>(q, { year })));
    insights.set(year, Object.assign({}, ...parts.map((p) => p.insights)) as Insights);
  }
  const { subjects } = await ask<{ subjects: { code: string; rating: Summary }[] }>(SUBJECTS, {});
  return { studies, subjects, insights };
}

/** The figures of some answers by name, and (from the directorate's, the same names) the structure they have. */
function publishedOf(a: Answers): { published: Published; structure: Structure } {
  const counts = new Map<string, Count>();
  const averages = new Map<string, number | null>();
  const structure: Structure = { cells: new Set(), totals: new Map(), rated: new Set(), atMost: [] };
  const cell = (name: string, shown: Count) => {
    counts.set(name, shown);
    structure.cells.add(name);
  };
  const total = (name: string, shown: Count | undefined, partitions: string[][], whenHidden: TotalHidden = 'hidden-cell') => {
    if (shown !== undefined) counts.set(name, shown);
    structure.totals.set(name, { partitions, whenHidden });
  };
  /** A rating summary: its count (a cell, or a total of the partitions' summaries), average and topics. */
  const rated = (name: string, s: Summary, partitions?: string[][]) => {
    if (partitions) total(name, s.count, partitions);
    else cell(name, s.count);
    averages.set(name, s.average);
    structure.rated.add(name);
    for (const t of s.byTopic) {
      const topic = `${name}:${t.topic}`;
      if (partitions)
        total(
          topic,
          t.count,
          partitions.map((p) => p.map((q) => `${q}:${t.topic}`).filter((q) => topicNames.has(q))),
        );
      else cell(topic, t.count);
      topicNames.add(topic);
      averages.set(topic, t.average);
      structure.rated.add(topic);
      structure.atMost.push([topic, name]);
    }
  };
  const topicNames = new Set<string>();
  const keyed = <T>(rows: Keyed<T>[]) => new Map(rows.map((r) => [r.key, r]));

  const studiesOfSubject = new Map<string, string[]>();
  for (const year of YEARS) {
    const studies = a.studies.get(year)!;
    for (const s of studies) {
      for (const f of STUDY_FIELDS) cell(`app:study:${s.id}:${f}`, f === 'applications' ? s.applicants : f === 'admitted' ? s.admitted : s.waitlisted);
      cell(`dec:study:${s.id}:approved`, s.approvedApplications);
      rated(`r:study:${s.id}`, s.rating);
      studiesOfSubject.set(s.subject.code, [...(studiesOfSubject.get(s.subject.code) ?? []), `r:study:${s.id}`]);
    }
    const ids = (filter: (s: Study) => boolean) => studies.filter(filter).map((s) => s.id);
    const i = a.insights.get(year)!;

    // Applications: per study (above), subject, grade band, county; the year's total.
    const app = i.applications;
    for (const f of APP_FIELDS) {
      const parts = { subject: [] as string[], band: [] as string[], county: [] as string[] };
      const part = (kind: 'subject' | 'band', key: string, shown: Count, studyIds: string[]) => {
        const name = `app:${kind}:${year}:${key}:${f}`;
        if (STUDY_FIELDS.has(f)) total(name, shown, [studyIds.map((id) => `app:study:${id}:${f}`)], 'small');
        else cell(name, shown);
        parts[kind].push(name);
      };
      for (const c of app.bySubject)
        part(
          'subject',
          c.key,
          c[f],
          ids((s) => s.subject.code === c.key),
        );
      for (const c of app.byGradeBand)
        part(
          'band',
          c.key,
          c[f],
          ids((s) => s.gradeBand === c.key),
        );
      for (const c of app.byCounty) {
        cell(`app:county:${year}:${c.key}:${f}`, c[f]);
        parts.county.push(`app:county:${year}:${c.key}:${f}`);
      }
      const studyPart = STUDY_FIELDS.has(f) ? [studies.map((s) => `app:study:${s.id}:${f}`)] : [];
      total(`app:total:${year}:${f}`, app.total[f], [...studyPart, parts.county, parts.subject, parts.band]);
    }

    // Decisions: approvals per study (above); every count per subject, grade band and county; refusals per reason.
    const dec = i.decisions;
    for (const k of ['approved', 'refused', 'confirmed'] as const) {
      const parts = { subject: [] as string[], band: [] as string[], county: [] as string[] };
      const part = (kind: 'subject' | 'band', key: string, shown: Count, studyIds: string[]) => {
        const name = `dec:${kind}:${year}:${key}:${k}`;
        if (k === 'approved') total(name, shown, [studyIds.map((id) => `dec:study:${id}:approved`)], 'small');
        else cell(name, shown);
        parts[kind].push(name);
      };
      for (const c of dec.bySubject)
        part(
          'subject',
          c.key,
          c[k],
          ids((s) => s.subject.code === c.key),
        );
      for (const c of dec.byGradeBand)
        part(
          'band',
          c.key,
          c[k],
          ids((s) => s.gradeBand === c.key),
        );
      for (const c of dec.byCounty) {
        cell(`dec:county:${year}:${c.key}:${k}`, c[k]);
        parts.county.push(`dec:county:${year}:${c.key}:${k}`);
      }
      const extra = k === 'approved' ? [studies.map((s) => `dec:study:${s.id}:approved`)] : [];
      if (k === 'refused') {
        for (const r of dec.reasons) cell(`dec:reason:${year}:${r.reason}`, r.count);
        extra.push(dec.reasons.map((r) => `dec:reason:${year}:${r.reason}`));
      }
      total(`dec:total:${year}:${k}`, dec.total[k], [
        ...(k === 'approved' ? extra : []),
        parts.county,
        parts.subject,
        parts.band,
        ...(k === 'refused' ? extra : []),
      ]);
    }

    // Funding: per subject, grade band and county; the year's totals; participants per scheme.
    const fund = i.funding;
    for (const k of ['funded', 'notFunded'] as const) {
      const part = (kind: string, rows: Keyed<{ funded: Count; notFunded: Count }>[]) =>
        rows.map((c) => {
          cell(`fund:${kind}:${year}:${c.key}:${k}`, c[k]);
          return `fund:${kind}:${year}:${c.key}:${k}`;
        });
      const county = part('county', fund.byCounty);
      total(`fund:total:${year}:${k}`, fund[k], [county, part('subject', fund.bySubject), part('band', fund.byGradeBand)]);
    }
    const substitute = fund.split.find((s) => s.scheme === 'SUBSTITUTE')!;
    const scholarship = fund.split.find((s) => s.scheme === 'SCHOLARSHIP')!;
    if (substitute.participants !== null && substitute.ownerNok !== null && scholarship.participants !== null) {
      // The NOK are computed from the two subject classes' counts as shown: the owner's share gives the other subjects' away.
      const other = Math.round(substitute.ownerNok / OWNER_NOK_PER_OTHER);
      cell(`fund:split:${year}:other`, other);
      cell(`fund:split:${year}:maths`, substitute.participants - other);
      cell(`fund:split:${year}:scholarship`, scholarship.participants);
      total(
        `fund:split:${year}:schemes`,
        undefined,
        [[`fund:split:${year}:other`, `fund:split:${year}:maths`, `fund:split:${year}:scholarship`]],
        'unpublished',
      );
      structure.atMost.push([`fund:split:${year}:schemes`, `fund:total:${year}:funded`]);
      const mathsFunded = ['MAT', 'NAT'].filter((s) => keyed(fund.bySubject).has(s)).map((s) => `fund:subject:${year}:${s}:funded`);
      total(`fund:split:${year}:mathsFunded`, undefined, [mathsFunded], 'unpublished');
      structure.atMost.push([`fund:split:${year}:maths`, `fund:split:${year}:mathsFunded`]);
    }

    // Competence: the stock of teachers, the same every year: once.
    if (year === YEARS[YEARS.length - 1]) {
      for (const c of i.competence) {
        cell(`comp:${c.subject}:teachers`, c.teachers);
        cell(`comp:${c.subject}:below`, c.below);
        structure.atMost.push([`comp:${c.subject}:below`, `comp:${c.subject}:teachers`]);
      }
    }

    // Ratings: per subject (its studies), county, and the year (its subjects, or its counties).
    const r = i.ratings;
    for (const s of r.bySubject) rated(`r:sy:${year}:${s.key}`, s.rating, [ids((x) => x.subject.code === s.key).map((id) => `r:study:${id}`)]);
    for (const c of r.byCounty) rated(`r:county:${year}:${c.key}`, c.rating);
    rated(`r:year:${year}`, r.overall, [r.bySubject.map((s) => `r:sy:${year}:${s.key}`), r.byCounty.map((c) => `r:county:${year}:${c.key}`)]);
  }
  // A subject's ratings over all years: its studies'.
  for (const s of a.subjects) rated(`r:subject:${s.code}`, s.rating, [studiesOfSubject.get(s.code) ?? []]);
  return { published: { counts, averages }, structure };
}

/** The rating sums of every rated name (studies' from the answers, totals' added up), from the feedback itself. */
async function ratingSums(structure: Structure): Promise<Map<string, number>> {
  const docs = (await h.dbs.feedback.collection('feedback').find({}).toArray()) as unknown as {
    study: string;
    rating: number;
    topics: { topic: string; rating: number }[];
  }[];
  const sums = new Map<string, number>();
  const add = (name: string, n: number) => sums.set(name, (sums.get(name) ?? 0) + n);
  for (const d of docs) {
    add(`r:study:${d.study}:S`, d.rating);
    for (const t of d.topics) add(`r:study:${d.study}:${t.topic}:S`, t.rating);
  }
  const county = new Map<string, number>();
  for (const d of docs as unknown as { year: number; county: string; rating: number; topics: { topic: string; rating: number }[] }[]) {
    county.set(`r:county:${d.year}:${d.county}:S`, (county.get(`r:county:${d.year}:${d.county}:S`) ?? 0) + d.rating);
    for (const t of d.topics)
      county.set(`r:county:${d.year}:${d.county}:${t.topic}:S`, (county.get(`r:county:${d.year}:${d.county}:${t.topic}:S`) ?? 0) + t.rating);
  }
  for (const [k, v] of county) sums.set(k, v);
  const sumOf = (name: string): number => {
    const t = structure.totals.get(name);
    if (!t) return sums.get(`${name}:S`) ?? 0;
    return t.partitions[0]!.reduce((a, p) => a + sumOf(p), 0);
  };
  return new Map([...structure.rated].map((name) => [`${name}:S`, sumOf(name)]));
}

/** The same figures published by the old rule: totals rounded on their own (hidden when a cell beside them was), averages to one decimal. */
function oldPublished(structure: Structure, truth: Map<string, number>): Published {
  const PUBLIC: Identity = { role: 'public' };
  const hiddenBelow = (name: string): boolean => {
    const t = structure.totals.get(name);
    if (!t) return shownCount(PUBLIC, truth.get(name)!) === null;
    return t.partitions.some((p) => p.some(hiddenBelow));
  };
  const counts = new Map<string, Count>();
  for (const name of structure.cells) counts.set(name, shownCount(PUBLIC, truth.get(name)!));
  for (const [name, t] of structure.totals)
    if (t.whenHidden !== 'unpublished') counts.set(name, t.whenHidden === 'hidden-cell' && hiddenBelow(name) ? null : shownCount(PUBLIC, truth.get(name)!));
  const averages = new Map<string, number | null>();
  for (const name of structure.rated) averages.set(name, OLD_AVERAGE.show(truth.get(`${name}:S`)!, truth.get(name)!));
  return { counts, averages };
}

const NEW_AVERAGE: AverageRule = { show: (sum, n) => (n < 5 ? null : Math.round((sum / n) * 2) / 2), halfWidth: 0.25 };
const OLD_AVERAGE: AverageRule = { show: (sum, n) => (n < 5 ? null : Math.round((sum / n) * 10) / 10), halfWidth: 0.05 };

describe('no combination of public answers pins a hidden or rounded count', () => {
  let structure: Structure;
  let publicFigures: Published;
  let truth: Map<string, number>;
  let current: SearchResult;
  let old: SearchResult;

  beforeAll(async () => {
    const exact = publishedOf(await answersAs({ role: 'directorate' }));
    const seen = publishedOf(publicAnswers);
    structure = exact.structure;
    publicFigures = seen.published;
    truth = new Map([...exact.published.counts].flatMap(([k, v]) => (v === null ? [] : [[k, v] as const])));
    // Totals nobody publishes (the participants of all schemes) are the sums of their cells.
    const truthOf = (name: string): number => truth.get(name) ?? structure.totals.get(name)!.partitions[0]!.reduce((a, p) => a + truthOf(p), 0);
    for (const name of structure.totals.keys()) truth.set(name, truthOf(name));
    for (const [k, v] of await ratingSums(structure)) truth.set(k, v);
    // The public reads every figure the directorate reads here (owners' rows aside), in the same shape.
    expect([...seen.structure.cells].sort()).toEqual([...structure.cells].sort());
    expect([...seen.structure.totals.keys()].sort()).toEqual([...structure.totals.keys()].sort());
    current = search(structure, publicFigures, 'additive', NEW_AVERAGE, truth);
    old = search(structure, oldPublished(structure, truth), 'rounded', OLD_AVERAGE, truth);
  }, 300_000);

  it('publishes every total as the sum of its first partition’s cells as shown, null when one is hidden', () => {
    const wrong: string[] = [];
    const shownOf = (name: string) => publicFigures.counts.get(name) ?? null;
    for (const [name, { partitions }] of structure.totals) {
      if (!publicFigures.counts.has(name)) continue;
      const cells = partitions[0]!.map(shownOf);
      const shown = shownOf(name);
      if (shown !== null && (cells.includes(null) || shown !== cells.reduce<number>((a, c) => a + c!, 0)))
        wrong.push(`${name}: ${shown} from ${JSON.stringify(cells)}`);
      if (shown === null && !partitions.some((p) => p.some((c) => shownOf(c) === null))) wrong.push(`${name}: hidden with no cell hidden`);
    }
    expect(wrong).toEqual([]);
  });

  it('finds no pinned count with the rule, where the old rule gave exact counts away', () => {
    const hiddenCells = [...structure.cells].filter((c) => publicFigures.counts.get(c) === null).length;
    const kinds = (pins: Map<string, number>) => {
      const by = new Map<string, number>();
      for (const k of pins.keys()) {
        const kind = k.startsWith('r:study:') ? (k.split(':').length > 3 ? 'study topic raters' : 'study raters') : k.split(':').slice(0, 2).join(':');
        by.set(kind, (by.get(kind) ?? 0) + 1);
      }
      return JSON.stringify(Object.fromEntries(by));
    };
    console.info(
      `disclosure search: ${current.checked} counts (${structure.cells.size} cells, ${hiddenCells} hidden, ${structure.totals.size} totals, ${structure.rated.size} averages); ` +
        `pinned now ${current.pinned.size} (narrowed ${current.narrowed}), with the old rule ${old.pinned.size} (narrowed ${old.narrowed}): ` +
        `${kinds(old.pinned)}`,
    );
    // The search never rules the truth out: its constraints are what the rule publishes.
    expect(current.unsound).toEqual([]);
    expect(old.unsound).toEqual([]);
    expect(current.checked).toBeGreaterThan(5_000);
    expect(old.pinned.size).toBeGreaterThan(0);
    // Among them, exact counts of a study's raters from its count and average (finding 3).
    expect([...old.pinned.keys()].filter((k) => /^r:study:[^:]+$/.test(k)).length).toBeGreaterThan(0);
    expect(Object.fromEntries(current.pinned)).toEqual({});
  });

  it('derives rates, shares and vacant seats from counts as shown', () => {
    const share = (part: Count, whole: Count) => (part === null || whole === null || whole === 0 ? null : Math.round((part / whole) * 100) / 100);
    for (const year of YEARS) {
      const i = publicAnswers.insights.get(year)!;
      for (const c of [i.decisions.total, ...i.decisions.bySubject, ...i.decisions.byGradeBand, ...i.decisions.byCounty]) {
        expect(c.refusalRate).toBe(share(c.refused, c.approved === null || c.refused === null ? null : c.approved + c.refused));
      }
      for (const c of i.competence) expect(c.share).toBe(share(c.below, c.teachers));
      const bySubject = new Map(i.applications.bySubject.map((c) => [c.key, c.admitted]));
      for (const v of i.vacantSeats) {
        expect(v.admitted).toBe(bySubject.get(v.subject) ?? 0);
        expect(v.vacant).toBe(v.places === null || v.admitted === null ? null : Math.max(0, v.places - v.admitted));
      }
      for (const s of publicAnswers.studies.get(year)!) expect(s.vacantSeats).toBe(s.admitted === null ? null : Math.max(0, s.places - s.admitted));
    }
  });
});

describe('owners’ rows', () => {
  const OWNER = '4601';
  const OTHER = '0301';
  const ROWS = `query($owner: ID!) { schoolOwner(id: $owner) { decisionFigures(year: 2024) { approved refused confirmed } admissionFigures(year: 2024) { applications admitted completed } } }`;
  const as = async (identity: Identity | null, query: string, variables: Record<string, unknown> = { owner: OWNER }) =>
    h.query<any>(query, variables, identity ? { token: await h.token(identity) } : {});

  it('are exact for that owner and the directorate', async () => {
    const mine = await as({ role: 'school-owner', org: OWNER }, ROWS);
    const udir = await as({ role: 'directorate' }, ROWS);
    expect(mine.errors).toBeUndefined();
    expect(mine.data).toEqual(udir.data);
    expect(mine.data.schoolOwner.decisionFigures.approved).toBeGreaterThan(0);
  });

  it.each([
    ['the public', null, 401, 'UNAUTHENTICATED'],
    ['an institution', { role: 'institution', org: '974767880' }, 403, 'FORBIDDEN'],
    ['a union', { role: 'union', org: 'UDF' }, 403, 'FORBIDDEN'],
  ] as const)('are refused to %s before planning', async (_name, identity, status, code) => {
    for (const query of [
      ROWS,
      '{ insights(year: 2024) { decisions { byOwner { key approved } } } }',
      '{ insights(year: 2024) { applications { byOwner { key applications } } } }',
    ]) {
      const res = await as(identity, query);
      expect(res.status).toBe(status);
      expect(res.errors?.map((e: { extensions?: { code?: string } }) => e.extensions?.code)).toEqual([code]);
    }
  });

  it('are FORBIDDEN to another owner, field by field, and so is its approvals of a study', async () => {
    const res = await as({ role: 'school-owner', org: OTHER }, ROWS);
    expect(res.data).toEqual({ schoolOwner: { decisionFigures: null, admissionFigures: null } });
    expect(res.errors?.map((e: { path?: unknown[]; extensions?: { code?: string } }) => [e.path, e.extensions?.code]).sort()).toEqual([
      [['schoolOwner', 'admissionFigures'], 'FORBIDDEN'],
      [['schoolOwner', 'decisionFigures'], 'FORBIDDEN'],
    ]);
    const study = publicAnswers.studies.get(2024)![0]!.id;
    const approvals = `query($study: ID!, $owner: ID!) { study(id: $study) { approvedApplications(owner: $owner) } }`;
    for (const identity of [
      null,
      { role: 'school-owner', org: OTHER },
      { role: 'institution', org: '974767880' },
      { role: 'union', org: 'UDF' },
    ] as (Identity | null)[]) {
      const denied = await as(identity, approvals, { study, owner: OWNER });
      expect(denied.data).toEqual({ study: { approvedApplications: null } });
      expect(denied.errors?.map((e: { extensions?: { code?: string } }) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    }
    const own = await as({ role: 'school-owner', org: OWNER }, approvals, { study, owner: OWNER });
    expect(own).toMatchObject({ data: (await as({ role: 'directorate' }, approvals, { study, owner: OWNER })).data });
    expect(own.errors).toBeUndefined();
  });
});
