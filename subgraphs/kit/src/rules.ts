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

/** A count as a caller may see it: `null` (suppressed) when under {@link MIN_SHOWN_COUNT} for a caller who may not see persons. */
export function shownCount(identity: Identity, n: number, unsuppressed = seesPersons(identity)): number | null {
  return unsuppressed || n === 0 || n >= MIN_SHOWN_COUNT ? n : null;
}

/** A fresh random pseudonym for records whose person has been erased: unlinkable to the old id. */
export function erasedPseudonym(): string {
  return `erased-${randomBytes(12).toString('hex')}`;
}
