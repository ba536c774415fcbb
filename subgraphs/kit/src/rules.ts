import { randomBytes } from 'node:crypto';
import { type Identity } from '@partnerskap/common';
import { total } from './rollup.js';

/** What the rules need to know about an application, wherever it is stored. */
export interface ApplicationFacts {
  teacher: string;
  owner: string;
  institution: string;
  /** Whether the teacher's school owner has approved it (institutions see it only then). */
  ownerApproved: boolean;
}

/**
 * Who may see an application's personal data (DOMAIN.md, "Personal data"): the teacher, their
 * school owner, the institution of the applied study once the owner has approved, the
 * directorate, and a service acting on behalf of a cross-partner rule. Unions and the public
 * see aggregates only.
 */
export function maySeeApplication(identity: Identity, app: ApplicationFacts): boolean {
  switch (identity.role) {
    case 'directorate':
    case 'service':
      return true;
    case 'teacher':
      return identity.org === app.teacher;
    case 'school-owner':
      return identity.org === app.owner;
    case 'institution':
      return identity.org === app.institution && app.ownerApproved;
    default:
      return false;
  }
}

/** Callers who may see figures about persons without small-number suppression. */
export function seesPersons(identity: Identity): boolean {
  return identity.role === 'directorate' || identity.role === 'service';
}

/** The least count shown to callers who may not see the persons behind it. */
export const MIN_SHOWN_COUNT = 5;

/**
 * A count as a caller may see it. For a caller who may not see the persons behind it: `null`
 * (suppressed) when 1 to 4, otherwise rounded to the nearest multiple of 5, so that figures of
 * one answer that overlap (a total and its parts) give only ranges when subtracted. A count that
 * is the total of cells also shown one by one goes through {@link shownTotalOver} instead.
 */
export function shownCount(identity: Identity, n: number, unsuppressed = seesPersons(identity)): number | null {
  if (unsuppressed || n === 0) return n;
  if (n < MIN_SHOWN_COUNT) return null;
  return Math.round(n / MIN_SHOWN_COUNT) * MIN_SHOWN_COUNT;
}

/**
 * The total of cells the API also shows one by one (a subject's answers and each of its studies'),
 * as a caller who may not see the persons behind them may see it: see {@link shownTotalOver}.
 */
export function shownTotal(identity: Identity, cells: Iterable<number>): number | null {
  return shownTotalOver(identity, [cells]);
}

/** Whether a count is one a caller who may not see persons gets hidden (1 to 4). */
export function isSuppressed(n: number): boolean {
  return n > 0 && n < MIN_SHOWN_COUNT;
}

/**
 * A total that several partitions add up to, each of whose cells the API shows one by one
 * somewhere (a year's applications per study, per county, per grade band), as a caller who may not
 * see the persons behind them may see it. Controlled (additive) rounding: the sum of the first
 * partition's cells *as shown*, so that the total is a function of shown figures and tells nothing
 * they do not (rounding the true total instead pins cells: four cells of 7, each shown 5, and a
 * total of 28 shown 30 leave only 7 for each). Secondary suppression: `null` as soon as a cell of
 * any partition is hidden, since the total minus the other cells would narrow the hidden one down.
 * The first partition should be the finest one the API publishes (per study before per subject).
 */
export function shownTotalOver(identity: Identity, partitions: Iterable<number>[]): number | null {
  const lists = partitions.map((cells) => [...cells]);
  const first = lists[0] ?? [];
  if (seesPersons(identity)) return total(first);
  if (lists.some((cells) => cells.some(isSuppressed))) return null;
  return total(first, (n) => shownCount(identity, n)!);
}

/** The integer interval `[lo, hi]` an attacker's bounds arithmetic leaves a count. */
export type CountRange = [lo: number, hi: number];

/** A bound standing for "no upper bound": large, yet summed exactly in doubles. */
const UNBOUNDED = 1e12;

/**
 * What a count published by the rule says of the true count: 0 exactly, 1 to 4 when hidden (`null`),
 * else within 2 of it and 5 at least; `unknown` (a cell the audit hid) says nothing.
 */
export function shownRange(shown: number | null, unknown = false): CountRange {
  if (unknown) return [0, UNBOUNDED];
  if (shown === null) return [1, 4];
  if (shown === 0) return [0, 0];
  return [Math.max(MIN_SHOWN_COUNT, shown - 2), shown + 2];
}

/**
 * The attacker's bounds for a total and for every cell of the partitions of it that are published,
 * from the cells as shown: the total lies within Σ lo .. Σ hi of each partition, a cell within the
 * total minus the other cells of its partition, to a fixpoint (the arithmetic of
 * `test/disclosure-search.ts`). `unknown[p]` marks a partition whose cells say nothing.
 */
export function partitionRanges(shown: (number | null)[][], unknown: boolean[] = []): { total: CountRange; cells: CountRange[][] } {
  const cells = shown.map((p, i) => p.map((n) => shownRange(n, unknown[i] ?? false)));
  const total: CountRange = [0, UNBOUNDED];
  for (let changed = true; changed;) {
    changed = false;
    for (const p of cells) {
      const lo = p.reduce((a, [l]) => a + l, 0);
      const hi = p.reduce((a, [, h]) => a + h, 0);
      if (lo > total[0]) [total[0], changed] = [lo, true];
      if (hi < total[1]) [total[1], changed] = [hi, true];
      for (const c of p) {
        const lower = total[0] - (hi - c[1]);
        const upper = total[1] - (lo - c[0]);
        if (lower > c[0]) [c[0], changed] = [lower, true];
        if (upper < c[1]) [c[1], changed] = [upper, true];
      }
    }
    // An empty range means figures the rule cannot publish: stop rather than loop.
    if (total[0] > total[1] || cells.some((p) => p.some(([l, h]) => l > h))) break;
  }
  return { total, cells };
}

/** Whether the bounds pin a count that is not 0 (a 0 is published as such) to one value. */
const pins = ([lo, hi]: CountRange) => lo === hi && lo !== 0;

/**
 * A total and the partitions of it the API publishes cell by cell, as a caller who may not see the
 * persons behind them may see them: {@link shownCount} for each cell and {@link shownTotalOver} for
 * the total, then an audit (secondary suppression by audit). Partitions that do not nest (a year's
 * studies and its counties) constrain each other through the total even when it is hidden (a county
 * shown 5 and studies shown `null`, `null` and 5 leave the hidden ones 1 each), so the audit runs the
 * attacker's bounds arithmetic ({@link partitionRanges}) over the published cells and, while it pins
 * the total or a cell, hides every cell of the coarsest partition still shown (fewest cells; the later
 * one on a tie), and the total with them. The first partition, the finest the API publishes (per
 * study, shown elsewhere too), is never hidden: with it alone nothing is pinned. The directorate and
 * services get every count exact.
 */
export function protectPartitions(identity: Identity, partitions: Iterable<number>[]): { total: number | null; partitions: (number | null)[][] } {
  const lists = partitions.map((cells) => [...cells]);
  if (seesPersons(identity)) return { total: total(lists[0] ?? []), partitions: lists };
  const shown = lists.map((p) => p.map((n) => shownCount(identity, n)));
  const hidden = lists.map(() => false);
  for (;;) {
    const ranges = partitionRanges(shown, hidden);
    if (!pins(ranges.total) && !ranges.cells.some((p, i) => !hidden[i] && p.some((c, j) => shown[i]![j] !== 0 && pins(c)))) break;
    const candidates = shown.map((p, i) => [p.length, i] as const).filter(([, i]) => i > 0 && !hidden[i]);
    if (candidates.length === 0) break;
    const [, coarsest] = candidates.reduce((a, b) => (b[0] < a[0] || (b[0] === a[0] && b[1] > a[1]) ? b : a));
    hidden[coarsest] = true;
    shown[coarsest] = shown[coarsest]!.map(() => null);
  }
  const whole = shown.some((p) => p.includes(null)) ? null : total(shown[0] ?? [], (n) => n!);
  return { total: whole, partitions: shown };
}

/** The width of the bands averages of ratings 1 to 5 are shown in to callers who may not see persons. */
export const AVERAGE_BAND = 0.5;

/**
 * The average of whole ratings 1 to 5 (their `sum` over `count` answers) as a caller may see it:
 * to two decimals for `exact` callers; for others only over {@link MIN_SHOWN_COUNT} or more
 * answers, and banded to the nearest 0.5 (1, 1.5, ... 5). A band spans 0.25 n (the end bands) to
 * 0.5 n whole rating sums for n answers, at least one for every n of 5 or more, so an average rules
 * out no count the rounded count allows and pins none; to one decimal (a band of 0.1 n sums) it
 * often fits a single count.
 */
export function shownAverage(sum: number, count: number, exact: boolean): number | null {
  if (count === 0) return null;
  if (exact) return Math.round((sum / count) * 100) / 100;
  if (count < MIN_SHOWN_COUNT) return null;
  return Math.round(sum / count / AVERAGE_BAND) * AVERAGE_BAND;
}

/** A fresh random pseudonym for records whose person has been erased: unlinkable to the old id. */
export function erasedPseudonym(): string {
  return `erased-${randomBytes(12).toString('hex')}`;
}
