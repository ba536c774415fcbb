import { createByKeyLoader } from '@partnerskap/kit';
import { type CatalogueStore } from './store.js';

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= load());
}

/** The catalogue's DataLoaders: a new set per request. */
export function createLoaders(store: CatalogueStore) {
  return {
    study: createByKeyLoader((ids) => store.studiesByIds(ids), (s) => s.id),
    subject: createByKeyLoader((codes) => store.subjectsByCodes(codes), (s) => s.id),
    round: createByKeyLoader((years) => store.roundsByYears(years.map(Number)), (r) => String(r.id)),
    allocation: createByKeyLoader((ids) => store.allocationsByIds(ids), (a) => a.id),
    /** All requirements, read at most once per request. */
    requirements: once(() => store.requirements()),
  };
}

/** The catalogue's loaders. */
export type CatalogueLoaders = ReturnType<typeof createLoaders>;
