import { type ClientSession, type Collection, type Db, type OptionalUnlessRequiredId } from 'mongodb';
import { type Identity, conflict } from '@partnerskap/common';
import { type AuditDoc, ensureAuditIndexes, readAudit } from './audit.js';
import { type NewEvent, createOutbox } from './events.js';
import { type Counted } from './figures.js';
import { type Idempotency, createIdempotencyKeys } from './idempotency.js';
import { withId } from './mongo.js';
import { isDuplicateKey } from './store-errors.js';
import { inTransaction } from './transactions.js';

/** The events of a write, from its result (the record as it stands after the change). */
export type EventsOf<T> = (result: T) => readonly NewEvent[];

/**
 * A subgraph's audit collection and its one way to write: a change, its audit line and its events
 * (the outbox of `source`) in one transaction.
 */
export function createAuditedWriter(db: Db, source: string) {
  const audit = db.collection<AuditDoc>('audit');
  const outbox = createOutbox(db, source);
  const keys = createIdempotencyKeys(db);
  return {
    audit,
    outbox,
    ensureIndexes: async () => {
      await outbox.ensureIndexes();
      await ensureAuditIndexes(audit);
      await keys.ensureIndexes();
    },
    /**
     * Runs `work` and writes `line` in one transaction; a duplicate key becomes CONFLICT on
     * `duplicate.field`, never echoing the value. With an idempotency key, the key is stored in
     * the same transaction (unique `_id`), so of concurrent or retried requests with one key
     * exactly one writes, and the others get its result.
     */
    async write<T>(
      line: AuditDoc,
      duplicate: { message: string; field: string } | null,
      work: (session: ClientSession) => Promise<T>,
      idempotency?: Idempotency<T>,
      events?: EventsOf<T>,
    ): Promise<T> {
      const stored = idempotency ? keys.storedKey(idempotency) : undefined;
      try {
        const result = await inTransaction(db, async (session) => {
          if (stored) await keys.store(stored, line.target, session);
          const result = await work(session);
          await audit.insertOne(line, { session });
          if (events && result !== undefined && result !== null) await outbox.add(events(result), line.at, session);
          return result;
        });
        if (events) outbox.committed();
        return result;
      } catch (err) {
        if (stored && isDuplicateKey(err)) {
          const first = await keys.firstResult(idempotency!, stored);
          if (first !== undefined) return first;
        }
        if (duplicate && isDuplicateKey(err)) throw conflict(duplicate.message, duplicate.field);
        throw err;
      }
    },
    /**
     * The first result of a request already made with this idempotency key, before any rule is
     * checked again (a retry after a deadline still gets its result); undefined when the key is new.
     */
    async replayed<T>(idempotency: Idempotency<T>): Promise<T | undefined> {
      const stored = keys.storedKey(idempotency);
      return stored ? keys.firstResult(idempotency, stored) : undefined;
    },
    /** Inserts a new record with its audit line (and the idempotency key, if any); the record as the API shows it. */
    insert<D extends { _id: string | number }>(
      collection: Collection<D> | Counted<D & { _id: string }>,
      doc: D,
      line: AuditDoc,
      duplicate: { message: string; field: string } | null,
      idempotency?: Idempotency<ReturnType<typeof withId<D>>>,
      events?: EventsOf<ReturnType<typeof withId<D>>>,
    ): Promise<ReturnType<typeof withId<D>>> {
      return this.write(
        line,
        duplicate,
        async (session) => {
          // A counted collection's figures change in the same transaction (its documents' ids are strings).
          if ('sets' in collection) await collection.insertOne(doc as D & { _id: string }, session);
          else await collection.insertOne(doc as OptionalUnlessRequiredId<D>, { session });
          return withId(doc);
        },
        idempotency,
        events,
      );
    },
    lines: (identity: Identity, first: number) => readAudit(audit, identity, first),
    /** Re-keys an erased teacher's audit lines (GDPR erasure). */
    rekeyActor: async (teacher: string, pseudonym: string, session?: ClientSession) =>
      (await audit.updateMany({ 'actor.id': teacher }, { $set: { 'actor.id': pseudonym } }, session ? { session } : {})).modifiedCount,
  };
}
