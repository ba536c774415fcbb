/**
 * Writes that move the same figure cells, one after another in this process.
 *
 * A counted collection's writes move its figure cells in the write's transaction (figures.ts): every
 * submission of a school owner's teachers adds to that owner's cells, every applicant of a study to
 * the study's. Two transactions that overlap in time and
 * write one cell conflict (WriteConflict, with MongoDB as with the embedded store); the loser is
 * retried after a pause, and a rush of them (a deadline, a partner back after an outage) mostly
 * retries into each other until the transaction budget runs out (STORE_UNAVAILABLE). Such writes
 * must take turns anyway: queued here they take them without losing any work. Writes that share
 * no cell still run side by side; replicas of the subgraph still meet as conflicts, retried as before.
 */

/** Runs `work` once every write queued before it on any of `keys` has finished (in the order they were queued). */
export type CellQueue = <T>(keys: readonly string[], work: () => Promise<T>) => Promise<T>;

/** A queue per key, in this process. */
export function createCellQueue(): CellQueue {
  /** Per key, the end of the last write queued on it. */
  const tails = new Map<string, Promise<void>>();
  return async (keys, work) => {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    // Queued on all its keys at once (synchronously): each write waits only for writes queued
    // earlier, so no two ever wait for each other.
    const unique = [...new Set(keys)];
    const before = unique.flatMap((k) => tails.get(k) ?? []);
    for (const k of unique) tails.set(k, done);
    try {
      await Promise.all(before);
      return await work();
    } finally {
      release();
      for (const k of unique) if (tails.get(k) === done) tails.delete(k);
    }
  };
}
