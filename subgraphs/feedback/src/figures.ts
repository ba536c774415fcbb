/**
 * The figures feedback keeps (issue 19): what one answer counts in. The store's writes move these
 * cells in their transactions; `Study.rating`, `Subject.rating` and `Insights.ratings` read them.
 * A light module (no server): the seed and the reconcile command import it.
 */
import { type Db } from 'mongodb';
import { type Counted, type CountedFigures, type FigureSet, createCounted } from '@partnerskap/kit';
import { type FeedbackDoc } from './store.js';

/** The schema's `FeedbackTopic`s, in the order summaries list them. */
export const TOPIC_ORDER = ['RELEVANCE', 'QUALITY', 'WORKLOAD', 'ORGANISATION', 'SCHOOL_SUPPORT'] as const;
export type Topic = (typeof TOPIC_ORDER)[number];

/** A cell's field counting the answers that rated `topic`. */
export const topicCount = (topic: Topic) => `t_${topic}_count`;
/** A cell's field summing the ratings of `topic`. */
export const topicSum = (topic: Topic) => `t_${topic}_sum`;
/**
 * What every rating cell sums: answers and their overall ratings, and per topic (the schema's fixed
 * `FeedbackTopic` list, one pair of fields each) the answers that rated it and their ratings, so that
 * a summary overall and per topic is one cell per study.
 */
const RATING_SUMS = ['count', 'sum', ...TOPIC_ORDER.flatMap((t) => [topicCount(t), topicSum(t)])];
// As `$sum` counted them: a rating that is not a number adds nothing.
const ratingOf = (x: unknown) => (typeof x === 'number' ? x : 0);

/** What one answer adds to each cell it counts in (a topic outside the schema's list counts nowhere, as the API cannot name it). */
function ratingAdd(doc: FeedbackDoc): Record<string, number> {
  const add: Record<string, number> = { count: 1, sum: ratingOf(doc.rating) };
  for (const t of Array.isArray(doc.topics) ? doc.topics : []) {
    if (!TOPIC_ORDER.includes(t.topic as Topic)) continue;
    const topic = t.topic as Topic;
    add[topicCount(topic)] = (add[topicCount(topic)] ?? 0) + 1;
    add[topicSum(topic)] = (add[topicSum(topic)] ?? 0) + ratingOf(t.rating);
  }
  return add;
}

/** A study's ratings (`Study.rating`, the feedback list's `totalCount`): one cell per study, read by `_id`. */
export const RATING_BY_STUDY: FigureSet<FeedbackDoc> = {
  name: 'ratingByStudy',
  key: ['study'],
  sums: RATING_SUMS,
  cells: (d) => [{ key: { study: d.study }, add: ratingAdd(d) }],
};
/** A subject's ratings, per study of it (its summary's cells are its studies' counts). */
export const RATING_BY_SUBJECT_STUDY: FigureSet<FeedbackDoc> = {
  name: 'ratingBySubjectStudy',
  key: ['subject', 'study'],
  sums: RATING_SUMS,
  indexes: [{ subject: 1 }],
  cells: (d) => [{ key: { subject: d.subject, study: d.study }, add: ratingAdd(d) }],
};
/**
 * A year's ratings (the strategy insights), in two partitions told apart by `by`: per subject and
 * study (`value` the subject), and per county (`value` the county, no study). One set, so that a
 * batch of years is one `find`.
 */
export const RATING_BY_YEAR: FigureSet<FeedbackDoc> = {
  name: 'ratingByYear',
  key: ['year', 'by', 'value', 'study'],
  sums: RATING_SUMS,
  indexes: [{ year: 1 }],
  cells: (d) => [
    { key: { year: d.year, by: 'subject', value: d.subject, study: d.study }, add: ratingAdd(d) },
    { key: { year: d.year, by: 'county', value: d.county, study: null }, add: ratingAdd(d) },
  ],
};
/** Every figure set the feedback collection keeps. */
export const FEEDBACK_FIGURES = [RATING_BY_STUDY, RATING_BY_SUBJECT_STUDY, RATING_BY_YEAR] as const;

/** The feedback collection, its writes keeping {@link FEEDBACK_FIGURES}: the store writes through it. */
export function createCountedFeedback(db: Db): Counted<FeedbackDoc> {
  return createCounted(db, 'feedback', FEEDBACK_FIGURES);
}

/** Feedback's counted collections, with the sets the store keeps: seed and repair rebuild them, reconcile checks them. */
export const figures = (db: Db): readonly CountedFigures[] => [createCountedFeedback(db)];
