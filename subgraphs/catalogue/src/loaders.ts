import DataLoader from 'dataloader';
import { createByKeyLoader } from '@partnerskap/kit';
import { type CatalogueStore } from './store.js';

/** A per-request loader of groups by year: one aggregation per batch of years. */
function byYear<G extends { year: number }>(fetch: (years: number[]) => Promise<G[]>): DataLoader<number, G[]> {
  return new DataLoader<number, G[]>(async (years) => {
    const groups = new Map<number, G[]>(years.map((y) => [y, []]));
    for (const g of await fetch([...years])) groups.get(g.year)?.push(g);
    return years.map((y) => groups.get(y)!);
  });
}

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
    /** A year's studies grouped by subject, grade band and status (the insights' offers). */
    offerGroups: byYear((years) => store.offerGroups(years)),
    /** A year's allocations grouped by subject, grade band, county, decision and scheme (the insights' funding). */
    allocationGroups: byYear((years) => store.allocationGroups(years)),
    /** All requirements, read at most once per request. */
    requirements: once(() => store.requirements()),
  };
}

/** The catalogue's loaders. */
export type CatalogueLoaders = ReturnType<typeof createLoaders>;
