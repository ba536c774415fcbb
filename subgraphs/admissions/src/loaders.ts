import { createByKeyLoader } from '@partnerskap/kit';
import { type AdmissionsStore } from './store.js';

/** The admissions DataLoaders: a new set per request. */
export function createLoaders(store: AdmissionsStore) {
  return {
    institution: createByKeyLoader((ids) => store.institutionsByIds(ids), (i) => i.id),
    application: createByKeyLoader((ids) => store.applicationsByIds(ids), (a) => a.id),
    studyFigures: createByKeyLoader((ids) => store.studyFigures(ids), (f) => f._id),
  };
}

/** The admissions loaders. */
export type AdmissionsLoaders = ReturnType<typeof createLoaders>;
