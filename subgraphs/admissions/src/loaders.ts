import { createByKeyLoader } from '@partnerskap/kit';
import DataLoader from 'dataloader';
import { type AdmissionsStore, type Application } from './store.js';

/** The admissions DataLoaders: a new set per request. */
export function createLoaders(store: AdmissionsStore) {
  return {
    institution: createByKeyLoader((ids) => store.institutionsByIds(ids), (i) => i.id),
    application: createByKeyLoader((ids) => store.applicationsByIds(ids), (a) => a.id),
    studyFigures: createByKeyLoader((ids) => store.studyFigures(ids), (f) => f._id),
    /** A teacher's applications, one query for a batch of teachers. */
    teacherApplications: new DataLoader<string, Application[]>(async (teachers) => {
      const all = await store.applicationsOfTeachers([...teachers]);
      return teachers.map((t) => all.filter((a) => a.teacher === t));
    }),
  };
}

/** The admissions loaders. */
export type AdmissionsLoaders = ReturnType<typeof createLoaders>;
