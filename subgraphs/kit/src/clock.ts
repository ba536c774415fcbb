/** The one source of "now" of a subgraph: injected, so tests walk a whole year deadline by deadline. */
export interface Clock {
  now(): Date;
}

/** The machine's time. */
export const systemClock: Clock = Object.freeze({ now: () => new Date() });

/** A clock a test (or a demo) sets by hand. */
export interface SettableClock extends Clock {
  set(at: Date | string): void;
}

/** A clock that stands still at `at` until set again. */
export function settableClock(at: Date | string): SettableClock {
  let current = new Date(at);
  return { now: () => new Date(current), set: (next) => (current = new Date(next)) };
}

/**
 * The clock of a running service, from configuration: `PARTNERSKAP_NOW` (ISO 8601) makes the
 * services act as if it were that moment, and lets time run on from there; unset, the machine's.
 */
export function clockFromEnv(env: Record<string, string | undefined>): Clock {
  const at = env.PARTNERSKAP_NOW;
  if (!at) return systemClock;
  const start = Date.parse(at);
  if (Number.isNaN(start)) throw new Error(`PARTNERSKAP_NOW must be an ISO 8601 time, got "${at}"`);
  const offset = start - Date.now();
  return { now: () => new Date(Date.now() + offset) };
}

/** The calendar date in Norway (`YYYY-MM-DD`) at a moment: the round's deadlines are Norwegian dates. */
export function osloDate(at: Date): string {
  return at.toLocaleDateString('sv-SE', { timeZone: 'Europe/Oslo' });
}
