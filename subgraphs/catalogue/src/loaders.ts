import { createByKeyLoader, createYearRowsLoader } from '@partnerskap/kit';
import { type CatalogueStore } from './store.js';

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= load());
}

/** The catalogue's DataLoaders: a new set per request. */
export function createLoaders(store: CatalogueStore) {
  return {
    study: createByKeyLoader(
      (ids) => store.studiesByIds(ids),
      (s) => s.id,
    ),
    subject: createByKeyLoader(
      (codes) => store.subjectsByCodes(codes),
      (s) => s.id,
    ),
    round: createByKeyLoader(
      (years) => store.roundsByYears(years.map(Number)),
      (r) => String(r.id),
    ),
    allocation: createByKeyLoader(
      (ids) => store.allocationsByIds(ids),
      (a) => a.id,
    ),
    /** A year's studies grouped by subject, grade band and status (the insights' offers), and its allocations by subject, grade band, county, decision and scheme (the funding). */
    yearGroups: createYearRowsLoader((years) => store.yearGroups(years)),
    /** All requirements, read at most once per request. */
    requirements: once(() => store.requirements()),
  };
}

/** The catalogue's loaders. */
export type CatalogueLoaders = ReturnType<typeof createLoaders>;
