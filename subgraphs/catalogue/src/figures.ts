/**
 * The figures the catalogue keeps (issue 19): what one study and one allocation count in. The
 * store's writes move these cells in their transactions; the insights and the studies' `totalCount`
 * read them. A light module (no server), so that the seed and the reconcile command can rebuild
 * and check the very sets the store uses.
 */
import { type Db } from 'mongodb';
import { type CountedFigures, type FigureSet, createCounted } from '@partnerskap/kit';
import { type AllocationDoc, type StudyDoc } from './store.js';

/**
 * The studies of a year per subject, grade band and status: how many, and their places. The
 * insights' offers read a year's cells (about a hundred); the studies' `totalCount` sums the
 * cells its filter names when it filters by these fields only.
 */
export const OFFER_FIGURES: FigureSet<StudyDoc> = {
  name: 'offersByYear',
  key: ['year', 'subject', 'gradeBand', 'status'],
  sums: ['offers', 'places'],
  // The reads filter by year, by year and subject, and by year, subject and grade band (the benchmarks' lists).
  indexes: [{ year: 1, subject: 1, gradeBand: 1 }],
  cells: (s) => [
    {
      key: { year: s.year ?? null, subject: s.subject ?? null, gradeBand: s.gradeBand ?? null, status: s.status ?? null },
      // As `$sum: '$places'` did: a value that is not a number adds nothing.
      add: { offers: 1, places: typeof s.places === 'number' ? s.places : 0 },
    },
  ],
};

/** The allocations of a year per subject, grade band, county, decision and scheme (none is null): how many. The insights' funding. */
export const ALLOCATION_FIGURES: FigureSet<AllocationDoc> = {
  name: 'allocationsByYear',
  key: ['year', 'subject', 'gradeBand', 'county', 'funded', 'scheme'],
  sums: ['n'],
  indexes: [{ year: 1 }],
  cells: (a) => [
    {
      key: {
        year: a.year ?? null,
        subject: a.subject ?? null,
        gradeBand: a.gradeBand ?? null,
        county: a.county ?? null,
        funded: a.funded ?? null,
        scheme: a.scheme ?? null,
      },
      add: { n: 1 },
    },
  ],
};

/** The catalogue's counted collections, with the sets above: the store writes through them. */
export function createCatalogueFigures(db: Db) {
  return {
    studies: createCounted(db, 'studies', [OFFER_FIGURES]),
    allocations: createCounted(db, 'allocations', [ALLOCATION_FIGURES]),
  };
}

/** The catalogue's counted collections as seed, repair and reconcile take them (`SubgraphModule.figures`). */
export const figures = (db: Db): readonly CountedFigures[] => {
  const { studies, allocations } = createCatalogueFigures(db);
  return [studies, allocations];
};
