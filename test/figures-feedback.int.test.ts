/**
 * Feedback's figures against the embedded store (or MONGODB_URI): any sequence of the store's real
 * writes (answers given, refused as duplicates, replayed under an idempotency key, aborted after
 * the figures moved; participants unlinked by an erasure) leaves the cells equal to a recount, and
 * the summaries read from them equal to the `$group` aggregations they replaced (kept here as the
 * oracle).
 */
import { randomBytes } from 'node:crypto';
import { type Db, type Filter } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { type AuditDoc, type Idempotency, auditEntry } from '@partnerskap/kit';
import { participantOf } from '@partnerskap/feedback/events';
import { figures } from '@partnerskap/feedback/figures';
import { type Feedback, type FeedbackDoc, type RatingSummary, type YearRatings, createFeedbackStore } from '@partnerskap/feedback/store';
import { seededRandom, useStoreClient } from './store-client.js';

const { fresh } = useStoreClient('feedback_figures');

// The oracle: the aggregations the store ran before its figures were kept (issue 19), unchanged.
const TOPIC_ORDER = ['RELEVANCE', 'QUALITY', 'WORKLOAD', 'ORGANISATION', 'SCHOOL_SUPPORT'];
type Cell<K> = { _id: K; count: number; sum: number };
type CellKey = { key: string; year?: number };
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return groups;
}
const totals = (cells: Cell<unknown>[]) => ({
  count: cells.reduce((a, c) => a + c.count, 0),
  sum: cells.reduce((a, c) => a + c.sum, 0),
  cells: [cells.map((c) => c.count)],
});
function summarize(key: string, overall: Cell<CellKey>[], topics: Cell<CellKey & { topic: string }>[]): RatingSummary {
  const byTopic = [...groupBy(topics, (t) => t._id.topic)]
    .map(([topic, cells]) => ({ topic, ...totals(cells) }))
    .sort((a, b) => TOPIC_ORDER.indexOf(a.topic) - TOPIC_ORDER.indexOf(b.topic));
  return { key, ...totals(overall), byTopic };
}
function yearOverall(year: number, bySubject: RatingSummary[], byCounty: RatingSummary[]): RatingSummary {
  const add = (xs: { count: number; sum: number }[]) => ({ count: xs.reduce((a, x) => a + x.count, 0), sum: xs.reduce((a, x) => a + x.sum, 0) });
  const ofTopic = (topic: string, summaries: RatingSummary[]) => summaries.flatMap((s) => s.byTopic.filter((t) => t.topic === topic));
  const byTopic = TOPIC_ORDER.filter((topic) => ofTopic(topic, bySubject).length > 0).map((topic) => ({
    topic,
    ...add(ofTopic(topic, bySubject)),
    cells: [ofTopic(topic, bySubject).flatMap((t) => t.cells[0]!), ofTopic(topic, byCounty).map((t) => t.count)],
  }));
  return { key: String(year), ...add(bySubject), byTopic, cells: [bySubject.flatMap((s) => s.cells[0]!), byCounty.map((c) => c.count)] };
}
function oracle(db: Db) {
  const feedback = db.collection<FeedbackDoc>('feedback');
  const grouped = (match: Filter<FeedbackDoc>, id: { key: string; cell?: string; year?: string }) =>
    Promise.all([
      feedback.aggregate<Cell<CellKey>>([{ $match: match }, { $group: { _id: id, count: { $sum: 1 }, sum: { $sum: '$rating' } } }]).toArray(),
      feedback
        .aggregate<Cell<CellKey & { topic: string }>>([
          { $match: match },
          { $unwind: '$topics' },
          { $group: { _id: { ...id, topic: '$topics.topic' }, count: { $sum: 1 }, sum: { $sum: '$topics.rating' } } },
        ])
        .toArray(),
    ]);
  return {
    async summaries(field: 'study' | 'subject', keys: string[]): Promise<RatingSummary[]> {
      const [overall, topics] = await grouped({ [field]: { $in: keys } }, { key: `$${field}`, cell: '$study' });
      const overallOf = groupBy(overall, (c) => c._id.key);
      const topicsOf = groupBy(topics, (c) => c._id.key);
      return keys.map((key) => summarize(key, overallOf.get(key) ?? [], topicsOf.get(key) ?? []));
    },
    async yearRatings(years: number[]): Promise<YearRatings[]> {
      const match = { year: { $in: years } };
      const [[subjectCells, subjectTopics], [countyCells, countyTopics]] = await Promise.all([
        grouped(match, { year: '$year', key: '$subject', cell: '$study' }),
        grouped(match, { year: '$year', key: '$county' }),
      ]);
      const partition = (overall: Cell<CellKey>[], topics: Cell<CellKey & { topic: string }>[]) => {
        const overallOf = groupBy(overall, (c) => `${c._id.year}\u0000${c._id.key}`);
        const topicsOf = groupBy(topics, (c) => `${c._id.year}\u0000${c._id.key}`);
        return (year: number) =>
          [...new Set(overall.filter((c) => c._id.year === year).map((c) => String(c._id.key)))]
            .sort(byString)
            .map((key) => summarize(key, overallOf.get(`${year}\u0000${key}`) ?? [], topicsOf.get(`${year}\u0000${key}`) ?? []));
      };
      const subjectsOf = partition(subjectCells, subjectTopics);
      const countiesOf = partition(countyCells, countyTopics);
      return years.map((year) => {
        const bySubject = subjectsOf(year);
        const byCounty = countiesOf(year);
        return { year, overall: yearOverall(year, bySubject, byCounty), bySubject, byCounty };
      });
    },
  };
}

/**
 * The study partition (the first) came in `$group`'s order, which no one reads (the suppression
 * rules sum it and test its cells one by one): sorted on both sides. The counties' partition is in
 * county order on both sides, and stays so.
 */
function normalized<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (key, v: unknown) =>
    key === 'cells' && Array.isArray(v) ? v.map((p: number[], i) => (i === 0 ? [...p].sort((a, b) => a - b) : p)) : v,
  ) as T;
}

describe('the feedback figures', () => {
  it('any sequence of the store’s writes leaves the cells equal to a recount and the summaries equal to the old aggregations', async () => {
    const db = fresh();
    const feedback = createFeedbackStore(db);
    await feedback.ensureIndexes();
    const [counted] = figures(db);
    // A fixed pseudo-random sequence (a failure reproduces), over few studies, teachers and values,
    // so that answers meet in cells, duplicates are refused and erasures free a teacher to answer again.
    const rnd = seededRandom(19);
    const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)]!;
    const studies = ['K2ENG1510-2030', 'K2ENG1510-2031', 'K2MAT0107-2030', 'K2NOR0107-2031', 'K2MAT0510-2031'];
    // Drawn independently of the study (a study answered under two subjects, years or counties still adds up as the aggregations did).
    const subjects = ['ENG', 'MAT', 'NOR'];
    const years = [2030, 2031];
    const counties = ['03', '46', '50'];
    const teachers = Array.from({ length: 8 }, (_, i) => `T${i}`);
    const topics = () => TOPIC_ORDER.filter(() => rnd(3) > 0).map((topic) => ({ topic, rating: 1 + rnd(5) }));
    const lines: AuditDoc[] = [];
    const keys: { key: string; request: unknown }[] = [];
    const seen = { given: 0, refused: 0, replayed: 0, aborted: 0, unlinked: 0 };
    const idempotency = (key: string | null, request: unknown): Idempotency<Feedback> => ({
      key,
      scope: 'teacher||giveFeedback',
      request,
      replay: async (id) => (await feedback.feedbackById(id))!,
    });

    for (let step = 0; step < 300; step++) {
      const op = rnd(10);
      if (op < 7) {
        const study = pick(studies);
        const teacher = pick(teachers);
        const now = new Date(Date.UTC(2031, 5, 1, 0, step));
        const doc: FeedbackDoc = {
          _id: `f-${step}`,
          study,
          subject: pick(subjects),
          gradeBand: 'GRADES_5_10',
          year: pick(years),
          county: pick(counties),
          owner: pick(counties),
          rating: 1 + rnd(5),
          topics: topics(),
          comment: null,
          union: 'UDF',
          givenAt: now,
          participant: participantOf(teacher, study),
        };
        let line = auditEntry({ role: 'teacher' }, now, 'giveFeedback', doc._id, 'UDF', { study, rating: doc.rating });
        // A fault after the answer and its cells are written: the audit line's insert fails, the transaction aborts.
        const abort = lines.length > 0 && rnd(8) === 0;
        if (abort) line = { ...line, _id: pick(lines)._id };
        // Sometimes a client's retry under a key it used before (its first answer comes back, nothing written).
        const again = keys.length > 0 && rnd(6) === 0 ? pick(keys) : null;
        const key = again ? again.key : rnd(2) === 0 ? `key-${step}-${randomBytes(4).toString('hex')}` : null;
        const request = again ? again.request : { study, rating: doc.rating, step };
        try {
          const result = await feedback.insertFeedback(doc, line, idempotency(key, request));
          if (result.id === doc._id) {
            seen.given++;
            lines.push(line);
            if (key) keys.push({ key, request });
          } else seen.replayed++;
        } catch (err) {
          expect((err as { extensions?: { code?: string } }).extensions?.code).toBe('CONFLICT');
          if (abort) seen.aborted++;
          else seen.refused++;
          expect(await feedback.feedbackById(doc._id)).toBeNull();
        }
      } else {
        // An erasure, as the mutation does it: the teacher's hash on every study with linked feedback.
        const teacher = pick(teachers);
        seen.unlinked += await feedback.unlinkParticipants((await feedback.participantStudies()).map((study) => participantOf(teacher, study)));
      }
    }
    // Every path taken, often enough for the test to fail if one moved the figures wrongly. No write
    // moves or deletes an answer (an erasure only unlinks it), so no cell ever empties or moves: the
    // path where a stale cell could be left is the abort after the cells were incremented.
    expect(seen.given).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(10);
    expect(seen.aborted).toBeGreaterThan(10);
    expect(seen.replayed).toBeGreaterThan(5);
    expect(seen.unlinked).toBeGreaterThan(10);

    expect(await counted!.check()).toEqual([]);
    const old = oracle(db);
    const allYears = [...years, 1999];
    expect(normalized(await feedback.studySummaries([...studies, 'K2ENG1510-1999']))).toEqual(
      normalized(await old.summaries('study', [...studies, 'K2ENG1510-1999'])),
    );
    expect(normalized(await feedback.subjectSummaries([...subjects, 'KRL']))).toEqual(normalized(await old.summaries('subject', [...subjects, 'KRL'])));
    expect(normalized(await feedback.yearRatings(allYears))).toEqual(normalized(await old.yearRatings(allYears)));
    // The feedback list's totalCount is its study's cell's count.
    const counts = (await feedback.studySummaries(studies)).map((s) => s.count);
    expect(counts).toEqual(await Promise.all(studies.map((study) => db.collection('feedback').countDocuments({ study }))));
    expect(counts.reduce((a, n) => a + n, 0)).toBe(seen.given);

    // And the comparison can fail: an answer written around the counted collection is seen by both.
    await db
      .collection<FeedbackDoc>('feedback')
      .insertOne({ ...(await db.collection<FeedbackDoc>('feedback').findOne({}))!, _id: 'f-around', participant: 'around' });
    expect((await counted!.check()).length).toBeGreaterThan(0);
    expect(normalized(await feedback.yearRatings(allYears))).not.toEqual(normalized(await old.yearRatings(allYears)));
    await counted!.rebuild();
    expect(normalized(await feedback.yearRatings(allYears))).toEqual(normalized(await old.yearRatings(allYears)));
  }, 120_000);
});
