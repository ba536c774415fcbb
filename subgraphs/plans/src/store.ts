import { type ClientSession, type Collection, type Db, type Filter } from 'mongodb';
import { decisionEvent, teacherState } from './events.js';
import {
  type AuditDoc,
  type FigureDoc,
  type Identity,
  NB,
  type PageWindow,
  afterCursor,
  cellId,
  findCells,
  keysetOrder,
  keysetSort,
  SEARCH_MAX_TIME_MS,
  createAuditedWriter,
  eqFilter,
  eraseTeacherFromEvents,
  inTransaction,
  withId,
} from '@partnerskap/kit';
import {
  approvedByOwnerStudy,
  approvedByStudy,
  createPlansCounted,
  decisionsByOwner,
  decisionsByTopic,
  teacherCellKey,
  teacherCells,
  teachersByOwner,
} from './figures.js';
import { type OwnerCell, type TeacherCell, type TopicCell } from './insights.js';

/** A county as stored; `_id` is its number. */
export interface CountyDoc {
  _id: string;
  name: string;
}

/** A school owner as stored; `_id` is the municipality or county number, or a private owner's org number. */
export interface OwnerDoc {
  _id: string;
  name: string;
  kind: string;
  county: string;
  teacherFtes: number;
  teacherFtesSynthetic: boolean;
}

/** A teacher as stored (pseudonymous id, no personal identity number). */
export interface TeacherDoc {
  _id: string;
  owner: string;
  county: string;
  school: string | null;
  teaches: { subject: string; gradeLevels: number[] }[];
  credits: { subject: string; credits: number }[];
}

/** A competence plan as stored; `_id` is `<owner>-<year>`. */
export interface PlanDoc {
  _id: string;
  owner: string;
  year: number;
  county: string;
  priorities: { subject: string; gradeBand: string; targetTeachers: number }[];
  budgetNok: number;
}

/** An owner's decision on an application, with the dimensions reports group by. */
export interface DecisionDoc {
  _id: string;
  owner: string;
  teacher: string;
  study: string;
  institution: string;
  year: number;
  subject: string;
  gradeBand: string;
  county: string;
  outcome: string;
  reason: string | null;
  rank: number | null;
  fundingScheme: string | null;
  decidedAt: Date;
  participationConfirmed: boolean;
  confirmedAt: Date | null;
}

export type Owner = ReturnType<typeof withId<OwnerDoc>>;
export type Teacher = ReturnType<typeof withId<TeacherDoc>>;
export type Plan = ReturnType<typeof withId<PlanDoc>>;

/** What owners can be filtered by (already validated). */
export interface OwnerQuery {
  kind?: string | undefined;
  county?: string | undefined;
  search?: RegExp | undefined;
}

/** The allow-listed fields owners are filtered by, each with `$eq`; free text as an escaped pattern. */
function ownerFilter(q: OwnerQuery): Filter<OwnerDoc> {
  const f = eqFilter({ kind: q.kind, county: q.county }) as Filter<OwnerDoc>;
  if (q.search !== undefined) f.name = { $regex: q.search };
  return f;
}

/** The school owners' stable order: name (Norwegian collation), then id; the index `{ name: 1, _id: 1 }` (collation nb) serves it. */
export const OWNER_ORDER = keysetOrder('schoolOwners', [{ field: 'name', direction: 1, type: 'string' }]);
/** An owner's teachers' stable order: by (pseudonymous) id; the index `{ owner: 1, _id: 1 }` serves it. */
export const TEACHER_ORDER = keysetOrder('teachers', []);

/** The plans subgraph's data access. */
export function createPlansStore(db: Db) {
  const counties = db.collection<CountyDoc>('counties');
  const owners = db.collection<OwnerDoc>('owners');
  const counted = createPlansCounted(db);
  const teachers = counted.teachers.collection;
  const plans = db.collection<PlanDoc>('plans');
  const decisions = counted.decisions.collection;
  const { figures } = counted.decisions;
  const writer = createAuditedWriter(db, 'plans');
  return {
    /** Its outbox: the events its writes commit, served as the feed. */
    outbox: writer.outbox,
    outboxHead: () => writer.outbox.head(),
    /** Creates the indexes every lookup and list of the resolvers uses. */
    async ensureIndexes(): Promise<void> {
      await owners.createIndexes([{ key: { name: 1, _id: 1 }, collation: NB }, { key: { county: 1 } }]);
      await teachers.createIndexes([{ key: { owner: 1, _id: 1 } }]);
      await plans.createIndexes([{ key: { owner: 1, year: -1 } }]);
      // The figures are read from the cells, so no index serves a count by study or year any more.
      await decisions.createIndexes([{ key: { owner: 1, year: 1 } }, { key: { teacher: 1, institution: 1 } }]);
      await counted.decisions.ensureIndexes();
      await counted.teachers.ensureIndexes();
      await writer.ensureIndexes();
    },
    /**
     * Stores an owner's decision with its audit line; `then` runs last inside the transaction
     * (telling admissions), so if it fails nothing is written.
     */
    /** Stores an owner's decision, and its event for admissions and the catalogue, in one transaction. */
    async saveDecision(doc: DecisionDoc, line: AuditDoc): Promise<ReturnType<typeof withId<DecisionDoc>>> {
      await writer.write(
        line,
        null,
        async (session) => (await counted.decisions.replaceOne(doc, session), doc),
        undefined,
        (d) => [decisionEvent('decision.made', d)],
      );
      return withId(doc);
    },
    /** An owner's approved decisions of a year. */
    async approvedOf(owner: string, year: number): Promise<ReturnType<typeof withId<DecisionDoc>>[]> {
      return (await decisions.find({ owner, year, outcome: 'APPROVED' }).sort({ rank: 1, _id: 1 }).toArray()).map(withId);
    },
    /** Sets the ranks of an owner's approved decisions, all in one transaction. */
    async rank(order: string[], line: AuditDoc): Promise<ReturnType<typeof withId<DecisionDoc>>[]> {
      return writer.write(line, null, async (session: ClientSession) => {
        const out: ReturnType<typeof withId<DecisionDoc>>[] = [];
        for (const [i, id] of order.entries()) {
          const doc = await counted.decisions.updateOne({ _id: id }, { $set: { rank: i + 1 } }, session);
          if (doc) out.push(withId(doc));
        }
        return out;
      });
    },
    async updateDecision(id: string, set: Partial<DecisionDoc>, line: AuditDoc): Promise<ReturnType<typeof withId<DecisionDoc>>> {
      const type = set.participationConfirmed
        ? 'decision.participation-confirmed'
        : set.fundingScheme !== undefined
          ? 'decision.funding-scheme-chosen'
          : 'decision.updated';
      return withId(
        (await writer.write(
          line,
          null,
          (session) => counted.decisions.updateOne({ _id: id }, { $set: set }, session),
          undefined,
          (d) => [decisionEvent(type, d!)],
        ))!,
      );
    },
    async savePlan(doc: PlanDoc, line: AuditDoc): Promise<Plan> {
      await writer.write(line, null, (session) => plans.replaceOne({ _id: doc._id }, doc, { session, upsert: true }));
      return withId(doc);
    },
    auditLines(identity: Identity, first: number): Promise<AuditDoc[]> {
      return writer.lines(identity, first);
    },
    async counties(): Promise<ReturnType<typeof withId<CountyDoc>>[]> {
      return (await counties.find().sort({ _id: 1 }).toArray()).map(withId);
    },
    async countiesByIds(ids: string[]): Promise<ReturnType<typeof withId<CountyDoc>>[]> {
      return (await counties.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    async ownersByIds(ids: string[]): Promise<Owner[]> {
      return (await owners.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    async listOwners(q: OwnerQuery, window: PageWindow): Promise<Owner[]> {
      const docs = await owners
        .find(afterCursor(ownerFilter(q), window))
        .maxTimeMS(SEARCH_MAX_TIME_MS)
        .sort(keysetSort(OWNER_ORDER))
        .collation(NB)
        .limit(window.limit + 1)
        .toArray();
      return docs.map(withId);
    },
    countOwners(q: OwnerQuery): Promise<number> {
      return owners.countDocuments(ownerFilter(q), { maxTimeMS: SEARCH_MAX_TIME_MS });
    },
    async teachersByIds(ids: string[]): Promise<Teacher[]> {
      return (await teachers.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    async teachersOf(owner: string, window: PageWindow): Promise<Teacher[]> {
      return (
        await teachers
          .find(afterCursor({ owner }, window))
          .sort(keysetSort(TEACHER_ORDER))
          .limit(window.limit + 1)
          .toArray()
      ).map(withId);
    },
    /** How many teachers each owner employs, in key order: one lookup of the kept cells. */
    async teacherCounts(ownerIds: readonly string[]): Promise<number[]> {
      const found = await cellSums(
        figures,
        ownerIds.map((owner) => cellId(teachersByOwner, { owner })),
        'teachers',
      );
      return ownerIds.map((owner) => found.get(cellId(teachersByOwner, { owner })) ?? 0);
    },
    async plansByIds(ids: string[]): Promise<Plan[]> {
      return (await plans.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    async plansOf(owner: string): Promise<Plan[]> {
      return (await plans.find({ owner }).sort({ year: -1 }).toArray()).map(withId);
    },
    async decisionsByIds(ids: string[]): Promise<ReturnType<typeof withId<DecisionDoc>>[]> {
      return (await decisions.find({ _id: { $in: ids } }).toArray()).map(withId);
    },
    /**
     * Moves a teacher's record and the decisions on their applications to a new pseudonym and
     * removes the school, in one transaction: either all of it happens or none of it.
     */
    async rekeyTeacher(teacher: string, pseudonym: string): Promise<number> {
      const n = await inTransaction(db, async (session) => {
        const doc = await teachers.findOne({ _id: teacher }, { session });
        let n = 0;
        if (doc) {
          // The record moves to a new `_id`, which only a delete and an insert do (each through the
          // counted collection: the pair moves the teacher's cells out and back in).
          await counted.teachers.deleteOne({ _id: teacher }, session);
          await counted.teachers.insertOne({ ...doc, _id: pseudonym, school: null }, session);
          // The partners keep the employer under the pseudonym (the event does not name the teacher; each partner's own erasure drops its old row).
          await writer.outbox.add(
            [{ type: 'teacher.erased', subject: pseudonym, data: teacherState({ ...doc, _id: pseudonym }), audience: [doc.owner] }],
            new Date(),
            session,
          );
          n++;
        }
        n += await counted.decisions.updateMany({ teacher }, { $set: { teacher: pseudonym } }, session);
        await writer.rekeyActor(teacher, pseudonym, session);
        // Its copy of admissions' applications stops naming the teacher (admissions' own erasure event replaces it later).
        await eraseTeacherFromEvents(db, teacher, pseudonym, session);
        return n;
      });
      writer.outbox.committed();
      return n;
    },
    /** Which of the given `<teacher>|<institution>` pairs have an approved application between them. */
    async approvedPairs(pairs: string[]): Promise<string[]> {
      const or = pairs.map((p) => {
        const [teacher, institution] = p.split('|') as [string, string];
        return { teacher, institution };
      });
      const docs = await decisions.find({ $or: or, outcome: 'APPROVED' }, { projection: { teacher: 1, institution: 1 } }).toArray();
      return docs.map((d) => `${d.teacher}|${d.institution}`);
    },
    /**
     * Approved applications per study, for all owners (`owner` undefined) or one, in key order:
     * one lookup of the cells by `_id` for the whole batch, whatever its owners.
     */
    async approvedCounts(keys: readonly { study: string; owner: string | undefined }[]): Promise<number[]> {
      const ids = keys.map(({ study, owner }) => (owner === undefined ? cellId(approvedByStudy, { study }) : cellId(approvedByOwnerStudy, { owner, study })));
      const found = await cellSums(figures, ids, 'approved');
      return ids.map((id) => found.get(id) ?? 0);
    },
    /**
     * Decisions of the given years per owner, with the county stored on them: approvals, refusals
     * and confirmed participations; only the given owners when named. One lookup of the kept cells.
     */
    async decisionsByOwner(years: number[], owners?: string[]): Promise<OwnerCell[]> {
      const cells = await findCells(figures, decisionsByOwner, { year: { $in: years }, ...(owners !== undefined ? { owner: { $in: owners } } : {}) });
      return cells.map((c) => ({ year: c.year as number, owner: c.owner as string, county: (c.county as string | null) ?? '', ...decisionCounts(c) }));
    },
    /**
     * Decisions of the given years per subject, grade band, study and refusal reason (null for
     * approvals). One lookup of the kept cells. Per study, since the API shows each study's
     * approvals too and a subject's must add up from those as shown.
     */
    async decisionsByTopic(years: number[]): Promise<TopicCell[]> {
      const cells = await findCells(figures, decisionsByTopic, { year: { $in: years } });
      return cells.map((c) => ({
        year: c.year as number,
        subject: c.subject as string,
        gradeBand: c.gradeBand as string,
        study: c.study as string,
        reason: (c.reason as string | null) ?? null,
        ...decisionCounts(c),
      }));
    },
    /**
     * Teachers per subject taught, set of grade levels taught and credits held: the kept cells,
     * one lookup, whose number is that of the distinct combinations, whatever the number of
     * teachers. A teacher teaches a subject once (one `teaches` entry per subject, as every
     * teacher is stored).
     */
    async teacherCells(): Promise<TeacherCell[]> {
      const cells = await findCells(counted.teachers.figures, teacherCells, {});
      return cells.map((c) => ({ subject: c.subject as string, ...teacherCellKey(c), teachers: Number(c.teachers) }));
    },
  };
}

/**
 * One sum of the cells with these `_id`s (of one set or several), by `_id`: one command, every
 * cell in its first reply (a page's keys; `readCells` would leave those past 101 to a `getMore`).
 */
async function cellSums(figures: Collection<FigureDoc>, ids: readonly string[], sum: string): Promise<Map<string, number>> {
  const unique = [...new Set(ids)];
  const cells = await figures.find({ _id: { $in: unique } }, { projection: { [sum]: 1 }, batchSize: Math.max(unique.length, 1) }).toArray();
  return new Map(cells.map((c) => [c._id, Number(c[sum] ?? 0)]));
}

/** A decision cell's counts. */
const decisionCounts = (c: Record<string, unknown>) => ({
  approved: Number(c.approved ?? 0),
  refused: Number(c.refused ?? 0),
  confirmed: Number(c.confirmed ?? 0),
});

/** The plans store. */
export type PlansStore = ReturnType<typeof createPlansStore>;
