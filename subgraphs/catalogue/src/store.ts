import { type Db, type Filter } from 'mongodb';
import { allocationEvent, roundEvent, studyEvent } from './events.js';
import { createWebhookStore } from './webhook-store.js';
import { type AuditDoc, type Idempotency, type Identity, NB, type PageWindow, afterCursor, keysetOrder, keysetSort, type RoundDates, SEARCH_MAX_TIME_MS, createAuditedWriter, eqFilter, eraseTeacherFromEvents, inTransaction, withId } from '@partnerskap/kit';

/** A study offer as stored. */
export interface StudyDoc {
  _id: string;
  code: string;
  name: string;
  subject: string;
  gradeBand: string;
  credits: number;
  level: string;
  institution: string;
  campus: string;
  delivery: string;
  gatherings: number | null;
  semesters: number;
  startTerm: string;
  year: number;
  places: number;
  status: string;
}

/** A subject as stored. */
export interface SubjectDoc {
  _id: string;
  name: string;
  priorityYears: number[];
}

/** A competence requirement as stored. */
export interface RequirementDoc {
  _id: string;
  subject: string;
  gradeBand: string;
  credits: number;
  inForceFrom: string;
}

/** An application round as stored (dates as `YYYY-MM-DD`); `_id` is its year. */
export type RoundDoc = Omit<RoundDates, 'year'> & { _id: number };

/** Udir's funding decision on one application, with the dimensions reports group by. */
export interface AllocationDoc {
  _id: string;
  year: number;
  study: string;
  teacher: string;
  institution: string;
  subject: string;
  gradeBand: string;
  county: string;
  owner: string;
  funded: boolean;
  scheme: string | null;
  decidedAt: Date;
}

/** A year's studies of one subject, grade band and status: how many, and their places. */
export interface OfferGroup {
  year: number;
  subject: string;
  gradeBand: string;
  status: string;
  offers: number;
  places: number;
}

/** A year's allocations of one subject, grade band, county, decision and scheme: how many. */
export interface AllocationGroup {
  year: number;
  subject: string;
  gradeBand: string;
  county: string;
  funded: boolean;
  scheme: string | null;
  n: number;
}

/** The API's shape of a stored document: `id` instead of `_id`. */
export type Entity<T extends { _id: unknown }> = ReturnType<typeof withId<T>>;
export type Study = Entity<StudyDoc>;
export type Subject = Entity<SubjectDoc>;

/** What studies can be filtered by (already validated). */
export interface StudyQuery {
  year?: number | undefined;
  subject?: string | undefined;
  gradeBand?: string | undefined;
  institution?: string | undefined;
  delivery?: string | undefined;
  status?: string | undefined;
  search?: RegExp | undefined;
}

/** The allow-listed fields studies are filtered by, each with `$eq`; free text as an escaped pattern. */
function studyFilter(q: StudyQuery): Filter<StudyDoc> {
  const f = eqFilter({ year: q.year, subject: q.subject, gradeBand: q.gradeBand, institution: q.institution, delivery: q.delivery, status: q.status }) as Filter<StudyDoc>;
  if (q.search !== undefined) f.$or = [{ name: { $regex: q.search } }, { code: { $regex: q.search } }];
  return f;
}

/**
 * The groups of an insights aggregation come back in one batch: there are at most a few thousand a
 * year (subjects x grade bands x counties x decisions), so one command whatever the data volume.
 */
const ONE_BATCH = { batchSize: 100_000 } as const;

/** The studies' stable order: name (Norwegian collation), then id; the index `{ name: 1, _id: 1 }` (collation nb) serves it. */
export const STUDY_ORDER = keysetOrder('studies', [{ field: 'name', direction: 1, type: 'string' }]);

/** The catalogue's data access: the only code that knows its collections. */
export function createCatalogueStore(db: Db) {
  const studies = db.collection<StudyDoc>('studies');
  const subjects = db.collection<SubjectDoc>('subjects');
  const requirements = db.collection<RequirementDoc>('requirements');
  const rounds = db.collection<RoundDoc>('rounds');
  const allocations = db.collection<AllocationDoc>('allocations');
  const writer = createAuditedWriter(db, 'catalogue');
  const webhooks = createWebhookStore(db);
  return {
    /** The partners' webhooks and their deliveries (webhook-store.ts). */
    webhooks,
    /** Its outbox: the events its writes commit, served as the feed. */
    outbox: writer.outbox,
    outboxHead: () => writer.outbox.head(),
    /** Creates the indexes every lookup and list of the resolvers uses. */
    async ensureIndexes(): Promise<void> {
      await studies.createIndexes([
        { key: { name: 1, _id: 1 }, collation: NB },
        { key: { year: 1 } },
        { key: { subject: 1 } },
        { key: { institution: 1 } },
        { key: { code: 1, year: 1 }, unique: true },
      ]);
      await allocations.createIndexes([{ key: { year: 1, subject: 1 } }, { key: { study: 1 } }, { key: { teacher: 1 } }]);
      await writer.ensureIndexes();
      await webhooks.ensureIndexes();
    },
    async studiesByIds(ids: string[]): Promise<Study[]> {
      return (await studies.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    async listStudies(q: StudyQuery, window: PageWindow): Promise<Study[]> {
      const docs = await studies
        .find(afterCursor(studyFilter(q), window))
        .maxTimeMS(SEARCH_MAX_TIME_MS)
        .sort(keysetSort(STUDY_ORDER))
        .collation(NB)
        .limit(window.limit + 1)
        .toArray();
      return docs.map(withId);
    },
    countStudies(q: StudyQuery): Promise<number> {
      return studies.countDocuments(studyFilter(q), { maxTimeMS: SEARCH_MAX_TIME_MS });
    },
    async subjects(): Promise<Subject[]> {
      return (await subjects.find().sort({ name: 1, _id: 1 }).collation(NB).toArray()).map(withId);
    },
    async subjectsByCodes(codes: string[]): Promise<Subject[]> {
      return (await subjects.find({ _id: { $in: codes } }).toArray()).map(withId);
    },
    async requirements(): Promise<Entity<RequirementDoc>[]> {
      return (await requirements.find().sort({ subject: 1, gradeBand: 1 }).toArray()).map(withId);
    },
    async rounds(): Promise<Entity<RoundDoc>[]> {
      return (await rounds.find().sort({ _id: -1 }).toArray()).map(withId);
    },
    async roundsByYears(years: number[]): Promise<Entity<RoundDoc>[]> {
      return (await rounds.find({ _id: { $in: years } }).toArray()).map(withId);
    },
    /**
     * Moves a teacher's allocations to a new pseudonym, in one transaction with its copy of admissions'
     * applications and the webhook deliveries that name the teacher (what partners were sent stays theirs).
     */
    async rekeyTeacher(teacher: string, pseudonym: string): Promise<number> {
      return inTransaction(db, async (session) => {
        const n = (await allocations.updateMany({ teacher }, { $set: { teacher: pseudonym } }, { session })).modifiedCount;
        await eraseTeacherFromEvents(db, teacher, pseudonym, session);
        await webhooks.rekeyTeacher(teacher, pseudonym, session);
        return n;
      });
    },
    /** Publishes a study (the code and year are unique: CONFLICT otherwise). */
    async insertStudy(doc: StudyDoc, line: AuditDoc, idempotency: Idempotency<Study>): Promise<Study> {
      return writer.insert(studies, doc, line, { message: 'The catalogue already has an offer with this code in this year', field: 'input.code' }, idempotency, (study) => [
        studyEvent('study.published', study),
      ]);
    },
    async updateStudy(id: string, set: Partial<StudyDoc>, line: AuditDoc): Promise<Study> {
      const type = set.status === 'CANCELLED' ? 'study.cancelled' : 'study.updated';
      return withId(
        (await writer.write(line, null, (session) => studies.findOneAndUpdate({ _id: id }, { $set: set }, { session, returnDocument: 'after' }), undefined, (doc) => [studyEvent(type, doc!)]))!,
      );
    },
    async insertRound(doc: RoundDoc, line: AuditDoc, idempotency: Idempotency<Entity<RoundDoc>>): Promise<Entity<RoundDoc>> {
      return writer.insert(rounds, doc, line, { message: 'This year already has an application round', field: 'input.year' }, idempotency, (round) => [roundEvent(round)]);
    },
    /** The first result of a request made before with the same idempotency key, if any. */
    replayed: <T>(idempotency: Idempotency<T>) => writer.replayed(idempotency),
    async saveAllocation(doc: AllocationDoc, line: AuditDoc): Promise<Entity<AllocationDoc>> {
      await writer.write(line, null, async (session) => (await allocations.replaceOne({ _id: doc._id }, doc, { session, upsert: true }), doc), undefined, (a) => [allocationEvent(a)]);
      return withId(doc);
    },
    auditLines(identity: Identity, first: number): Promise<AuditDoc[]> {
      return writer.lines(identity, first);
    },
    async allocationsByIds(ids: string[]): Promise<Entity<AllocationDoc>[]> {
      return (await allocations.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    /** The studies of some years grouped by year, subject, grade band and status: one aggregation. */
    async offerGroups(years: number[]): Promise<OfferGroup[]> {
      const rows = await studies
        .aggregate<{ _id: Omit<OfferGroup, 'offers' | 'places'>; offers: number; places: number }>([
          { $match: { year: { $in: years } } },
          { $group: { _id: { year: '$year', subject: '$subject', gradeBand: '$gradeBand', status: '$status' }, offers: { $sum: 1 }, places: { $sum: '$places' } } },
        ], ONE_BATCH)
        .toArray();
      return rows.map((r) => ({ ...r._id, offers: r.offers, places: r.places }));
    },
    /** The allocations of some years grouped by year, subject, grade band, county, decision and scheme: one aggregation. */
    async allocationGroups(years: number[]): Promise<AllocationGroup[]> {
      const rows = await allocations
        .aggregate<{ _id: Omit<AllocationGroup, 'n' | 'scheme'> & { scheme?: string | null }; n: number }>([
          { $match: { year: { $in: years } } },
          { $group: { _id: { year: '$year', subject: '$subject', gradeBand: '$gradeBand', county: '$county', funded: '$funded', scheme: '$scheme' }, n: { $sum: 1 } } },
        ], ONE_BATCH)
        .toArray();
      return rows.map((r) => ({ ...r._id, scheme: r._id.scheme ?? null, n: r.n }));
    },
  };
}

/** The catalogue's store. */
export type CatalogueStore = ReturnType<typeof createCatalogueStore>;
