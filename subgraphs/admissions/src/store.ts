import { type Db, type Filter } from 'mongodb';
import { NB, type PageWindow, withId } from '@partnerskap/kit';

/** An institution as stored; `_id` is its organisation number. */
export interface InstitutionDoc {
  _id: string;
  name: string;
  shortName: string;
  campuses: string[];
}

/** An application as stored, with the dimensions reports group by copied in when it was written. */
export interface ApplicationDoc {
  _id: string;
  teacher: string;
  study: string;
  year: number;
  subject: string;
  gradeBand: string;
  institution: string;
  owner: string;
  county: string;
  /** A projection of the owner's decision: approved or not (institutions see the application only then). */
  ownerApproved: boolean;
  firstChoice: { campus: string; fundingScheme: string };
  secondChoice: { campus: string; fundingScheme: string } | null;
  submittedAt: Date;
  admission: { outcome: string; outsideSchemes: boolean; decidedAt: Date } | null;
  enrolment: { enrolledAt: Date; withdrawnAt: Date | null } | null;
  creditsCompleted: number;
  completedAt: Date | null;
}

/** Admission figures of one study offer. */
export interface StudyFigures {
  _id: string;
  applicants: number;
  admitted: number;
  waitlisted: number;
}

export type Institution = ReturnType<typeof withId<InstitutionDoc>>;
export type Application = ReturnType<typeof withId<ApplicationDoc>>;

/** What applications can be filtered by (already validated). */
export interface ApplicationQuery {
  year?: number | undefined;
  study?: string | undefined;
  subject?: string | undefined;
  gradeBand?: string | undefined;
  institution?: string | undefined;
  owner?: string | undefined;
  county?: string | undefined;
  admission?: string | undefined;
  teacher?: string | undefined;
  ownerApproved?: boolean | undefined;
}

function applicationFilter(q: ApplicationQuery): Filter<ApplicationDoc> {
  const f: Filter<ApplicationDoc> = {};
  if (q.year !== undefined) f.year = q.year;
  if (q.study !== undefined) f.study = q.study;
  if (q.subject !== undefined) f.subject = q.subject;
  if (q.gradeBand !== undefined) f.gradeBand = q.gradeBand;
  if (q.institution !== undefined) f.institution = q.institution;
  if (q.owner !== undefined) f.owner = q.owner;
  if (q.county !== undefined) f.county = q.county;
  if (q.admission !== undefined) f['admission.outcome'] = q.admission;
  if (q.teacher !== undefined) f.teacher = q.teacher;
  if (q.ownerApproved !== undefined) f.ownerApproved = q.ownerApproved;
  return f;
}

/** The admissions subgraph's data access. */
export function createAdmissionsStore(db: Db) {
  const institutions = db.collection<InstitutionDoc>('institutions');
  const applications = db.collection<ApplicationDoc>('applications');
  return {
    /** Creates the indexes every lookup and list of the resolvers uses. */
    async ensureIndexes(): Promise<void> {
      await applications.createIndexes([
        { key: { study: 1 } },
        { key: { year: -1, _id: 1 } },
        { key: { teacher: 1, year: 1 } },
        { key: { owner: 1, year: 1 } },
        { key: { institution: 1, year: 1 } },
        { key: { county: 1, year: 1 } },
      ]);
    },
    async institutions(): Promise<Institution[]> {
      return (await institutions.find().sort({ name: 1, _id: 1 }).collation(NB).toArray()).map(withId);
    },
    async institutionsByIds(ids: string[]): Promise<Institution[]> {
      return (await institutions.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    async applicationsByIds(ids: string[]): Promise<Application[]> {
      return (await applications.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    async listApplications(q: ApplicationQuery, window: PageWindow): Promise<Application[]> {
      const docs = await applications
        .find(applicationFilter(q))
        .sort({ year: -1, _id: 1 })
        .skip(window.skip)
        .limit(window.limit + 1)
        .toArray();
      return docs.map(withId);
    },
    /** Every application of the given teachers, newest year first. */
    async applicationsOfTeachers(teachers: string[]): Promise<Application[]> {
      return (await applications.find({ teacher: { $in: teachers } }).sort({ year: -1, _id: 1 }).toArray()).map(withId);
    },
    /** Moves a teacher's applications to a new pseudonym (one update; each document is changed atomically). */
    async rekeyTeacher(teacher: string, pseudonym: string): Promise<number> {
      return (await applications.updateMany({ teacher }, { $set: { teacher: pseudonym } })).modifiedCount;
    },
    countApplications(q: ApplicationQuery): Promise<number> {
      return applications.countDocuments(applicationFilter(q));
    },
    /** Applicants, admitted and waitlisted per study, one aggregation for a batch of studies. */
    studyFigures(studyIds: string[]): Promise<StudyFigures[]> {
      const count = (outcome: string) => ({ $sum: { $cond: [{ $eq: ['$admission.outcome', outcome] }, 1, 0] } });
      return applications
        .aggregate<StudyFigures>([
          { $match: { study: { $in: studyIds } } },
          { $group: { _id: '$study', applicants: { $sum: 1 }, admitted: count('ADMITTED'), waitlisted: count('WAITLISTED') } },
        ])
        .toArray();
    },
  };
}

/** The admissions store. */
export type AdmissionsStore = ReturnType<typeof createAdmissionsStore>;
