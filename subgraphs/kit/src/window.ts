import { ErrorCode, refused } from '@partnerskap/common';
import { osloDate } from './clock.js';
import { type RoundState } from './event-types.js';

/** One year's application round, as the catalogue publishes it (dates `YYYY-MM-DD`, Norwegian): the `round.opened` event's data. */
export type RoundDates = RoundState;

/** The steps of the year, each with its window in the round. */
export type RoundStep = 'apply' | 'ownerDecision' | 'allocation' | 'admission' | 'confirmation';

/** Each step's window: from the day `from` (inclusive) or the day after `after`, through `until`. */
const WINDOWS: Record<RoundStep, { who: string; from?: keyof RoundDates; after?: keyof RoundDates; until: keyof RoundDates }> = {
  apply: { who: 'Teachers apply', from: 'opens', until: 'teacherDeadline' },
  ownerDecision: { who: 'School owners decide', after: 'teacherDeadline', until: 'ownerDeadline' },
  allocation: { who: 'Udir allocates funding', after: 'ownerDeadline', until: 'allocationDeadline' },
  admission: { who: 'Institutions decide admission', after: 'allocationDeadline', until: 'admissionDeadline' },
  confirmation: { who: 'School owners confirm participation', after: 'allocationDeadline', until: 'confirmationDeadline' },
};

/**
 * Refuses unless `now` falls in the step's window of the round: `NOT_OPEN_YET` before it,
 * `DEADLINE_PASSED` after it, `NOT_OPEN_YET` when the year has no round at all.
 */
export function checkWindow(round: RoundDates | null, step: RoundStep, now: Date, year: number, field: string): void {
  if (!round) throw refused(ErrorCode.NOT_OPEN_YET, `There is no application round for ${year}`, field);
  const w = WINDOWS[step];
  const today = osloDate(now);
  if (w.from && today < round[w.from]) throw refused(ErrorCode.NOT_OPEN_YET, `${w.who} from ${round[w.from]} in the ${year} round`, field);
  if (w.after && today <= round[w.after]) throw refused(ErrorCode.NOT_OPEN_YET, `${w.who} after ${round[w.after]} in the ${year} round`, field);
  if (today > round[w.until]) throw refused(ErrorCode.DEADLINE_PASSED, `${w.who} by ${round[w.until]} in the ${year} round: that deadline has passed`, field);
}
