import { type Db, type Filter } from 'mongodb';
import { allocationEvent, roundEvent, studyEvent } from './events.js';
import { ALLOCATION_FIGURES, OFFER_FIGURES, createCatalogueFigures } from './figures.js';
import { createWebhookStore } from './webhook-store.js';
import {
  type AuditDoc,
  type Idempotency,
  type Identity,
  NB,
  type PageWindow,
  afterCursor,
  keysetOrder,
  keysetSort,
  type RoundDates,
  SEARCH_MAX_TIME_MS,
  createAuditedWriter,
  eqFilter,
  eraseTeacherFromEvents,
  findCells,
  inTransaction,
  withId,
} from '@partnerskap/kit';

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

/** Some years' studies and allocations, grouped (the insights' offers and funding). */
export interface YearGroups {
  offers: OfferGroup[];
  allocations: AllocationGroup[];
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
  const f = eqFilter({
    year: q.year,
    subject: q.subject,
    gradeBand: q.gradeBand,
    institution: q.institution,
    delivery: q.delivery,
    status: q.status,
  }) as Filter<StudyDoc>;
  if (q.search !== undefined) f.$or = [{ name: { $regex: q.search } }, { code: { $regex: q.search } }];
  return f;
}

/** The filter fields {@link OFFER_FIGURES} is keyed by: a studies filter of these only is counted from its cells. */
const OFFER_KEYS = ['year', 'subject', 'gradeBand', 'status'] as const satisfies readonly (keyof StudyQuery)[];

/** The studies' stable order: name (Norwegian collation), then id; the index `{ name: 1, _id: 1 }` (collation nb) serves it. */
export const STUDY_ORDER = keysetOrder('studies', [{ field: 'name', direction: 1, type: 'string' }]);

/** The catalogue's data access: the only code that knows its collections. */
export function createCatalogueStore(db: Db) {
  const counted = createCatalogueFigures(db);
  const studies = counted.studies.collection;
  const subjects = db.collection<SubjectDoc>('subjects');
  const requirements = db.collection<RequirementDoc>('requirements');
  const rounds = db.collection<RoundDoc>('rounds');
  const allocations = counted.allocations.collection;
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
      await counted.studies.ensureIndexes();
      await counted.allocations.ensureIndexes();
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
    /**
     * How many studies match: from the few cells of {@link OFFER_FIGURES} the filter names when it
     * filters by year, subject, grade band and status only (the lists by year and subject); a filter by
     * institution, delivery or text counts the documents (cells keyed by those too would be about as
     * many as the studies, and no cell can count a text search).
     */
    async countStudies(q: StudyQuery): Promise<number> {
      if (q.institution !== undefined || q.delivery !== undefined || q.search !== undefined) {
        return studies.countDocuments(studyFilter(q), { maxTimeMS: SEARCH_MAX_TIME_MS });
      }
      const cells = await findCells(counted.studies.figures, OFFER_FIGURES, eqFilter(Object.fromEntries(OFFER_KEYS.map((k) => [k, q[k]]))));
      return cells.reduce((n, c) => n + Number(c.offers), 0);
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
        const n = await counted.allocations.updateMany({ teacher }, { $set: { teacher: pseudonym } }, session);
        await eraseTeacherFromEvents(db, teacher, pseudonym, session);
        await webhooks.rekeyTeacher(teacher, pseudonym, session);
        return n;
      });
    },
    /** Publishes a study (the code and year are unique: CONFLICT otherwise). */
    async insertStudy(doc: StudyDoc, line: AuditDoc, idempotency: Idempotency<Study>): Promise<Study> {
      return writer.insert(
        counted.studies,
        doc,
        line,
        { message: 'The catalogue already has an offer with this code in this year', field: 'input.code' },
        idempotency,
        (study) => [studyEvent('study.published', study)],
      );
    },
    async updateStudy(id: string, set: Partial<StudyDoc>, line: AuditDoc): Promise<Study> {
      const type = set.status === 'CANCELLED' ? 'study.cancelled' : 'study.updated';
      return withId(
        (await writer.write(
          line,
          null,
          (session) => counted.studies.updateOne({ _id: id }, { $set: set }, session),
          undefined,
          (doc) => [studyEvent(type, doc!)],
        ))!,
      );
    },
    async insertRound(doc: RoundDoc, line: AuditDoc, idempotency: Idempotency<Entity<RoundDoc>>): Promise<Entity<RoundDoc>> {
      return writer.insert(rounds, doc, line, { message: 'This year already has an application round', field: 'input.year' }, idempotency, (round) => [
        roundEvent(round),
      ]);
    },
    /** The first result of a request made before with the same idempotency key, if any. */
    replayed: <T>(idempotency: Idempotency<T>) => writer.replayed(idempotency),
    async saveAllocation(doc: AllocationDoc, line: AuditDoc): Promise<Entity<AllocationDoc>> {
      await writer.write(
        line,
        null,
        async (session) => (await counted.allocations.replaceOne(doc, session), doc),
        undefined,
        (a) => [allocationEvent(a)],
      );
      return withId(doc);
    },
    auditLines(identity: Identity, first: number): Promise<AuditDoc[]> {
      return writer.lines(identity, first);
    },
    async allocationsByIds(ids: string[]): Promise<Entity<AllocationDoc>[]> {
      return (await allocations.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    /**
     * The studies of some years grouped by year, subject, grade band and status, and their allocations
     * by year, subject, grade band, county, decision and scheme: the cells of {@link OFFER_FIGURES} and
     * {@link ALLOCATION_FIGURES}, in one command for both (an insights page asks for its offers and its
     * funding together; each set's `{ year }` index serves it).
     */
    async yearGroups(years: number[]): Promise<YearGroups> {
      const sets = [OFFER_FIGURES.name, ALLOCATION_FIGURES.name];
      const cells = await counted.studies.figures.find({ set: { $in: sets }, year: { $in: years } }, { batchSize: 100_000 }).toArray();
      const groups: YearGroups = { offers: [], allocations: [] };
      for (const c of cells) {
        if (c.set === OFFER_FIGURES.name)
          groups.offers.push({ year: c.year, subject: c.subject, gradeBand: c.gradeBand, status: c.status, offers: c.offers, places: c.places } as OfferGroup);
        else
          groups.allocations.push({
            year: c.year,
            subject: c.subject,
            gradeBand: c.gradeBand,
            county: c.county,
            funded: c.funded,
            scheme: c.scheme ?? null,
            n: c.n,
          } as AllocationGroup);
      }
      return groups;
    },
  };
}

/** The catalogue's store. */
export type CatalogueStore = ReturnType<typeof createCatalogueStore>;
