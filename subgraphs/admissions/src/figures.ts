/**
 * The figures admissions serves, kept as applications are written (issue 19): per study (the
 * studies' applicants, admitted and waitlisted), and the strategy insights' funnel per year and
 * owner and county, per year and study (in its subject and grade band), and per year and owner.
 * Every write of `applications` goes through {@link createCountedApplications}. A light module (no
 * server), so that the seed and the reconcile command rebuild and check the very sets the store uses.
 */
import { type Db } from 'mongodb';
import { type CellContribution, type Counted, type CountedFigures, type FigureDoc, type FigureSet, createCounted } from '@partnerskap/kit';
import { type ApplicationDoc, type FunnelCounts } from './store.js';

/** What one application adds to a funnel cell. */
const FUNNEL_SUMS = ['applications', 'admitted', 'waitlisted', 'rejected', 'withdrawn', 'completed', 'credits', 'credited'] as const;

/**
 * One application's part in a funnel cell, exactly as the `$group` these cells replace counted it:
 * a date is a set date (neither null nor missing, `$type: 'date'`); credits sum numbers only, and an
 * application counts as credited unless its credits equal 0 (missing ones too).
 */
function funnelOf(a: ApplicationDoc): Record<(typeof FUNNEL_SUMS)[number], number> {
  const outcome = a.admission?.outcome;
  const credits: unknown = a.creditsCompleted;
  return {
    applications: 1,
    admitted: outcome === 'ADMITTED' ? 1 : 0,
    waitlisted: outcome === 'WAITLISTED' ? 1 : 0,
    rejected: outcome === 'REJECTED' ? 1 : 0,
    // Before enrolling and after: the rules keep them apart (one excludes the other), each counts.
    withdrawn: (a.withdrawnAt instanceof Date ? 1 : 0) + (a.enrolment?.withdrawnAt instanceof Date ? 1 : 0),
    completed: a.completedAt instanceof Date ? 1 : 0,
    credits: typeof credits === 'number' ? credits : 0,
    credited: credits === 0 ? 0 : 1,
  };
}

const one = (key: CellContribution['key'], add: CellContribution['add']): readonly CellContribution[] => [{ key, add }];

/** Applicants, admitted and waitlisted per study (`Study.applicants`, `admitted`, `waitlisted`, `vacantSeats`; the places rule). */
export const STUDY_FIGURES: FigureSet<ApplicationDoc> = {
  name: 'studyFigures',
  key: ['study'],
  sums: ['applicants', 'admitted', 'waitlisted'],
  cells: (a) => {
    const { applications, admitted, waitlisted } = funnelOf(a);
    return one({ study: a.study }, { applicants: applications, admitted, waitlisted });
  },
};

/** The funnel per year, school owner and county (the insights' total, byCounty and byOwner). */
export const FUNNEL_BY_OWNER: FigureSet<ApplicationDoc> = {
  name: 'funnelByOwner',
  key: ['year', 'owner', 'county'],
  sums: FUNNEL_SUMS,
  indexes: [{ year: 1 }],
  cells: (a) => one({ year: a.year, owner: a.owner, county: a.county }, funnelOf(a)),
};

/** The funnel per year, subject, grade band and study (the insights' bySubject, byGradeBand, vacantSeats). */
export const FUNNEL_BY_SUBJECT: FigureSet<ApplicationDoc> = {
  name: 'funnelBySubject',
  key: ['year', 'subject', 'gradeBand', 'study'],
  sums: FUNNEL_SUMS,
  // Read by year too: FUNNEL_BY_OWNER's `{ set: 1, year: 1 }` serves it (MongoDB refuses two identical indexes in one createIndexes).
  cells: (a) => one({ year: a.year, subject: a.subject, gradeBand: a.gradeBand, study: a.study }, funnelOf(a)),
};

/** The funnel per year and school owner, all counties (`SchoolOwner.admissionFigures`): read by `_id`. */
export const FUNNEL_OF_OWNER: FigureSet<ApplicationDoc> = {
  name: 'funnelOfOwner',
  key: ['year', 'owner'],
  sums: FUNNEL_SUMS,
  cells: (a) => one({ year: a.year, owner: a.owner }, funnelOf(a)),
};

/** Every figure set of `applications`. */
export const APPLICATION_FIGURES: readonly FigureSet<ApplicationDoc>[] = [STUDY_FIGURES, FUNNEL_BY_OWNER, FUNNEL_BY_SUBJECT, FUNNEL_OF_OWNER];

/** The applications, whose every write moves their figures in the write's transaction. */
export function createCountedApplications(db: Db): Counted<ApplicationDoc> {
  return createCounted(db, 'applications', APPLICATION_FIGURES);
}

/** The admissions' counted collections as seed, repair and reconcile take them (`SubgraphModule.figures`): the store's very sets. */
export const figures = (db: Db): readonly CountedFigures[] => [createCountedApplications(db)];

/** A sum of a cell (0 when absent). */
export const sumOf = (cell: FigureDoc, sum: string): number => Number(cell[sum] ?? 0);

/** A funnel cell's counts. */
export function funnelCounts(cell: FigureDoc): FunnelCounts {
  return Object.fromEntries(FUNNEL_SUMS.map((s) => [s, sumOf(cell, s)])) as unknown as FunnelCounts;
}
