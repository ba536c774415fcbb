import { type Identity, badUserInput, idArg, protectPartitions, rollUp as rollUpRows, seesPersons, shownCount, shownTotal, totals } from '@partnerskap/kit';

/** The grade levels (trinn) each grade band covers. */
export const BAND_LEVELS: Readonly<Record<string, readonly number[]>> = {
  GRADES_1_7: [1, 2, 3, 4, 5, 6, 7],
  GRADES_5_10: [5, 6, 7, 8, 9, 10],
  GRADES_8_13: [8, 9, 10, 11, 12, 13],
};

/**
 * The grade levels each band's competence requirement governs, one requirement per level, as the
 * regulation reads (DOMAIN: 30 credits for years 1-7, 60 for 8-10, 60 per subject in upper
 * secondary): years 1-7 the 1-7 rule, 8-10 the 5-10 rule, 11-13 the 8-13 rule. (The bands of
 * study offers overlap; the requirements do not.)
 */
export const REQUIREMENT_LEVELS: Readonly<Record<string, readonly number[]>> = {
  GRADES_1_7: [1, 2, 3, 4, 5, 6, 7],
  GRADES_5_10: [8, 9, 10],
  GRADES_8_13: [11, 12, 13],
};

/** A competence requirement as the catalogue sends it in an `Insights` representation. */
export interface RequirementRule {
  subject: string;
  gradeBand: string;
  credits: number;
}

/** Approvals, refusals and confirmed participations of one cell, exact. */
export interface DecisionCounts {
  approved: number;
  refused: number;
  confirmed: number;
}

/** One owner's decisions of a year, with the county stored on them. */
export interface OwnerCell extends DecisionCounts {
  year: number;
  owner: string;
  county: string;
}

/** A year's decisions of one study (in its subject and grade band) and refusal reason (null for approvals). */
export interface TopicCell extends DecisionCounts {
  year: number;
  subject: string;
  gradeBand: string;
  study: string;
  reason: string | null;
}

/** A `DecisionCell` as the caller may see it. */
export interface ShownDecisionCell {
  key: string;
  approved: number | null;
  refused: number | null;
  refusalRate: number | null;
  confirmed: number | null;
}

/** Teachers who teach one subject at one set of grade levels holding the same credits (one `teaches` entry each). */
export interface TeacherCell {
  subject: string;
  levels: number[];
  credits: { subject: string; credits: number }[];
  teachers: number;
}

/** Teachers below the requirement of one subject, exact. */
export interface CompetenceCounts {
  subject: string;
  teachers: number;
  below: number;
}

type CountName = keyof DecisionCounts;
const COUNT_NAMES: readonly CountName[] = ['approved', 'refused', 'confirmed'];

/** A share or rate of shown counts: 0 to 1 to two decimals; null when a count is hidden or the denominator is 0. */
export function shownShare(part: number | null, whole: number | null): number | null {
  if (part === null || whole === null || whole === 0) return null;
  return Math.round((part / whole) * 100) / 100;
}

/** The competence requirements of a representation, checked: a malformed one is refused, never queried with. */
export function requirementRules(value: unknown): RequirementRule[] {
  if (!Array.isArray(value)) throw badUserInput('Insights.requirements must be a list of requirement rules', 'requirements');
  return value.map((r: unknown, i) => {
    const { subject, gradeBand, credits } = (r ?? {}) as Record<string, unknown>;
    const field = `requirements.${i}`;
    if (typeof subject !== 'string' || idArg(subject, `${field}.subject`) === undefined)
      throw badUserInput('A requirement needs a subject code', `${field}.subject`);
    if (typeof gradeBand !== 'string' || !(gradeBand in BAND_LEVELS)) throw badUserInput('A requirement needs a known grade band', `${field}.gradeBand`);
    if (typeof credits !== 'number' || !Number.isInteger(credits) || credits < 0)
      throw badUserInput('A requirement needs whole credits, 0 or more', `${field}.credits`);
    return { subject, gradeBand, credits };
  });
}

/**
 * Teachers and teachers below the requirement per subject, from the grouped cells of who teaches
 * what at which levels holding which credits. A subject's requirements apply to a teacher who
 * teaches it at a level one of its rules governs ({@link REQUIREMENT_LEVELS}); the credits required
 * are the highest of those rules'; the credits held are the teacher's in that subject (none is 0).
 * Rules of 0 credits bind nobody. One row per subject with such teachers, in subject order.
 */
export function competenceFromCells(rules: RequirementRule[], cells: TeacherCell[]): CompetenceCounts[] {
  const rows: CompetenceCounts[] = [];
  for (const subject of [...new Set(rules.map((r) => r.subject))].sort()) {
    const own = rules.filter((r) => r.subject === subject);
    let teachers = 0;
    let below = 0;
    for (const c of cells) {
      if (c.subject !== subject) continue;
      const applying = own.filter((r) => REQUIREMENT_LEVELS[r.gradeBand]!.some((l) => c.levels.includes(l)));
      if (applying.length === 0) continue;
      teachers += c.teachers;
      const required = Math.max(...applying.map((r) => r.credits));
      const held = c.credits.find((x) => x.subject === subject)?.credits ?? 0;
      if (held < required) below += c.teachers;
    }
    if (teachers > 0) rows.push({ subject, teachers, below });
  }
  return rows;
}

/** A canonical key of a set of rules: the same rules in any order share one computation. */
export function rulesKey(rules: RequirementRule[]): string {
  return JSON.stringify(rules.map((r) => [r.subject, r.gradeBand, r.credits]).sort());
}

/** Competence rows as the caller may see them: counts through `shownCount`, the share from the shown counts. */
export function shownCompetence(identity: Identity, rows: CompetenceCounts[]) {
  return rows.map((r) => {
    const teachers = shownCount(identity, r.teachers);
    const below = shownCount(identity, r.below);
    return { subject: r.subject, teachers, below, share: shownShare(below, teachers) };
  });
}

/** Cells summed per key, keys in string order. */
function rollUp<C extends DecisionCounts>(cells: C[], keyOf: (c: C) => string): { key: string; counts: DecisionCounts }[] {
  return rollUpRows(cells, keyOf, COUNT_NAMES).map(({ key, sums }) => ({ key, counts: sums }));
}

/** A cell of counts no finer cell of the answer adds up to: each count through `shownCount`. */
export function shownCell(identity: Identity, key: string, c: DecisionCounts, exact = seesPersons(identity)): ShownDecisionCell {
  const approved = shownCount(identity, c.approved, exact);
  const refused = shownCount(identity, c.refused, exact);
  const confirmed = shownCount(identity, c.confirmed, exact);
  const decided = approved === null || refused === null ? null : approved + refused;
  return { key, approved, refused, refusalRate: shownShare(refused, decided), confirmed };
}

/**
 * The per-owner partitions of a year's decisions, from its owner cells: `byOwner` (the SDL guards
 * it for the directorate: a school owner sees its own through `SchoolOwner.decisionFigures`), and
 * `byCounty`, a cell like any other for the callers who cannot see the owners' rows.
 */
export function ownerPartitions(identity: Identity, owners: OwnerCell[]) {
  const exact = seesPersons(identity);
  return {
    byOwner: rollUp(owners, (c) => c.owner).map((c) => shownCell(identity, c.key, c.counts, exact)),
    byCounty: rollUp(owners, (c) => c.county).map((c) => shownCell(identity, c.key, c.counts, exact)),
  };
}

/** Each study's approvals (`Study.approvedApplications`) among the given cells, in study order. */
const studyApprovals = (topics: TopicCell[]) => rollUp(topics, (c) => c.study).map((c) => c.counts.approved);

/**
 * The per-topic partitions of a year's decisions, from its topic cells: `bySubject`, `byGradeBand`
 * and refusals per reason. The approvals of a subject or grade band are the sum of its studies'
 * (`Study.approvedApplications`) as shown, hidden as soon as one is, so that they tell nothing the
 * studies' figures do not.
 */
export function topicPartitions(identity: Identity, topics: TopicCell[]) {
  const exact = seesPersons(identity);
  const addingUp = (keyOf: (c: TopicCell) => string) =>
    rollUp(topics, keyOf).map((c) => {
      const cell = shownCell(identity, c.key, c.counts, exact);
      if (exact) return cell;
      const approved = shownTotal(identity, studyApprovals(topics.filter((t) => keyOf(t) === c.key)));
      const decided = approved === null || cell.refused === null ? null : approved + cell.refused;
      return { ...cell, approved, refusalRate: shownShare(cell.refused, decided) };
    });
  return {
    bySubject: addingUp((c) => c.subject),
    byGradeBand: addingUp((c) => c.gradeBand),
    reasons: rollUp(refusalsOf(topics), (c) => c.reason!).map((r) => ({ reason: r.key, count: shownCount(identity, r.counts.refused, exact) })),
  };
}

/**
 * A year's total (key: the year), from its grouped cells. For callers who may not see persons each
 * count is the sum of the cells of a partition as shown (the studies for approvals, else the
 * counties), and hidden as soon as a cell of a partition shown beside it (study, county,
 * subject, grade band, and for refusals reason) is: the total minus the other cells of that
 * partition would narrow the hidden one down; and hidden, with the coarsest breakdown, where the
 * breakdowns would pin a count through it ({@link auditedDecisions}). (The owners' rows are the
 * owner's and the directorate's only, so they are not a partition such a caller sees.)
 */
export function decisionTotal(identity: Identity, year: number, owners: OwnerCell[], topics: TopicCell[]): ShownDecisionCell {
  if (seesPersons(identity)) return shownCell(identity, String(year), ownerCounts(owners), true);
  const { approved, refused, confirmed } = auditedDecisions(identity, owners, topics).total;
  const decided = approved === null || refused === null ? null : approved + refused;
  return { key: String(year), approved, refused, refusalRate: shownShare(refused, decided), confirmed };
}

/** The breakdowns of a year's decisions the audit covers. */
export type DecisionBreakdown = 'byCounty' | 'bySubject' | 'byGradeBand' | 'reasons';

/** A year's decisions after the audit: per count, the total and the cells of each breakdown (key order) as a caller may see them. */
export interface AuditedDecisions {
  total: Record<CountName, number | null>;
  cells: Record<DecisionBreakdown, Partial<Record<CountName, (number | null)[]>>>;
}

/**
 * A year's decisions through `protectPartitions`, for a caller who may not see persons: approvals
 * per study (the finest partition, `Study.approvedApplications`) beside the counties (a subject's
 * and a grade band's add up from the studies and tell nothing more); refusals per county beside the
 * subjects, grade bands and reasons; confirmations per county beside the subjects and grade bands.
 * Where the attacker's bounds over them would pin a count, the audit hides the coarsest of the
 * others, and the total.
 */
export function auditedDecisions(identity: Identity, owners: OwnerCell[], topics: TopicCell[]): AuditedDecisions {
  const counties = rollUp(owners, (c) => c.county);
  const subjects = rollUp(topics, (c) => c.subject);
  const bands = rollUp(topics, (c) => c.gradeBand);
  const reasons = rollUp(refusalsOf(topics), (c) => c.reason!);
  const of = (k: CountName, p: { counts: DecisionCounts }[]) => p.map((c) => c.counts[k]);
  const approved = protectPartitions(identity, [studyApprovals(topics), of('approved', counties)]);
  const refused = protectPartitions(identity, [of('refused', counties), of('refused', subjects), of('refused', bands), of('refused', reasons)]);
  const confirmed = protectPartitions(identity, [of('confirmed', counties), of('confirmed', subjects), of('confirmed', bands)]);
  return {
    total: { approved: approved.total, refused: refused.total, confirmed: confirmed.total },
    cells: {
      byCounty: { approved: approved.partitions[1]!, refused: refused.partitions[0]!, confirmed: confirmed.partitions[0]! },
      bySubject: { refused: refused.partitions[1]!, confirmed: confirmed.partitions[1]! },
      byGradeBand: { refused: refused.partitions[2]!, confirmed: confirmed.partitions[2]! },
      reasons: { refused: refused.partitions[3]! },
    },
  };
}

/** Cells of one breakdown (key order, as the audit's) with the counts the audit hid hidden, and their refusal rates with them. */
export function withDecisionAudit(cells: ShownDecisionCell[], audited: Partial<Record<CountName, (number | null)[]>>): ShownDecisionCell[] {
  return cells.map((cell, i) => {
    const out = { ...cell };
    for (const k of ['approved', 'refused', 'confirmed'] as const) if (audited[k]?.[i] === null) out[k] = null;
    const decided = out.approved === null || out.refused === null ? null : out.approved + out.refused;
    return { ...out, refusalRate: shownShare(out.refused, decided) };
  });
}

/** The refusal cells, by reason. */
const refusalsOf = (topics: TopicCell[]) => topics.filter((c) => c.reason !== null && c.refused > 0);

/** The counts of one owner and year, zero when it decided nothing. */
export function ownerCounts(cells: OwnerCell[]): DecisionCounts {
  return totals(cells, COUNT_NAMES);
}
