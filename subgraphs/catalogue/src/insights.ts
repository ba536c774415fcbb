import { type Identity, type InsightsSettings, byCodeUnits, protectPartitions, rollUp, shownCount, total } from '@partnerskap/kit';
import { type AllocationGroup, type Entity, type OfferGroup, type RequirementDoc } from './store.js';

/** Maths and science (realfag): the subjects whose substitute scheme the state pays 75 % of. */
export const MATHS_AND_SCIENCE: ReadonlySet<string> = new Set(['MAT', 'NAT']);

/** The part of a post a participant is released from, per 30 credits in a study year, in thousandths (37.5 %). */
const RELEASED_PER_MILLE = 375;

/** Who pays the released time of the substitute scheme, in percent of it. */
const SUBSTITUTE_SHARES = {
  mathsAndScience: { state: 75, owner: 0, teacher: 25 },
  other: { state: 60, owner: 15, teacher: 25 },
} as const;

/** One subject and grade band of a year's catalogue, as the API shows it. */
export interface OfferCell {
  subject: string;
  gradeBand: string;
  offers: number | null;
  cancelled: number | null;
  places: number;
}

/** Funding decisions of one key of a partition, as the API shows them. */
export interface FundingCell {
  key: string;
  funded: number | null;
  notFunded: number | null;
}

/** One scheme's cost split, as the API shows it. */
export interface FundingSplit {
  scheme: 'SUBSTITUTE' | 'SCHOLARSHIP';
  participants: number | null;
  stateNok: number | null;
  ownerNok: number | null;
  teacherNok: number | null;
  stateFtes: number | null;
  ownerFtes: number | null;
  teacherFtes: number | null;
}

/** A year's funding figures, as the API shows them. */
export interface FundingFigures {
  funded: number | null;
  notFunded: number | null;
  bySubject: FundingCell[];
  byGradeBand: FundingCell[];
  byCounty: FundingCell[];
  split: FundingSplit[];
}

/** A competence requirement as a rule. */
export interface RequirementRule {
  subject: string;
  gradeBand: string;
  credits: number;
}

/** Joins a subject and a grade band into one key of a roll-up. */
const KEY_SEPARATOR = '\u0000';

/**
 * A year's offers per subject and grade band, rolled up from its groups by status: offers of every
 * status, the cancelled ones, and the places of those offered this year (status OFFERED). All
 * exact, for everyone: offers are not persons, and the catalogue lists every one of them publicly
 * (`studies(filter:)` counts them), so hiding or rounding the counts here would hide nothing.
 */
export function offerCells(groups: readonly OfferGroup[]): OfferCell[] {
  const rows = groups.map((g) => ({
    key: `${g.subject}${KEY_SEPARATOR}${g.gradeBand}`,
    offers: g.offers,
    cancelled: g.status === 'CANCELLED' ? g.offers : 0,
    // Places count where the offer runs this year: not a cancelled one, nor one not offered.
    places: g.status === 'OFFERED' ? g.places : 0,
  }));
  // The separator sorts below every character of a code, so the keys' order is by subject, then grade band.
  return rollUp(rows, (r) => r.key, ['offers', 'cancelled', 'places'] as const).map(({ key, sums }) => {
    const [subject, gradeBand] = key.split(KEY_SEPARATOR) as [string, string];
    return { subject, gradeBand, ...sums };
  });
}

/** FTEs to two decimals from percent-of-a-release units (participants x percent). */
const ftes = (units: number) => Math.round((units * RELEASED_PER_MILLE) / 1000) / 100;
/** Whole kroner from percent-of-a-release units. */
const nok = (units: number, nokPerFte: number) => Math.round((units * RELEASED_PER_MILLE * nokPerFte) / 100_000);

const hidden = (scheme: FundingSplit['scheme']): FundingSplit => ({
  scheme,
  participants: null,
  stateNok: null,
  ownerNok: null,
  teacherNok: null,
  stateFtes: null,
  ownerFtes: null,
  teacherFtes: null,
});

/**
 * The substitute scheme (vikarordning): each funded participant is released 0.375 FTE (37.5 % of a
 * post per 30 credits in a study year). Of that, for maths and science ({@link MATHS_AND_SCIENCE})
 * the state pays 75 %, the owner 0 % and the teacher gives 25 % in own time; for other subjects
 * 60 %, 15 % and 25 %. NOK = FTEs x the salary cost per FTE. Computed from the two subject classes'
 * counts as shown; null when either is hidden. `participants` is the sum of those shown counts.
 */
export function substituteSplit(mathsAndScience: number | null, other: number | null, settings: InsightsSettings): FundingSplit {
  if (mathsAndScience === null || other === null) return hidden('SUBSTITUTE');
  const ms = SUBSTITUTE_SHARES.mathsAndScience;
  const ot = SUBSTITUTE_SHARES.other;
  const units = {
    state: mathsAndScience * ms.state + other * ot.state,
    owner: mathsAndScience * ms.owner + other * ot.owner,
    teacher: mathsAndScience * ms.teacher + other * ot.teacher,
  };
  return {
    scheme: 'SUBSTITUTE',
    participants: mathsAndScience + other,
    stateNok: nok(units.state, settings.nokPerFte),
    ownerNok: nok(units.owner, settings.nokPerFte),
    teacherNok: nok(units.teacher, settings.nokPerFte),
    stateFtes: ftes(units.state),
    ownerFtes: ftes(units.owner),
    teacherFtes: ftes(units.teacher),
  };
}

/**
 * The scholarship scheme (stipendordning): the state pays the scholarship per funded participant
 * (`scholarshipNok`), worth scholarship / salary cost per FTE in FTEs; the owner pays nothing; the
 * teacher studies in own time, 0.375 FTE per participant, valued at the salary cost per FTE.
 * Computed from the participants as shown; null when hidden.
 */
export function scholarshipSplit(participants: number | null, settings: InsightsSettings): FundingSplit {
  if (participants === null) return hidden('SCHOLARSHIP');
  const stateNok = participants * settings.scholarshipNok;
  return {
    scheme: 'SCHOLARSHIP',
    participants,
    stateNok,
    ownerNok: 0,
    teacherNok: nok(participants * 100, settings.nokPerFte),
    stateFtes: Math.round((stateNok * 100) / settings.nokPerFte) / 100,
    ownerFtes: 0,
    teacherFtes: ftes(participants * 100),
  };
}

/** Funded and not funded per key of one partition, in key order. */
function partition(groups: readonly AllocationGroup[], keyOf: (g: AllocationGroup) => string): { key: string; funded: number; notFunded: number }[] {
  const rows = groups.map((g) => ({ key: keyOf(g), funded: g.funded ? g.n : 0, notFunded: g.funded ? 0 : g.n }));
  return rollUp(rows, (r) => r.key, ['funded', 'notFunded'] as const).map(({ key, sums }) => ({ key, ...sums }));
}

/**
 * A year's funding figures from its allocations grouped by subject, grade band, county, decision
 * and scheme. Cells are counts as shown to the caller; `funded` and `notFunded` are the sums of the
 * county cells as shown, hidden as soon as a county's, subject's or grade band's cell is (else the
 * total minus the other cells would narrow it down), and where the three breakdowns would pin a
 * count through the total the audit hides the coarsest of subjects and grade bands
 * (`protectPartitions`); the split per scheme follows
 * {@link substituteSplit} and {@link scholarshipSplit}. A funded allocation without a scheme counts
 * as funded but in neither split.
 */
export function fundingFigures(groups: readonly AllocationGroup[], identity: Identity, settings: InsightsSettings): FundingFigures {
  const byCounty = partition(groups, (g) => g.county);
  const bySubject = partition(groups, (g) => g.subject);
  const byGradeBand = partition(groups, (g) => g.gradeBand);
  const [funded, notFunded] = (['funded', 'notFunded'] as const).map((k) =>
    protectPartitions(
      identity,
      [byCounty, bySubject, byGradeBand].map((p) => p.map((c) => c[k])),
    ),
  );
  const show = (cells: { key: string }[], i: number): FundingCell[] =>
    cells.map((c, j) => ({ key: c.key, funded: funded!.partitions[i]![j] ?? null, notFunded: notFunded!.partitions[i]![j] ?? null }));
  const participants = (scheme: string, subjects: (subject: string) => boolean) =>
    total(
      groups.filter((g) => g.funded && g.scheme === scheme && subjects(g.subject)),
      (g) => g.n,
    );
  return {
    funded: funded!.total,
    notFunded: notFunded!.total,
    bySubject: show(bySubject, 1),
    byGradeBand: show(byGradeBand, 2),
    byCounty: show(byCounty, 0),
    split: [
      substituteSplit(
        shownCount(
          identity,
          participants('SUBSTITUTE', (s) => MATHS_AND_SCIENCE.has(s)),
        ),
        shownCount(
          identity,
          participants('SUBSTITUTE', (s) => !MATHS_AND_SCIENCE.has(s)),
        ),
        settings,
      ),
      scholarshipSplit(
        shownCount(
          identity,
          participants('SCHOLARSHIP', () => true),
        ),
        settings,
      ),
    ],
  };
}

/**
 * The competence requirements in force in an application year: those in force by 1 August of it,
 * when its studies start; by subject, then grade band.
 */
export function requirementRules(requirements: readonly Entity<RequirementDoc>[], year: number): RequirementRule[] {
  return requirements
    .filter((r) => r.inForceFrom <= `${year}-08-01`)
    .map((r) => ({ subject: r.subject, gradeBand: r.gradeBand, credits: r.credits }))
    .sort((a, b) => byCodeUnits(a.subject, b.subject) || byCodeUnits(a.gradeBand, b.gradeBand));
}
