/**
 * The figures plans keeps (issue 19): what one decision and one teacher count in. The store's
 * writes move these cells in their transactions; its figure reads are lookups of them. A light
 * module (no server), so that the seed and the reconcile command rebuild and check the very sets
 * the store uses.
 */
import { type Db } from 'mongodb';
import { type CountedFigures, type FigureSet, createCounted } from '@partnerskap/kit';
import { type DecisionDoc, type TeacherDoc } from './store.js';

/** A decision's counts: approvals, refusals, confirmed participations, and every decision (`n`, so a cell lives as long as a decision counts in it, as a `$group` row did). */
const decisionSums = (d: DecisionDoc) => ({
  approved: d.outcome === 'APPROVED' ? 1 : 0,
  refused: d.outcome === 'REJECTED' ? 1 : 0,
  confirmed: d.participationConfirmed === true ? 1 : 0,
  n: 1,
});
const DECISION_SUMS = ['approved', 'refused', 'confirmed', 'n'] as const;

/** Approved decisions per study, over all owners (`Study.approvedApplications`). */
export const approvedByStudy: FigureSet<DecisionDoc> = {
  name: 'approvedByStudy',
  key: ['study'],
  sums: ['approved'],
  cells: (d) => (d.outcome === 'APPROVED' ? [{ key: { study: d.study ?? null }, add: { approved: 1 } }] : []),
};

/** Approved decisions per owner and study (`Study.approvedApplications(owner:)`). */
export const approvedByOwnerStudy: FigureSet<DecisionDoc> = {
  name: 'approvedByOwnerStudy',
  key: ['owner', 'study'],
  sums: ['approved'],
  cells: (d) => (d.outcome === 'APPROVED' ? [{ key: { owner: d.owner ?? null, study: d.study ?? null }, add: { approved: 1 } }] : []),
};

/** Decisions per year, owner and the county stored on them (`DecisionFigures.byOwner`, `byCounty`, `SchoolOwner.decisionFigures`). */
export const decisionsByOwner: FigureSet<DecisionDoc> = {
  name: 'decisionsByOwner',
  key: ['year', 'owner', 'county'],
  sums: DECISION_SUMS,
  indexes: [{ year: 1, owner: 1 }],
  cells: (d) => [{ key: { year: d.year ?? null, owner: d.owner ?? null, county: d.county ?? null }, add: decisionSums(d) }],
};

/** Decisions per year, subject, grade band, study and refusal reason (null for approvals): `bySubject`, `byGradeBand`, `reasons`. */
export const decisionsByTopic: FigureSet<DecisionDoc> = {
  name: 'decisionsByTopic',
  key: ['year', 'subject', 'gradeBand', 'study', 'reason'],
  sums: DECISION_SUMS,
  indexes: [{ year: 1 }],
  cells: (d) => [
    {
      key: { year: d.year ?? null, subject: d.subject ?? null, gradeBand: d.gradeBand ?? null, study: d.study ?? null, reason: d.reason ?? null },
      add: decisionSums(d),
    },
  ],
};

/** Teachers per employer (`SchoolOwner.teachers`' `totalCount`). */
export const teachersByOwner: FigureSet<TeacherDoc> = {
  name: 'teachersByOwner',
  key: ['owner'],
  sums: ['teachers'],
  cells: (t) => [{ key: { owner: t.owner ?? null }, add: { teachers: 1 } }],
};

/**
 * Teachers per subject taught, grade levels taught there and credits held (`Insights.competence`):
 * one cell per `teaches` entry, as the `$unwind` it replaces made one row per entry. The levels
 * and credits are kept as JSON (a cell's key values are scalars), in their stored order; of a
 * credit only what the report reads, its subject and credits.
 */
export const teacherCells: FigureSet<TeacherDoc> = {
  name: 'teacherCells',
  key: ['subject', 'levels', 'credits'],
  sums: ['teachers'],
  cells: (t) => {
    const credits = JSON.stringify((t.credits ?? []).map((c) => [c.subject, c.credits]));
    return (t.teaches ?? []).map((x) => ({ key: { subject: x.subject ?? null, levels: JSON.stringify(x.gradeLevels ?? []), credits }, add: { teachers: 1 } }));
  },
};

/** A teacher cell's key values read back. */
export function teacherCellKey(cell: Record<string, unknown>): { levels: number[]; credits: { subject: string; credits: number }[] } {
  const pairs = JSON.parse(typeof cell.credits === 'string' ? cell.credits : '[]') as [string, number][];
  return {
    levels: JSON.parse(typeof cell.levels === 'string' ? cell.levels : '[]') as number[],
    credits: pairs.map(([subject, credits]) => ({ subject, credits })),
  };
}

/**
 * The counted collections of plans: decisions (approvals per study, decisions per owner and per
 * topic) and teachers (per owner, and the competence report's cells). Every write to them goes through these.
 */
export function createPlansCounted(db: Db) {
  return {
    decisions: createCounted<DecisionDoc>(db, 'decisions', [approvedByStudy, approvedByOwnerStudy, decisionsByOwner, decisionsByTopic]),
    teachers: createCounted<TeacherDoc>(db, 'teachers', [teachersByOwner, teacherCells]),
  };
}

/** The counted collections of plans, as the seed, the repair and the reconcile command take them. */
export const figures = (db: Db): readonly CountedFigures[] => Object.values(createPlansCounted(db));
