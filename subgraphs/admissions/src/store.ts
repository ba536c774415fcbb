import { type Db, type Filter } from 'mongodb';
import { applicationEvent } from './events.js';
import { FUNNEL_BY_OWNER, FUNNEL_BY_SUBJECT, FUNNEL_OF_OWNER, STUDY_FIGURES, createCountedApplications, funnelCounts, sumOf } from './figures.js';
import {
  type AuditDoc,
  type FigureDoc,
  type Idempotency,
  type Identity,
  NB,
  type PageWindow,
  afterCursor,
  keysetOrder,
  keysetSort,
  createAuditedWriter,
  createCellQueue,
  eqFilter,
  eraseTeacherFromEvents,
  findCells,
  inTransaction,
  readCells,
  withId,
} from '@partnerskap/kit';

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
  });
}

/** Thrown inside a transaction when the record changed since the rules read it: the transaction aborts. */
class StaleWrite extends Error {}

/** The applications' stable order: newest year first, then id; the index `{ year: -1, _id: 1 }` serves it. */
export const APPLICATION_ORDER = keysetOrder('applications', [{ field: 'year', direction: -1, type: 'number' }]);

/** The admissions subgraph's data access. */
export function createAdmissionsStore(db: Db) {
  const institutions = db.collection<InstitutionDoc>('institutions');
  // Every write of an application moves its figures (figures.ts) in the same transaction; reads go to the collection.
  const counted = createCountedApplications(db);
  const applications = counted.collection;
  // Writes that move the same cells take turns in this process rather than conflict (the kit's cell-queue.ts).
  const queue = createCellQueue();
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
      await counted.ensureIndexes();
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
      return (
        await applications
          .find({ teacher: { $in: teachers } })
          .sort({ year: -1, _id: 1 })
          .toArray()
      ).map(withId);
    },
    /** Moves a teacher's applications and audit lines to a new pseudonym, in one transaction. */
    async rekeyTeacher(teacher: string, pseudonym: string, at: Date): Promise<number> {
      const n = await inTransaction(db, async (session) => {
        await writer.rekeyActor(teacher, pseudonym, session);
        const n = await counted.updateMany({ teacher }, { $set: { teacher: pseudonym } }, session);
        // Its events (and its copy of plans' teacher) stop naming the teacher too; the partners' copies follow by the events below.
        await eraseTeacherFromEvents(db, teacher, pseudonym, session);
        // The partners' copies follow: each application's new state, under the new pseudonym.
        const rekeyed = await applications.find({ teacher: pseudonym }, { session }).toArray();
        await writer.outbox.add(
          rekeyed.map((a) => applicationEvent('application.erased', a)),
          at,
          session,
        );
        return n;
      });
      writer.outbox.committed();
      return n;
    },
    /** Stores a new application (one per teacher and year: CONFLICT otherwise). */
    async insertApplication(doc: ApplicationDoc, line: AuditDoc, idempotency: Idempotency<Application>): Promise<Application> {
      return queue(counted.cellIds(doc), () =>
        writer.insert(
          counted,
          doc,
          line,
          { message: 'You have already applied this year: one application per teacher and year', field: 'input.study' },
          idempotency,
          () => [applicationEvent('application.submitted', doc)],
        ),
      );
    },
    /** The first result of a request made before with the same idempotency key, if any. */
    replayed: <T>(idempotency: Idempotency<T>) => writer.replayed(idempotency),
    /**
     * Changes an application only if it still is as the rules saw it (`expect`); null (nothing
     * written) when it changed meanwhile. `app` is the application as the rules read it (its cells).
     */
    async updateApplication(
      app: Application,
      expect: Filter<ApplicationDoc>,
      set: Partial<ApplicationDoc>,
      line: AuditDoc,
      event: string,
    ): Promise<Application | null> {
      const write = () =>
        writer.write(
          line,
          null,
          async (session) => {
            const updated = await counted.updateOne({ ...expect, _id: app.id }, { $set: set }, session);
            if (!updated) throw new StaleWrite();
            return updated;
          },
          undefined,
          (a) => [applicationEvent(event, a)],
        );
      const doc = await queue(counted.cellIds({ ...app, _id: app.id }), write).catch((err: unknown) => {
        if (err instanceof StaleWrite) return null;
        throw err;
      });
      return doc ? withId(doc) : null;
    },
    /** The admitted of one study (the places rule): one cell. */
    async countAdmitted(study: string): Promise<number> {
      const [cell] = await readCells(counted.figures, STUDY_FIGURES, [{ study }]);
      return cell ? sumOf(cell, 'admitted') : 0;
    },
    auditLines(identity: Identity, first: number): Promise<AuditDoc[]> {
      return writer.lines(identity, first);
    },
    /**
     * A filtered list's `totalCount`: counted over the documents, as the filter is any combination
     * of the allow-listed fields and the caller's visibility (no figure set is kept per combination).
     */
    countApplications(q: ApplicationQuery): Promise<number> {
      return applications.countDocuments(applicationFilter(q));
    },
    /** The funnel per year, school owner and county: one read of the kept cells for a batch of years (a few hundred each). */
    async funnelByOwner(years: number[]): Promise<OwnerFunnel[]> {
      const cells = await findCells(counted.figures, FUNNEL_BY_OWNER, { year: { $in: years } });
      return cells.map((c) => ({ year: c.year as number, owner: c.owner as string, county: c.county as string, ...funnelCounts(c) }));
    },
    /**
     * The funnel per year, subject, grade band and study: one read of the kept cells for a batch
     * of years (a few hundred each). Per study, since the API shows each study's applicants too and
     * a subject's figures must add up from those as shown (`shownTotal`).
     */
    async funnelBySubject(years: number[]): Promise<SubjectFunnel[]> {
      const cells = await findCells(counted.figures, FUNNEL_BY_SUBJECT, { year: { $in: years } });
      return cells.map((c) => ({
        year: c.year as number,
        subject: c.subject as string,
        gradeBand: c.gradeBand as string,
        study: c.study as string,
        ...funnelCounts(c),
      }));
    },
    /** The funnel of school owners in years (all counties), in key order, null for none: one read by `_id`s for a batch. */
    async ownerFunnels(keys: readonly { year: number; owner: string }[]): Promise<(FunnelCounts | null)[]> {
      const cells = await readCells(
        counted.figures,
        FUNNEL_OF_OWNER,
        keys.map((k) => ({ year: k.year, owner: k.owner })),
      );
      return cells.map((c) => (c ? funnelCounts(c) : null));
    },
    /** Applicants, admitted and waitlisted per study (none for a study without applications): one read by `_id`s for a batch. */
    async studyFigures(studyIds: string[]): Promise<StudyFigures[]> {
      const cells = await readCells(
        counted.figures,
        STUDY_FIGURES,
        studyIds.map((study) => ({ study })),
      );
      return cells.flatMap((c: FigureDoc | null, i) =>
        c ? [{ _id: studyIds[i]!, applicants: sumOf(c, 'applicants'), admitted: sumOf(c, 'admitted'), waitlisted: sumOf(c, 'waitlisted') }] : [],
      );
    },
  };
}

/** The admissions store. */
export type AdmissionsStore = ReturnType<typeof createAdmissionsStore>;
