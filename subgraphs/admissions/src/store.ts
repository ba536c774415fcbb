import { type Db, type Filter } from 'mongodb';
import { applicationEvent } from './events.js';
import { type AuditDoc, type Idempotency, type Identity, NB, type PageWindow, afterCursor, keysetOrder, keysetSort, createAuditedWriter, eqFilter, eraseTeacherFromEvents, inTransaction, withId } from '@partnerskap/kit';

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
  /** When the teacher withdrew before enrolling (absent on records from before withdrawal existed). */
  withdrawnAt?: Date | null;
}

/** Admission figures of one study offer. */
export interface StudyFigures {
  _id: string;
  applicants: number;
  admitted: number;
  waitlisted: number;
}

/** What became of a group of applications: the counts of one cell of the strategy insights' funnel. */
export interface FunnelCounts {
  /** Applications submitted. */
  applications: number;
  admitted: number;
  waitlisted: number;
  rejected: number;
  /** Withdrawn by the teacher, before enrolling or after. */
  withdrawn: number;
  /** Completed (`completedAt` set). */
  completed: number;
  /** Credits completed in all (partial credits of studies not completed included). */
  credits: number;
  /** Applications with any credits completed: the persons behind `credits`. */
  credited: number;
}

/** The funnel of one year's applications of one school owner in one county. */
export interface OwnerFunnel extends FunnelCounts {
  year: number;
  owner: string;
  county: string;
}

/** The funnel of one year's applications of one study (in its subject and grade band). */
export interface SubjectFunnel extends FunnelCounts {
  year: number;
  subject: string;
  gradeBand: string;
  study: string;
}

/** A set date (not null, not missing): `$type` means the same in MongoDB and in the embedded store's native grouping. */
const isDate = (path: string) => ({ $eq: [{ $type: path }, 'date'] });
const countIf = (condition: unknown) => ({ $sum: { $cond: [condition, 1, 0] } });
/**
 * The funnel's accumulators, for one `$group`: plain sums of one comparison each, the shape the
 * embedded store groups natively. A withdrawal is counted in two parts (before enrolling, after),
 * which the rules keep apart (one excludes the other).
 */
const FUNNEL_SUMS = {
  applications: { $sum: 1 },
  admitted: countIf({ $eq: ['$admission.outcome', 'ADMITTED'] }),
  waitlisted: countIf({ $eq: ['$admission.outcome', 'WAITLISTED'] }),
  rejected: countIf({ $eq: ['$admission.outcome', 'REJECTED'] }),
  withdrawnBefore: countIf(isDate('$withdrawnAt')),
  withdrawnAfter: countIf(isDate('$enrolment.withdrawnAt')),
  completed: countIf(isDate('$completedAt')),
  credits: { $sum: '$creditsCompleted' },
  credited: { $sum: { $cond: [{ $eq: ['$creditsCompleted', 0] }, 0, 1] } },
};
/**
 * Every grouped cell in the first reply, so that a report is a fixed number of commands whatever
 * the number of cells (no getMore): a few hundred owners per year, each cell well under 1 kB of
 * the 16 MB a reply may hold.
 */
const ALL_CELLS = { batchSize: 100_000 } as const;
type FunnelRow<K> = Omit<FunnelCounts, 'withdrawn'> & { _id: K; withdrawnBefore: number; withdrawnAfter: number };
/** A grouped row with its key fields lifted out of `_id`. */
const flatten = <K extends object>({ _id, withdrawnBefore, withdrawnAfter, ...counts }: FunnelRow<K>): K & FunnelCounts => ({
  ..._id,
  ...counts,
  withdrawn: withdrawnBefore + withdrawnAfter,
});

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

/** The allow-listed fields applications are filtered by, each with `$eq`. */
function applicationFilter(q: ApplicationQuery): Filter<ApplicationDoc> {
  return eqFilter({
    year: q.year,
    study: q.study,
    subject: q.subject,
    gradeBand: q.gradeBand,
    institution: q.institution,
    owner: q.owner,
    county: q.county,
    'admission.outcome': q.admission,
    teacher: q.teacher,
    ownerApproved: q.ownerApproved,
  }) as Filter<ApplicationDoc>;
}

/** Thrown inside a transaction when the record changed since the rules read it: the transaction aborts. */
class StaleWrite extends Error {}

/** The applications' stable order: newest year first, then id; the index `{ year: -1, _id: 1 }` serves it. */
export const APPLICATION_ORDER = keysetOrder('applications', [{ field: 'year', direction: -1, type: 'number' }]);

/** The admissions subgraph's data access. */
export function createAdmissionsStore(db: Db) {
  const institutions = db.collection<InstitutionDoc>('institutions');
  const applications = db.collection<ApplicationDoc>('applications');
  const writer = createAuditedWriter(db, 'admissions');
  return {
    /** Its outbox: the events its writes commit, served as the feed. */
    outbox: writer.outbox,
    outboxHead: () => writer.outbox.head(),
    /** Creates the indexes every lookup and list of the resolvers uses. */
    async ensureIndexes(): Promise<void> {
      await applications.createIndexes([
        { key: { study: 1 } },
        { key: { year: -1, _id: 1 } },
        { key: { teacher: 1, year: 1 } },
        { key: { owner: 1, year: 1 } },
        { key: { institution: 1, year: 1 } },
        { key: { county: 1, year: 1 } },
        // One application per teacher and year.
        { key: { year: 1, teacher: 1 }, unique: true, name: 'one_application_per_teacher_and_year' },
      ]);
      await writer.ensureIndexes();
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
        .find(afterCursor(applicationFilter(q), window))
        .sort(keysetSort(APPLICATION_ORDER))
        .limit(window.limit + 1)
        .toArray();
      return docs.map(withId);
    },
    /** Every application of the given teachers, newest year first. */
    async applicationsOfTeachers(teachers: string[]): Promise<Application[]> {
      return (await applications.find({ teacher: { $in: teachers } }).sort({ year: -1, _id: 1 }).toArray()).map(withId);
    },
    /** Moves a teacher's applications and audit lines to a new pseudonym, in one transaction. */
    async rekeyTeacher(teacher: string, pseudonym: string, at: Date): Promise<number> {
      const n = await inTransaction(db, async (session) => {
        await writer.rekeyActor(teacher, pseudonym, session);
        const n = (await applications.updateMany({ teacher }, { $set: { teacher: pseudonym } }, { session })).modifiedCount;
        // Its events (and its copy of plans' teacher) stop naming the teacher too; the partners' copies follow by the events below.
        await eraseTeacherFromEvents(db, teacher, pseudonym, session);
        // The partners' copies follow: each application's new state, under the new pseudonym.
        const rekeyed = await applications.find({ teacher: pseudonym }, { session }).toArray();
        await writer.outbox.add(rekeyed.map((a) => applicationEvent('application.erased', a)), at, session);
        return n;
      });
      writer.outbox.committed();
      return n;
    },
    /** Stores a new application (one per teacher and year: CONFLICT otherwise). */
    async insertApplication(doc: ApplicationDoc, line: AuditDoc, idempotency: Idempotency<Application>): Promise<Application> {
      return writer.insert(applications, doc, line, { message: 'You have already applied this year: one application per teacher and year', field: 'input.study' }, idempotency, () => [
        applicationEvent('application.submitted', doc),
      ]);
    },
    /** The first result of a request made before with the same idempotency key, if any. */
    replayed: <T>(idempotency: Idempotency<T>) => writer.replayed(idempotency),
    /** Changes an application only if it still is as the rules saw it (`expect`); null (nothing written) when it changed meanwhile. */
    async updateApplication(id: string, expect: Filter<ApplicationDoc>, set: Partial<ApplicationDoc>, line: AuditDoc, event: string): Promise<Application | null> {
      const doc = await writer
        .write(
          line,
          null,
          async (session) => {
            const updated = await applications.findOneAndUpdate({ ...expect, _id: id }, { $set: set }, { session, returnDocument: 'after' });
            if (!updated) throw new StaleWrite();
            return updated;
          },
          undefined,
          (a) => [applicationEvent(event, a)],
        )
        .catch((err: unknown) => {
        if (err instanceof StaleWrite) return null;
        throw err;
      });
      return doc ? withId(doc) : null;
    },
    countAdmitted(study: string): Promise<number> {
      return applications.countDocuments({ study, 'admission.outcome': 'ADMITTED' });
    },
    auditLines(identity: Identity, first: number): Promise<AuditDoc[]> {
      return writer.lines(identity, first);
    },
    countApplications(q: ApplicationQuery): Promise<number> {
      return applications.countDocuments(applicationFilter(q));
    },
    /** The funnel per year, school owner and county: one aggregation for a batch of years (a few hundred cells each). */
    async funnelByOwner(years: number[]): Promise<OwnerFunnel[]> {
      const rows = await applications
        .aggregate<FunnelRow<{ year: number; owner: string; county: string }>>([
          { $match: { year: { $in: years } } },
          { $group: { _id: { year: '$year', owner: '$owner', county: '$county' }, ...FUNNEL_SUMS } },
        ], ALL_CELLS)
        .toArray();
      return rows.map(flatten);
    },
    /**
     * The funnel per year, subject, grade band and study: one aggregation for a batch of years (a
     * few hundred cells each). Per study, since the API shows each study's applicants too and a
     * subject's figures must add up from those as shown (`shownTotal`).
     */
    async funnelBySubject(years: number[]): Promise<SubjectFunnel[]> {
      const rows = await applications
        .aggregate<FunnelRow<{ year: number; subject: string; gradeBand: string; study: string }>>([
          { $match: { year: { $in: years } } },
          { $group: { _id: { year: '$year', subject: '$subject', gradeBand: '$gradeBand', study: '$study' }, ...FUNNEL_SUMS } },
        ], ALL_CELLS)
        .toArray();
      return rows.map(flatten);
    },
    /** The funnel of the given school owners in the given years (per year and owner, all counties): one aggregation. */
    async funnelOfOwners(years: number[], owners: string[]): Promise<(FunnelCounts & { year: number; owner: string })[]> {
      const rows = await applications
        .aggregate<FunnelRow<{ year: number; owner: string }>>([
          { $match: { year: { $in: years }, owner: { $in: owners } } },
          { $group: { _id: { year: '$year', owner: '$owner' }, ...FUNNEL_SUMS } },
        ], ALL_CELLS)
        .toArray();
      return rows.map(flatten);
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
