import { type Db } from 'mongodb';
import { type AuditDoc, type Idempotency, type Identity, type PageWindow, createAuditedWriter, withId } from '@partnerskap/kit';

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

/** Average ratings over the feedback of one study or subject. */
export interface RatingSummary {
  key: string;
  /** Null only once suppressed for a caller. */
  count: number | null;
  average: number | null;
  byTopic: { topic: string; average: number | null; count: number | null; cells: number[] }[];
  /** The answer counts per study that add up to `count` (one cell for a study's own summary). */
  cells: number[];
}

export type Feedback = ReturnType<typeof withId<FeedbackDoc>>;

const TOPIC_ORDER = ['RELEVANCE', 'QUALITY', 'WORKLOAD', 'ORGANISATION', 'SCHOOL_SUPPORT'];
const round2 = (n: number): number => Math.round(n * 100) / 100;

/** A batch of 100 studies gives up to 500 topic groups: one reply holds them all (no getMore). */
const ONE_BATCH = { batchSize: 5000 } as const;

/** The feedback subgraph's data access. */
export function createFeedbackStore(db: Db) {
  const unions = db.collection<UnionDoc>('unions');
  const feedback = db.collection<FeedbackDoc>('feedback');
  const statements = db.collection<StatementDoc>('statements');
  const writer = createAuditedWriter(db);

  /**
   * Overall and per-topic averages for a batch of studies or subjects: two aggregations, grouped
   * per study as well, so that a subject's summary knows the study counts it adds up (small-number
   * suppression hides a total whose cells are hidden).
   */
  async function summaries(field: 'study' | 'subject', keys: string[]): Promise<RatingSummary[]> {
    const match = { $match: { [field]: { $in: keys } } };
    type Cell = { count: number; sum: number };
    const [overall, topics] = await Promise.all([
      feedback
        .aggregate<{ _id: { key: string; study: string } } & Cell>([match, { $group: { _id: { key: `$${field}`, study: '$study' }, count: { $sum: 1 }, sum: { $sum: '$rating' } } }], ONE_BATCH)
        .toArray(),
      feedback
        .aggregate<{ _id: { key: string; study: string; topic: string } } & Cell>([
          match,
          { $unwind: '$topics' },
          { $group: { _id: { key: `$${field}`, study: '$study', topic: '$topics.topic' }, count: { $sum: 1 }, sum: { $sum: '$topics.rating' } } },
        ], ONE_BATCH)
        .toArray(),
    ]);
    const summary = (cells: Cell[]) => {
      const count = cells.reduce((a, c) => a + c.count, 0);
      const sum = cells.reduce((a, c) => a + c.sum, 0);
      return { count, average: count ? round2(sum / count) : null, cells: cells.map((c) => c.count) };
    };
    return keys.map((key) => {
      const mine = topics.filter((t) => t._id.key === key);
      const byTopic = [...new Set(mine.map((t) => t._id.topic))]
        .map((topic) => ({ topic, ...summary(mine.filter((t) => t._id.topic === topic)) }))
        .sort((a, b) => TOPIC_ORDER.indexOf(a.topic) - TOPIC_ORDER.indexOf(b.topic));
      return { key, ...summary(overall.filter((o) => o._id.key === key)), byTopic };
    });
  }

  return {
    /** Creates the indexes every lookup and list of the resolvers uses. */
    async ensureIndexes(): Promise<void> {
      await feedback.createIndexes([{ key: { study: 1, givenAt: -1 } }, { key: { subject: 1 } }, { key: { year: 1 } }]);
      await statements.createIndexes([{ key: { publishedAt: -1, _id: 1 } }]);
      await feedback.createIndexes([{ key: { participant: 1 }, unique: true, partialFilterExpression: { participant: { $type: 'string' } } }]);
      await writer.ensureIndexes();
    },
    async insertFeedback(doc: FeedbackDoc, line: AuditDoc, idempotency: Idempotency<Feedback>): Promise<Feedback> {
      return writer.insert(feedback, doc, line, { message: 'You have already given feedback on this study', field: 'input.study' }, idempotency);
    },
    async insertStatement(doc: StatementDoc, line: AuditDoc, idempotency: Idempotency<ReturnType<typeof withId<StatementDoc>>>): Promise<ReturnType<typeof withId<StatementDoc>>> {
      return writer.insert(statements, doc, line, null, idempotency);
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
      return (await statements.find().sort({ publishedAt: -1, _id: 1 }).skip(window.skip).limit(window.limit + 1).toArray()).map(withId);
    },
    countStatements(): Promise<number> {
      return statements.countDocuments();
    },
    async feedbackOn(study: string, window: PageWindow): Promise<Feedback[]> {
      return (await feedback.find({ study }).sort({ givenAt: -1, _id: 1 }).skip(window.skip).limit(window.limit + 1).toArray()).map(withId);
    },
    countFeedbackOn(study: string): Promise<number> {
      return feedback.countDocuments({ study });
    },
    studySummaries: (ids: string[]) => summaries('study', ids),
    subjectSummaries: (codes: string[]) => summaries('subject', codes),
  };
}

/** The feedback store. */
export type FeedbackStore = ReturnType<typeof createFeedbackStore>;
