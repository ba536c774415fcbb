import { randomBytes } from 'node:crypto';
import { type Identity } from './identity.js';

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
 * is the total of cells also shown in the same answer goes through {@link protectTable} instead.
 */
export function shownCount(identity: Identity, n: number, unsuppressed = seesPersons(identity)): number | null {
  if (unsuppressed || n === 0) return n;
  if (n < MIN_SHOWN_COUNT) return null;
  return Math.round(n / MIN_SHOWN_COUNT) * MIN_SHOWN_COUNT;
}

/**
 * The total of cells that one answer may also show one by one (a subject's answers and each of
 * its studies' answers), as a caller who may not see the persons behind them may see it: rounded
 * like any count, and `null` as soon as one cell is suppressed. Rounding alone does not protect a
 * suppressed cell: with cells of 8 and 8 shown as 10 and 10 and a total of 17 shown as 15, the
 * third cell can only be 1. Without the total there is nothing to subtract from.
 */
export function shownTotal(identity: Identity, cells: Iterable<number>): number | null {
  return shownTotalOver(identity, [cells]);
}

/** Whether a count is one a caller who may not see persons gets hidden (1 to 4). */
export function isSuppressed(n: number): boolean {
  return n > 0 && n < MIN_SHOWN_COUNT;
}

/**
 * A total that several partitions shown in the same answer add up to (a year's applications per
 * county, per subject, per grade band): the sum of the first, as {@link shownTotal} shows it, and
 * `null` as soon as a cell of any of them is suppressed, since the total minus the other cells of
 * that partition would narrow the hidden one down.
 */
export function shownTotalOver(identity: Identity, partitions: Iterable<number>[]): number | null {
  let sum = 0;
  let suppressed = false;
  partitions.forEach((cells, i) => {
    for (const n of cells) {
      if (i === 0) sum += n;
      if (isSuppressed(n)) suppressed = true;
    }
  });
  if (seesPersons(identity)) return sum;
  return suppressed ? null : shownCount(identity, sum);
}

/** A fresh random pseudonym for records whose person has been erased: unlinkable to the old id. */
export function erasedPseudonym(): string {
  return `erased-${randomBytes(12).toString('hex')}`;
}
