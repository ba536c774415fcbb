import { statementEvent } from './events.js';
import { RATING_BY_STUDY, RATING_BY_SUBJECT_STUDY, RATING_BY_YEAR, TOPIC_ORDER, createCountedFeedback, topicCount, topicSum } from './figures.js';
import { type Db } from 'mongodb';
import {
  type AuditDoc,
  type FigureDoc,
  type Idempotency,
  type Identity,
  type PageWindow,
  afterCursor,
  byCodeUnits,
  createAuditedWriter,
  findCells,
  groupByKey,
  inTransaction,
  keysetOrder,
  keysetSort,
  readCells,
  total,
  totals,
  withId,
} from '@partnerskap/kit';

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

const amount = (cell: FigureDoc, field: string) => Number(cell[field] ?? 0);
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

/**
 * The summary of one key from its cells (one per study, or the key's only one), overall and per
 * topic rated at least once: each count is partitioned into the counts of the cells that have some.
 */
function summarize(key: string, cells: FigureDoc[]): RatingSummary {
  const totals = (count: string, sum: string) => {
    const rated = cells.filter((c) => amount(c, count) > 0);
    return { count: total(rated, (c) => amount(c, count)), sum: total(rated, (c) => amount(c, sum)), cells: [rated.map((c) => amount(c, count))] };
  };
  const byTopic = TOPIC_ORDER.filter((t) => cells.some((c) => amount(c, topicCount(t)) > 0)).map((topic) => ({
    topic,
    ...totals(topicCount(topic), topicSum(topic)),
  }));
  return { key, ...totals('count', 'sum'), byTopic };
}

/**
 * A year's overall summary, rolled up from its subjects' summaries. Its cells are the per-study
 * counts of its subjects and, as a second partition of the same total, its counties' counts: the
 * total is hidden whenever any study's or county's count is, so that no hidden count can be had by
 * subtracting shown ones from it.
 */
function yearOverall(year: number, bySubject: RatingSummary[], byCounty: RatingSummary[]): RatingSummary {
  const add = (xs: { count: number; sum: number }[]) => totals(xs, ['count', 'sum']);
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
  const feedback = createCountedFeedback(db);
  const statements = db.collection<StatementDoc>('statements');
  const writer = createAuditedWriter(db, 'feedback');

  /** The ratings of a batch of studies, in key order (a study without feedback gets an empty summary): one `find` by `_id`. */
  async function studySummaries(ids: string[]): Promise<RatingSummary[]> {
    const cells = await readCells(
      feedback.figures,
      RATING_BY_STUDY,
      ids.map((study) => ({ study })),
    );
    return ids.map((id, i) => summarize(id, cells[i] ? [cells[i]] : []));
  }

  /**
   * The ratings of a batch of subjects, in key order (a subject without feedback gets an empty
   * summary): one `find` of their per-study cells, so that a subject's summary knows the study counts
   * it adds up (small-number suppression hides a total whose cells are hidden).
   */
  async function subjectSummaries(codes: string[]): Promise<RatingSummary[]> {
    const cells = groupBy(await findCells(feedback.figures, RATING_BY_SUBJECT_STUDY, { subject: { $in: codes } }), (c) => String(c.subject));
    return codes.map((code) =>
      summarize(
        code,
        (cells.get(code) ?? []).sort((a, b) => byCodeUnits(String(a.study), String(b.study))),
      ),
    );
  }

  /**
   * The ratings of a batch of years, in key order: one `find` whatever the number of years or
   * answers (a year's cells per subject and study, and per county), the year's overall figures
   * rolled up from them.
   */
  async function yearRatings(years: number[]): Promise<YearRatings[]> {
    const cells = await findCells(feedback.figures, RATING_BY_YEAR, { year: { $in: years } });
    const partition = (ofYear: FigureDoc[], by: 'subject' | 'county') => {
      const of = groupBy(
        ofYear.filter((c) => c.by === by),
        (c) => String(c.value),
      );
      return [...of.keys()].sort(byCodeUnits).map((key) =>
        summarize(
          key,
          of.get(key)!.sort((a, b) => byCodeUnits(String(a.study), String(b.study))),
        ),
      );
    };
    return groupByKey(years, cells, (c) => c.year as number).map((ofYear, i) => {
      const year = years[i]!;
      const bySubject = partition(ofYear, 'subject');
      const byCounty = partition(ofYear, 'county');
      return { year, overall: yearOverall(year, bySubject, byCounty), bySubject, byCounty };
    });
  }

  return {
    /** Its outbox: the events its writes commit, served as the feed. */
    outbox: writer.outbox,
    outboxHead: () => writer.outbox.head(),
    /** Creates the indexes every lookup and list of the resolvers uses. */
    async ensureIndexes(): Promise<void> {
      // The figures are read from their cells (no read groups the answers by subject or year any more).
      await feedback.collection.createIndexes([{ key: { study: 1, givenAt: -1, _id: 1 } }]);
      await statements.createIndexes([{ key: { publishedAt: -1, _id: 1 } }]);
      await feedback.collection.createIndexes([{ key: { participant: 1 }, unique: true, partialFilterExpression: { participant: { $type: 'string' } } }]);
      await feedback.ensureIndexes();
      await writer.ensureIndexes();
    },
    async insertFeedback(doc: FeedbackDoc, line: AuditDoc, idempotency: Idempotency<Feedback>): Promise<Feedback> {
      return writer.insert(feedback, doc, line, { message: 'You have already given feedback on this study', field: 'input.study' }, idempotency);
    },
    async insertStatement(
      doc: StatementDoc,
      line: AuditDoc,
      idempotency: Idempotency<ReturnType<typeof withId<StatementDoc>>>,
    ): Promise<ReturnType<typeof withId<StatementDoc>>> {
      return writer.insert(statements, doc, line, null, idempotency, () => [statementEvent(doc)]);
    },
    /** The studies some feedback is linked to a participant on (the ones an erasure hashes the teacher with). */
    participantStudies(): Promise<string[]> {
      return feedback.collection.distinct('study', { participant: { $type: 'string' } });
    },
    /**
     * Removes these participant hashes (GDPR erasure): the feedback stays in every figure, tied to
     * nobody. Through the counted collection, in a transaction, like every write of the feedback:
     * today's figures do not count the hash, but a figure that someday does must move with it.
     */
    async unlinkParticipants(participants: string[]): Promise<number> {
      if (participants.length === 0) return 0;
      return inTransaction(db, (session) => feedback.updateMany({ participant: { $in: participants } }, { $unset: { participant: '' } }, session));
    },
    async feedbackById(id: string): Promise<Feedback | null> {
      const doc = await feedback.collection.findOne({ _id: id });
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
      return (
        await statements
          .find(afterCursor({}, window))
          .sort(keysetSort(STATEMENT_ORDER))
          .limit(window.limit + 1)
          .toArray()
      ).map(withId);
    },
    countStatements(): Promise<number> {
      return statements.countDocuments();
    },
    async feedbackOn(study: string, window: PageWindow): Promise<Feedback[]> {
      return (
        await feedback.collection
          .find(afterCursor({ study }, window))
          .sort(keysetSort(FEEDBACK_ORDER))
          .limit(window.limit + 1)
          .toArray()
      ).map(withId);
    },
    /** The ratings of a batch of studies, in key order; a study's `count` is also its feedback's `totalCount`. */
    studySummaries,
    /** The ratings of a batch of subjects, in key order. */
    subjectSummaries,
    /** The strategy insights' ratings of a batch of years, in key order (a year without feedback has empty figures). */
    yearRatings,
  };
}

/** The feedback store. */
export type FeedbackStore = ReturnType<typeof createFeedbackStore>;
