import DataLoader from 'dataloader';
import { createByKeyLoader } from '@partnerskap/kit';
import { type CatalogueStore, type YearGroups } from './store.js';

/** A per-request loader of a year's groups (offers and allocations): one read of their cells per batch of years. */
function yearGroups(store: CatalogueStore): DataLoader<number, YearGroups> {
  return new DataLoader<number, YearGroups>(async (years) => {
    const byYear = new Map<number, YearGroups>(years.map((y) => [y, { offers: [], allocations: [] }]));
    const { offers, allocations } = await store.yearGroups([...years]);
    for (const g of offers) byYear.get(g.year)?.offers.push(g);
    for (const g of allocations) byYear.get(g.year)?.allocations.push(g);
    return years.map((y) => byYear.get(y)!);
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
    /** A year's studies grouped by subject, grade band and status (the insights' offers), and its allocations by subject, grade band, county, decision and scheme (the funding). */
    yearGroups: yearGroups(store),
    /** All requirements, read at most once per request. */
    requirements: once(() => store.requirements()),
  };
}

/** The catalogue's loaders. */
export type CatalogueLoaders = ReturnType<typeof createLoaders>;
