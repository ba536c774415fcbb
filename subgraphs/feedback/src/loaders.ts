import { createByKeyLoader } from '@partnerskap/kit';
import { type FeedbackStore } from './store.js';

/** The feedback DataLoaders: a new set per request. */
export function createLoaders(store: FeedbackStore) {
  return {
    union: createByKeyLoader(
      (ids) => store.unionsByIds(ids),
      (u) => u.id,
    ),
    studyRating: createByKeyLoader(
      (ids) => store.studySummaries(ids),
      (s) => s.key,
    ),
    subjectRating: createByKeyLoader(
      (codes) => store.subjectSummaries(codes),
      (s) => s.key,
    ),
    /** The strategy insights' ratings per year (keys are years as strings): one batch for all years of a request. */
    yearRatings: createByKeyLoader(
      (years) => store.yearRatings(years.map(Number)),
      (r) => String(r.year),
    ),
  };
}

/** The feedback loaders. */
export type FeedbackLoaders = ReturnType<typeof createLoaders>;
