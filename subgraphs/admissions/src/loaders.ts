import { type Projections, type StudyState, createByKeyLoader, createRowsLoader, createYearRowsLoader } from '@partnerskap/kit';
import DataLoader from 'dataloader';
import { type AdmissionsStore, type FunnelCounts } from './store.js';

/** One school owner's applications of one year. */
export interface OwnerYear {
  owner: string;
  year: number;
}

/** The admissions DataLoaders: a new set per request. */
export function createLoaders(store: AdmissionsStore, projections: Projections) {
  return {
    /** A study offer as admissions keeps it from the catalogue's events (null when none is kept), one read for a batch. */
    offer: createByKeyLoader(
      async (ids) => [...(await projections.getMany<StudyState>('study', ids)).values()],
      (s) => s.id,
    ),
    institution: createByKeyLoader(
      (ids) => store.institutionsByIds(ids),
      (i) => i.id,
    ),
    application: createByKeyLoader(
      (ids) => store.applicationsByIds(ids),
      (a) => a.id,
    ),
    studyFigures: createByKeyLoader(
      (ids) => store.studyFigures(ids),
      (f) => f._id,
    ),
    /** A teacher's applications, one query for a batch of teachers. */
    teacherApplications: createRowsLoader(
      (teachers: string[]) => store.applicationsOfTeachers(teachers),
      (a) => a.teacher,
    ),
    /** A year's funnel cells per school owner and county (the insights' total, byCounty and byOwner share them). */
    funnelByOwner: createYearRowsLoader((years) => store.funnelByOwner(years)),
    /** A year's funnel cells per subject and grade band (bySubject, byGradeBand and vacantSeats share them). */
    funnelBySubject: createYearRowsLoader((years) => store.funnelBySubject(years)),
    /** One owner's funnel of one year (null when it has no applications), one read by `_id`s for a batch. */
    ownerFunnel: new DataLoader<OwnerYear, FunnelCounts | null, string>((keys) => store.ownerFunnels(keys), { cacheKeyFn: (k) => `${k.year}\u0000${k.owner}` }),
  };
}

/** The admissions loaders. */
export type AdmissionsLoaders = ReturnType<typeof createLoaders>;
