import { type Identity } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { rebuildFigures } from '../demo/figures.js';

// The feedback subgraph's part of the strategy insights (`Insights.ratings`) over the demo data,
// through the gateway. Expected figures are counted here with plain find() and JavaScript, and the
// suppression rules applied here from the README's text, never with the subgraph's own pipelines.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const YEARS = [2022, 2024];
const TOPICS = ['RELEVANCE', 'QUALITY', 'WORKLOAD', 'ORGANISATION', 'SCHOOL_SUPPORT'];
const SUMMARY = 'count average byTopic { topic count average }';
const QUERY = `query Ratings($year: Int!) { insights(year: $year) { year ratings {
  overall { ${SUMMARY} }
  bySubject { key rating { ${SUMMARY} } }
  byCounty { key rating { ${SUMMARY} } } } } }`;

interface Answer {
  study: string;
  subject: string;
  county: string;
  rating: number;
  topics: { topic: string; rating: number }[];
}
interface Summary {
  count: number | null;
  average: number | null;
  byTopic: { topic: string; count: number | null; average: number | null }[];
}
interface Ratings {
  overall: Summary;
  bySubject: { key: string; rating: Summary }[];
  byCounty: { key: string; rating: Summary }[];
}

const round = (n: number, decimals: number) => Math.round(n * 10 ** decimals) / 10 ** decimals;
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const answersOf = async (year: number) => (await h.dbs.feedback.collection('feedback').find({ year }).toArray()) as unknown as Answer[];
const countBy = <T>(items: T[], key: (item: T) => string) => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.values()];
};

/**
 * A summary of some answers as a caller sees it. `whole`: exact counts, averages to two decimals.
 * Otherwise a count is the sum of the finer counts that add up to it (`cellsBy`: per study, per
 * county; the first), each rounded to base 5, and hidden when any of them is 1 to 4; an average is
 * shown over 5 or more answers only, to the nearest 0.5.
 */
function summary(answers: Answer[], whole: boolean, cellsBy: ((a: Answer) => string)[]): Summary {
  const figure = (ratings: { answer: Answer; rating: number }[]) => {
    const n = ratings.length;
    const mean = n ? ratings.reduce((a, r) => a + r.rating, 0) / n : null;
    if (whole) return { count: n, average: mean === null ? null : round(mean, 2) };
    const hidden = cellsBy.some((by) => countBy(ratings, (r) => by(r.answer)).some((c) => c < 5));
    const count = countBy(ratings, (r) => cellsBy[0]!(r.answer)).reduce((a, c) => a + Math.round(c / 5) * 5, 0);
    return { count: hidden ? null : count, average: mean !== null && n >= 5 ? Math.round(mean * 2) / 2 : null };
  };
  const byTopic = TOPICS.map((topic) => ({
    topic,
    ratings: answers.flatMap((answer) => answer.topics.filter((t) => t.topic === topic).map((t) => ({ answer, rating: t.rating }))),
  }))
    .filter((t) => t.ratings.length > 0)
    .map((t) => ({ topic: t.topic, ...figure(t.ratings) }));
  return { ...figure(answers.map((answer) => ({ answer, rating: answer.rating }))), byTopic };
}

const byStudy = (a: Answer) => a.study;
const byCounty = (a: Answer) => a.county;

/** A year's ratings as a caller sees them: a subject's counts add up its studies', the year's its studies' and its counties'. */
function expectedRatings(answers: Answer[], whole: boolean): Ratings {
  const partition = (keyOf: (a: Answer) => string, cellsBy: ((a: Answer) => string)[]) =>
    [...new Set(answers.map(keyOf))].sort(byString).map((key) => ({
      key,
      rating: summary(
        answers.filter((a) => keyOf(a) === key),
        whole,
        cellsBy,
      ),
    }));
  return {
    overall: summary(answers, whole, [byStudy, byCounty]),
    bySubject: partition((a) => a.subject, [byStudy]),
    byCounty: partition(byCounty, [byCounty]),
  };
}

async function ratingsAs(identity: Identity | null, year: number) {
  const token = identity ? await h.token(identity) : undefined;
  const res = await h.query<{ insights: { year: number; ratings: Ratings } | null }>(QUERY, { year }, token ? { token } : {});
  expect(res.errors).toBeUndefined();
  expect(res.data?.insights?.year).toBe(year);
  return res.data!.insights!.ratings;
}

const summaries = (r: Ratings) => [r.overall, ...r.bySubject.map((s) => s.rating), ...r.byCounty.map((c) => c.rating)];
const counts = (r: Ratings) => summaries(r).flatMap((s) => [s.count, ...s.byTopic.map((t) => t.count)]);
const averages = (r: Ratings) => summaries(r).flatMap((s) => [s.average, ...s.byTopic.map((t) => t.average)]);

describe('Insights.ratings', () => {
  it.each(YEARS)('gives the directorate and the unions the exact figures of %i', async (year) => {
    const answers = await answersOf(year);
    const expected = expectedRatings(answers, true);
    expect(await ratingsAs({ role: 'directorate' }, year)).toEqual(expected);
    // Unions see single answers, so they see their figures whole (docs/frontend.md: "Who sees what").
    expect(await ratingsAs({ role: 'union', org: 'UDF' }, year)).toEqual(expected);
    // The demo data makes every part non-trivial: every subject and county, every topic.
    expect(expected.overall.count).toBeGreaterThan(1000);
    expect(expected.bySubject.length).toBeGreaterThanOrEqual(10);
    expect(expected.byCounty.length).toBeGreaterThanOrEqual(15);
    expect(expected.overall.byTopic.map((t) => t.topic)).toEqual(TOPICS);
    expect(expected.overall.count).toBe(expected.bySubject.reduce((a, s) => a + s.rating.count!, 0));
  });

  it.each(
    YEARS.flatMap(
      (year) =>
        [
          [year, 'the public'],
          [year, 'a school owner'],
        ] as const,
    ),
  )('shows %i to %s rounded, with no count of 1 to 4 and none that gives one away', async (year, caller) => {
    const answers = await answersOf(year);
    const shown = await ratingsAs(caller === 'the public' ? null : { role: 'school-owner', org: '4601' }, year);
    expect(shown).toEqual(expectedRatings(answers, false));
    const all = counts(shown);
    expect(all.filter((n) => n !== null && n % 5 !== 0)).toEqual([]);
    expect(all.filter((n) => n === null).length).toBeGreaterThan(0);
    expect(all.filter((n) => n !== null && n > 0).length).toBeGreaterThan(0);
    expect(averages(shown).filter((a) => a !== null && Math.round(a * 2) / 2 !== a)).toEqual([]);
    // Some study of every demo year has 1 to 4 answers: the year's count would give it away.
    expect(shown.overall.count).toBeNull();
    expect(shown.overall.average).toBe(Math.round((answers.reduce((a, x) => a + x.rating, 0) / answers.length) * 2) / 2);
  });

  it('sends the same one read of maintained cells for any year, whatever its answers', async () => {
    const token = await h.token({ role: 'directorate' });
    const db = h.dbs.feedback.databaseName;
    const sent: unknown[] = [];
    for (const year of [...YEARS, 2023]) {
      h.takeCommands();
      const res = await h.query(QUERY, { year }, { token });
      expect(res.errors).toBeUndefined();
      sent.push(h.takeCommands().filter((c) => c.db === db));
    }
    // One read of the maintained cells, whatever the year.
    const one = [{ command: 'find', collection: 'figures', db }];
    expect(sent).toEqual([one, one, one]);
  });
});

describe('Insights entities in the feedback subgraph', () => {
  const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Insights { year ratings {
    overall { ${SUMMARY} } bySubject { key rating { ${SUMMARY} } } byCounty { key rating { ${SUMMARY} } } } } } }`;

  it('resolves years in key order, in one batch, a year without feedback as empty figures and a bad key as null', async () => {
    const db = h.dbs.feedback.databaseName;
    const r = [2024, 1999, 2022, '2023', { $gt: 0 }].map((year) => ({ __typename: 'Insights', year }));
    h.takeCommands();
    const res = await h.querySubgraph<{ _entities: ({ year: number; ratings: Ratings } | null)[] }>('feedback', ENTITIES, { r });
    const sent = h.takeCommands().filter((c) => c.db === db);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      _entities: [
        { year: 2024, ratings: expectedRatings(await answersOf(2024), true) },
        { year: 1999, ratings: { overall: { count: 0, average: null, byTopic: [] }, bySubject: [], byCounty: [] } },
        { year: 2022, ratings: expectedRatings(await answersOf(2022), true) },
        null,
        null,
      ],
    });
    // The three years in one batch: one read of the maintained cells, as for one year.
    expect(sent).toEqual([{ command: 'find', collection: 'figures', db }]);
  });

  it('hides the year’s count when a county’s is hidden, though every study’s is shown, and the counties where they would pin it', async () => {
    // One study with 17 answers: 8 in Oslo, 8 in Vestland, 1 in Trøndelag. Shown as 15, 10 and 10,
    // a year's total of 15 would pin Trøndelag's hidden count: 17 at most, minus 8 and 8 at least.
    const answer = (county: string, rating: number, i: number) => ({
      _id: `f-insights-${county}-${i}`,
      study: 'K2ENG1510-2031',
      subject: 'ENG',
      gradeBand: 'GRADES_5_10',
      year: 2031,
      county,
      owner: county,
      rating,
      topics: [{ topic: 'RELEVANCE', rating }],
      comment: null,
      union: 'UDF',
      givenAt: new Date('2032-06-15T12:00:00Z'),
    });
    const docs = [...Array.from({ length: 8 }, (_, i) => answer('03', 4, i)), ...Array.from({ length: 8 }, (_, i) => answer('46', 4, i)), answer('50', 2, 0)];
    await h.dbs.feedback.collection('feedback').insertMany(docs as never[]);
    // Written around the subgraph: its figures are counted from the records again, as a bulk load does.
    await rebuildFigures(h.dbs, ['feedback']);
    const r = [{ __typename: 'Insights', year: 2031 }];
    const res = await h.querySubgraph<{ _entities: { ratings: Ratings }[] }>('feedback', ENTITIES, { r }, { as: { role: 'public' } });
    expect(res.errors).toBeUndefined();
    const shown = res.data!._entities[0]!.ratings;
    // 66 / 17 = 3.88, banded to the nearest 0.5.
    const average = 4;
    expect(shown).toEqual({
      overall: { count: null, average, byTopic: [{ topic: 'RELEVANCE', count: null, average }] },
      bySubject: [{ key: 'ENG', rating: { count: 15, average, byTopic: [{ topic: 'RELEVANCE', count: 15, average }] } }],
      // Even hidden, the total pins: the study's 15 caps it at 17, the counties' 10, 10 and null need
      // 17 at least, so each county would be exact (8, 8, 1). The audit hides the counties whole.
      byCounty: ['03', '46', '50'].map((key) => ({
        key,
        rating: { count: null, average: null, byTopic: [{ topic: 'RELEVANCE', count: null, average: null }] },
      })),
    });
    expect({ ...shown, byCounty: undefined }).toEqual({ ...expectedRatings(docs, false), byCounty: undefined });
  });
});
