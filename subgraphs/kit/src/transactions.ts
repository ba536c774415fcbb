import { type ClientSession, type Db } from 'mongodb';
import { ErrorCode, refused } from '@partnerskap/common';
import { isTransientTransactionError, isUnknownCommitResult } from './store-errors.js';

/** How long a write keeps retrying conflicts with other transactions before it answers STORE_UNAVAILABLE. */
export const TRANSACTION_BUDGET_MS = 3000;

/**
 * Runs `work` in a transaction: every write of a mutation (the record, its audit line and its
 * events) lands together or not at all. A conflict with another transaction is retried for up to
 * {@link TRANSACTION_BUDGET_MS}, then answered STORE_UNAVAILABLE (nothing written).
 */
export async function inTransaction<T>(db: Db, work: (session: ClientSession) => Promise<T>): Promise<T> {
  const session = db.client.startSession();
  const deadline = Date.now() + TRANSACTION_BUDGET_MS;
  try {
    // The driver's withTransaction retries a conflict for up to 120 s; a request cannot wait that long
    // (the gateway gives up after 5 s), and a transaction left open by a killed process holds its
    // records until the store's transaction lifetime (60 s). So retry within a budget, then say so.
    for (let attempt = 0; ; attempt++) {
      session.startTransaction();
      try {
        const result = await work(session);
        await commitWithRetry(session, deadline);
        return result;
      } catch (err) {
        if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
        if (!isTransientTransactionError(err)) throw err;
        if (Date.now() >= deadline) {
          throw refused(ErrorCode.STORE_UNAVAILABLE, 'The record is being changed by another request just now: nothing was changed; try again shortly');
        }
        await new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random())));
      }
    }
  } finally {
    await session.endSession();
  }
}

async function commitWithRetry(session: ClientSession, deadline: number): Promise<void> {
  for (;;) {
    try {
      await session.commitTransaction();
      return;
    } catch (err) {
      if (!isUnknownCommitResult(err) || Date.now() >= deadline) throw err;
    }
  }
}
