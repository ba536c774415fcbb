import { type Db } from 'mongodb';
import { type PageWindow, withId } from '@partnerskap/kit';

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
  byTopic: { topic: string; average: number | null; count: number | null }[];
}

export type Feedback = ReturnType<typeof withId<FeedbackDoc>>;

const TOPIC_ORDER = ['RELEVANCE', 'QUALITY', 'WORKLOAD', 'ORGANISATION', 'SCHOOL_SUPPORT'];
const round2 = (n: number): number => Math.round(n * 100) / 100;

/** The feedback subgraph's data access. */
export function createFeedbackStore(db: Db) {
  const unions = db.collection<UnionDoc>('unions');
  const feedback = db.collection<FeedbackDoc>('feedback');
  const statements = db.collection<StatementDoc>('statements');

  /** Overall and per-topic averages for a batch of studies or subjects: two aggregations. */
  async function summaries(field: 'study' | 'subject', keys: string[]): Promise<RatingSummary[]> {
    const match = { $match: { [field]: { $in: keys } } };
    const [overall, topics] = await Promise.all([
      feedback.aggregate<{ _id: string; count: number; average: number }>([match, { $group: { _id: `$${field}`, count: { $sum: 1 }, average: { $avg: '$rating' } } }]).toArray(),
      feedback
        .aggregate<{ _id: { key: string; topic: string }; count: number; average: number }>([
          match,
          { $unwind: '$topics' },
          { $group: { _id: { key: `$${field}`, topic: '$topics.topic' }, count: { $sum: 1 }, average: { $avg: '$topics.rating' } } },
        ])
        .toArray(),
    ]);
    return keys.map((key) => {
      const all = overall.find((o) => o._id === key);
      const byTopic = topics
        .filter((t) => t._id.key === key)
        .map((t) => ({ topic: t._id.topic, average: round2(t.average), count: t.count }))
        .sort((a, b) => TOPIC_ORDER.indexOf(a.topic) - TOPIC_ORDER.indexOf(b.topic));
      return { key, count: all?.count ?? 0, average: all ? round2(all.average) : null, byTopic };
    });
  }

  return {
    /** Creates the indexes every lookup and list of the resolvers uses. */
    async ensureIndexes(): Promise<void> {
      await feedback.createIndexes([{ key: { study: 1, givenAt: -1 } }, { key: { subject: 1 } }, { key: { year: 1 } }]);
      await statements.createIndexes([{ key: { publishedAt: -1, _id: 1 } }]);
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
