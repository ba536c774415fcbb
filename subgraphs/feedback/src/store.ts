import { statementEvent } from './events.js';
import { type Db, type Filter } from 'mongodb';
import { type AuditDoc, type Idempotency, type Identity, type PageWindow, afterCursor, keysetOrder, keysetSort, createAuditedWriter, withId } from '@partnerskap/kit';

/** A union as stored; `_id` is its short code. */
export interface UnionDoc {
  _id: string;
  name: string;
}

/** One participant's feedback, with the dimensions reports group by. */
export interface FeedbackDoc {
  _id: string;
  study: string;
  subject: string;
  gradeBand: string;
  year: number;
  county: string;
  owner: string;
  rating: number;
  topics: { topic: string; rating: number }[];
  comment: string | null;
  union: string;
  givenAt: Date;
  /** A one-way hash of teacher and study: one answer per participant and study, without storing who. Absent on survey data. */
  participant?: string;
}

/** A union's statement as stored. */
export interface StatementDoc {
  _id: string;
  union: string;
  topic: string;
  title: string;
  body: string;
  publishedAt: Date;
}

/** The raw ratings of one topic over a set of feedback. */
export interface TopicSummary {
  topic: string;
  /** Answers that rated the topic. */
  count: number;
  /** The sum of those ratings. */
  sum: number;
  /** Partitions of `count` into finer counts the API also shows (see {@link RatingSummary}). */
  cells: number[][];
}

/**
 * The raw ratings over a set of feedback (one study, subject, county, or a year's), exact: the
 * resolvers turn them into what a caller may see.
 */
export interface RatingSummary {
  key: string;
  /** Answers. */
  count: number;
  /** The sum of their overall ratings. */
  sum: number;
  /** Per topic rated at least once, in topic order. */
  byTopic: TopicSummary[];
  /**
   * Partitions of `count` into the finer counts the API also shows one by one: the counts per
   * study (one cell for a study's own summary) and, for a year's overall figures, per county too.
   * Small-number suppression hides the total as soon as a cell of any of them is hidden.
   */
  cells: number[][];
}

/** A year's ratings: overall, per subject and per county (rows sorted by key). */
export interface YearRatings {
  year: number;
  overall: RatingSummary;
  bySubject: RatingSummary[];
  byCounty: RatingSummary[];
}

export type Feedback = ReturnType<typeof withId<FeedbackDoc>>;

const TOPIC_ORDER = ['RELEVANCE', 'QUALITY', 'WORKLOAD', 'ORGANISATION', 'SCHOOL_SUPPORT'];

/** A batch of 100 studies gives up to 500 topic groups: one reply holds them all (no getMore). */
const ONE_BATCH = { batchSize: 5000 } as const;
/** A year gives some (studies + counties) x 5 topic groups, about 1,000: one reply holds a batch of many years. */
const YEARS_BATCH = { batchSize: 100_000 } as const;

/** One grouped cell: answers and the sum of their ratings, with the `_id` it was grouped by. */
type Cell<K> = { _id: K; count: number; sum: number };
type CellKey = { key: string; year?: number };

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
const totals = (cells: Cell<unknown>[]) => ({
  count: cells.reduce((a, c) => a + c.count, 0),
  sum: cells.reduce((a, c) => a + c.sum, 0),
  cells: [cells.map((c) => c.count)],
});

/** The summary of one key from its grouped cells, overall and per topic (the cells are those of the key). */
function summarize(key: string, overall: Cell<CellKey>[], topics: Cell<CellKey & { topic: string }>[]): RatingSummary {
  const byTopic = [...groupBy(topics, (t) => t._id.topic)]
    .map(([topic, cells]) => ({ topic, ...totals(cells) }))
    .sort((a, b) => TOPIC_ORDER.indexOf(a.topic) - TOPIC_ORDER.indexOf(b.topic));
  return { key, ...totals(overall), byTopic };
}

/**
 * A year's overall summary, rolled up from its subjects' summaries. Its cells are the per-study
 * counts of its subjects and, as a second partition of the same total, its counties' counts: the
 * total is hidden whenever any study's or county's count is, so that no hidden count can be had by
 * subtracting shown ones from it.
 */
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

/** The statements' stable order: newest first, then id; the index `{ publishedAt: -1, _id: 1 }` serves it. */
export const STATEMENT_ORDER = keysetOrder('statements', [{ field: 'publishedAt', direction: -1, type: 'date' }]);
/** A study's feedback's stable order: newest first, then id; the index `{ study: 1, givenAt: -1, _id: 1 }` serves it. */
export const FEEDBACK_ORDER = keysetOrder('feedback', [{ field: 'givenAt', direction: -1, type: 'date' }]);

/** The feedback subgraph's data access. */
export function createFeedbackStore(db: Db) {
  const unions = db.collection<UnionDoc>('unions');
  const feedback = db.collection<FeedbackDoc>('feedback');
  const statements = db.collection<StatementDoc>('statements');
  const writer = createAuditedWriter(db, 'feedback');

  /**
   * Answers and rating sums grouped by `key`, a finer `cell` when given (each group is then one
   * cell of the key's total), and `year` when given, overall and per topic: two aggregations,
   * whatever the number of keys.
   */
  function grouped(match: Filter<FeedbackDoc>, id: { key: string; cell?: string; year?: string }, options: { batchSize: number }) {
    return Promise.all([
      feedback.aggregate<Cell<CellKey>>([{ $match: match }, { $group: { _id: id, count: { $sum: 1 }, sum: { $sum: '$rating' } } }], options).toArray(),
      feedback
        .aggregate<Cell<CellKey & { topic: string }>>([
          { $match: match },
          { $unwind: '$topics' },
          { $group: { _id: { ...id, topic: '$topics.topic' }, count: { $sum: 1 }, sum: { $sum: '$topics.rating' } } },
        ], options)
        .toArray(),
    ]);
  }

  /**
   * The ratings of a batch of studies or subjects, in key order (a key without feedback gets an empty summary): two
   * aggregations, grouped per study as well, so that a subject's summary knows the study counts it
   * adds up (small-number suppression hides a total whose cells are hidden).
   */
  async function summaries(field: 'study' | 'subject', keys: string[]): Promise<RatingSummary[]> {
    const [overall, topics] = await grouped({ [field]: { $in: keys } }, { key: `$${field}`, cell: '$study' }, ONE_BATCH);
    const overallOf = groupBy(overall, (c) => c._id.key);
    const topicsOf = groupBy(topics, (c) => c._id.key);
    return keys.map((key) => summarize(key, overallOf.get(key) ?? [], topicsOf.get(key) ?? []));
  }

  /**
   * The ratings of a batch of years, in key order: four aggregations whatever the number of years
   * or answers (per year, subject and study; per year and county; each overall and per topic), the
   * year's overall figures rolled up from the grouped cells.
   */
  async function yearRatings(years: number[]): Promise<YearRatings[]> {
    const match = { year: { $in: years } };
    const [[subjectCells, subjectTopics], [countyCells, countyTopics]] = await Promise.all([
      grouped(match, { year: '$year', key: '$subject', cell: '$study' }, YEARS_BATCH),
      grouped(match, { year: '$year', key: '$county' }, YEARS_BATCH),
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
  }

  return {
    /** Its outbox: the events its writes commit, served as the feed. */
    outbox: writer.outbox,
    outboxHead: () => writer.outbox.head(),
    /** Creates the indexes every lookup and list of the resolvers uses. */
    async ensureIndexes(): Promise<void> {
      await feedback.createIndexes([{ key: { study: 1, givenAt: -1, _id: 1 } }, { key: { subject: 1 } }, { key: { year: 1 } }]);
      await statements.createIndexes([{ key: { publishedAt: -1, _id: 1 } }]);
      await feedback.createIndexes([{ key: { participant: 1 }, unique: true, partialFilterExpression: { participant: { $type: 'string' } } }]);
      await writer.ensureIndexes();
    },
    async insertFeedback(doc: FeedbackDoc, line: AuditDoc, idempotency: Idempotency<Feedback>): Promise<Feedback> {
      return writer.insert(feedback, doc, line, { message: 'You have already given feedback on this study', field: 'input.study' }, idempotency);
    },
    async insertStatement(doc: StatementDoc, line: AuditDoc, idempotency: Idempotency<ReturnType<typeof withId<StatementDoc>>>): Promise<ReturnType<typeof withId<StatementDoc>>> {
      return writer.insert(statements, doc, line, null, idempotency, () => [statementEvent(doc)]);
    },
    /** The studies some feedback is linked to a participant on (the ones an erasure hashes the teacher with). */
    participantStudies(): Promise<string[]> {
      return feedback.distinct('study', { participant: { $type: 'string' } });
    },
    /** Removes these participant hashes (GDPR erasure): the feedback stays in every figure, tied to nobody. */
    async unlinkParticipants(participants: string[]): Promise<number> {
      if (participants.length === 0) return 0;
      return (await feedback.updateMany({ participant: { $in: participants } }, { $unset: { participant: '' } })).modifiedCount;
    },
    async feedbackById(id: string): Promise<Feedback | null> {
      const doc = await feedback.findOne({ _id: id });
      return doc ? withId(doc) : null;
    },
    async statementById(id: string): Promise<ReturnType<typeof withId<StatementDoc>> | null> {
      const doc = await statements.findOne({ _id: id });
      return doc ? withId(doc) : null;
    },
    /** The first result of a request made before with the same idempotency key, if any. */
    replayed: <T>(idempotency: Idempotency<T>) => writer.replayed(idempotency),
    auditLines(identity: Identity, first: number): Promise<AuditDoc[]> {
      return writer.lines(identity, first);
    },
    async unions(): Promise<ReturnType<typeof withId<UnionDoc>>[]> {
      return (await unions.find().sort({ name: 1 }).toArray()).map(withId);
    },
    async unionsByIds(ids: string[]): Promise<ReturnType<typeof withId<UnionDoc>>[]> {
      return (await unions.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    async statements(window: PageWindow): Promise<ReturnType<typeof withId<StatementDoc>>[]> {
      return (await statements.find(afterCursor({}, window)).sort(keysetSort(STATEMENT_ORDER)).limit(window.limit + 1).toArray()).map(withId);
    },
    countStatements(): Promise<number> {
      return statements.countDocuments();
    },
    async feedbackOn(study: string, window: PageWindow): Promise<Feedback[]> {
      return (await feedback.find(afterCursor({ study }, window)).sort(keysetSort(FEEDBACK_ORDER)).limit(window.limit + 1).toArray()).map(withId);
    },
    countFeedbackOn(study: string): Promise<number> {
      return feedback.countDocuments({ study });
    },
    studySummaries: (ids: string[]) => summaries('study', ids),
    subjectSummaries: (codes: string[]) => summaries('subject', codes),
    /** The strategy insights' ratings of a batch of years, in key order (a year without feedback has empty figures). */
    yearRatings,
  };
}

/** The feedback store. */
export type FeedbackStore = ReturnType<typeof createFeedbackStore>;
