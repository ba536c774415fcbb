import { createHash, randomBytes } from 'node:crypto';
import { type ClientSession, type Collection, type Db, MongoError } from 'mongodb';
import { osloDate } from './clock.js';
import { ErrorCode, badUserInput, conflict, refused } from '@partnerskap/common';
import { isDuplicateKey, withId } from './mongo.js';
import { type Identity, SERVICE_AUDIENCE, SERVICE_ISSUER, SERVICE_TOKEN_LIFETIME_S, secretKey, signHs256 } from '@partnerskap/common';
import { type NewEvent, createOutbox } from './events.js';
import { type RoundState } from './event-types.js';
import { type Counted } from './figures.js';

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

/**
 * The supergraph (through the gateway) as this subgraph's service: how its consumers read the other
 * partners' event feeds. No rule asks it: rules read projections (docs/events.md).
 */
export interface Supergraph {
  /** The data of a query, or a plain error saying what failed (no log line: a consumer's loop retries and logs once). */
  request<T>(query: string, variables: Record<string, unknown>, options: { timeoutMs: number; signal?: AbortSignal }): Promise<T>;
}

/** Options of {@link createSupergraphClient}. */
export interface SupergraphClientOptions {
  /** This subgraph's name: the service token's subject. */
  subgraph: string;
  /** The secret it shares with the gateway: signs the service token (HS256). */
  secret: string;
  /** The gateway's URL; a function, since in one process the gateway starts after its subgraphs. */
  url: () => string | undefined;
}

/** A service-token client of the supergraph: how one partner's consumers read another partner's feed. */
export function createSupergraphClient(options: SupergraphClientOptions): Supergraph {
  const key = secretKey(options.secret);
  let cached: { token: string; renewAt: number } | undefined;
  const token = async () => {
    if (cached && cached.renewAt > Date.now()) return cached.token;
    const iat = Math.floor(Date.now() / 1000);
    const t = signHs256({ role: 'service', iss: SERVICE_ISSUER, sub: options.subgraph, aud: SERVICE_AUDIENCE, iat, exp: iat + SERVICE_TOKEN_LIFETIME_S }, key);
    cached = { token: t, renewAt: Date.now() + 60_000 };
    return t;
  };
  const request = async <T>(query: string, variables: Record<string, unknown>, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<T> => {
    const url = options.url();
    if (!url) throw new Error('no gateway URL configured (SUPERGRAPH_URL)');
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
      body: JSON.stringify({ query, variables }),
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
    const body = (await res.json()) as { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };
    if (body.errors?.length || !body.data) throw new Error(JSON.stringify(body.errors ?? 'no data'));
    return body.data;
  };
  return { request };
}

/** One line of a subgraph's audit trail: who did what to which record, when. Pseudonymous ids only. */
export interface AuditDoc {
  _id: string;
  at: Date;
  /** The action: the mutation's name. */
  action: string;
  /** The record acted on (an application, study, round, plan, statement id). */
  target: string;
  /** The organisation whose slice the record is (an owner, institution, union; `udir` for the catalogue): whose trail it is in. */
  org: string;
  /** Who did it: the role and organisation or pseudonymous teacher id of the caller. */
  actor: { role: string; id: string | null };
  /** What changed, as plain facts without personal data (a decision's outcome, a rank). */
  details: Record<string, unknown>;
}

/** A new audit line. */
export function auditEntry(identity: Identity, at: Date, action: string, target: string, org: string, details: Record<string, unknown> = {}): AuditDoc {
  return { _id: randomBytes(12).toString('hex'), at, action, target, org, actor: { role: identity.role, id: identity.org ?? null }, details };
}

/** The audit lines of a trail a caller may read: the directorate all of them, a partner those of its own organisation. */
export async function readAudit(audit: Collection<AuditDoc>, identity: Identity, first: number): Promise<AuditDoc[]> {
  const filter = identity.role === 'directorate' ? {} : { org: identity.org ?? '\u0000' };
  return audit.find(filter).sort({ at: -1, _id: 1 }).limit(first).toArray();
}

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
        if (!isLabelled(err, 'TransientTransactionError')) throw err;
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

/** How long a write keeps retrying conflicts with other transactions before it answers STORE_UNAVAILABLE. */
export const TRANSACTION_BUDGET_MS = 3000;

const isLabelled = (err: unknown, label: string) => err instanceof MongoError && err.hasErrorLabel(label);

async function commitWithRetry(session: ClientSession, deadline: number): Promise<void> {
  for (;;) {
    try {
      await session.commitTransaction();
      return;
    } catch (err) {
      if (!isLabelled(err, 'UnknownTransactionCommitResult') || Date.now() >= deadline) throw err;
    }
  }
}

/** An audit line as the API shows it (`AuditEntry`). */
export function auditView(doc: AuditDoc) {
  return { at: doc.at, action: doc.action, target: doc.target, org: doc.org, actorRole: doc.actor.role, actorId: doc.actor.id, details: JSON.stringify(doc.details) };
}

/** A client's idempotency key for a mutation that creates something, and how to answer a retry. */
export interface Idempotency<T> {
  /** The key the client sent (`idempotencyKey`); none means no replay protection. */
  key: string | null | undefined;
  /** Whose key it is and for what: the caller and the mutation (keys of different callers never meet). */
  scope: string;
  /** The request's arguments: the same key with other arguments is a CONFLICT. */
  request: unknown;
  /** The first result again, from the id it created. */
  replay(id: string): Promise<T>;
}

/** The scope of a caller's idempotency keys for one mutation. */
export function idempotencyScope(identity: Identity, mutation: string): string {
  return `${identity.role}|${identity.org ?? ''}|${mutation}`;
}

/** A mutation's idempotency: the caller's key for these arguments, and how to give the first result again. */
export function idempotencyOf<T>(identity: Identity, mutation: string, key: string | null | undefined, request: unknown, replay: (id: string) => Promise<T>): Idempotency<T> {
  return { key, scope: idempotencyScope(identity, mutation), request, replay };
}

/** How long an idempotency key is kept: a client retries within this time. */
export const IDEMPOTENCY_TTL_S = 24 * 60 * 60;

interface IdempotencyDoc {
  _id: string;
  request: string;
  result: string;
  expiresAt: Date;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** The events of a write, from its result (the record as it stands after the change). */
export type EventsOf<T> = (result: T) => readonly NewEvent[];

/**
 * A subgraph's audit collection and its one way to write: a change, its audit line and its events
 * (the outbox of `source`) in one transaction.
 */
export function createAuditedWriter(db: Db, source: string) {
  const audit = db.collection<AuditDoc>('audit');
  const outbox = createOutbox(db, source);
  const keys = db.collection<IdempotencyDoc>('idempotency');
  /** Where a key is stored, and the fingerprint of the request it came with. */
  const keyOf = (idempotency: Idempotency<unknown>) => ({
    id: sha256(`${idempotency.scope}|${idArgKey(idempotency.key!)}`),
    request: sha256(JSON.stringify(idempotency.request)),
  });
  /** The first result under a stored key; CONFLICT when the key came with another request. */
  const firstResult = async <T>(idempotency: Idempotency<T>, id: string, request: string): Promise<T | undefined> => {
    const first = await keys.findOne({ _id: id });
    if (!first) return undefined;
    if (first.request !== request) throw conflict('This idempotency key was already used for a different request', 'idempotencyKey');
    return idempotency.replay(first.result);
  };
  return {
    audit,
    outbox,
    ensureIndexes: async () => {
      await outbox.ensureIndexes();
      await audit.createIndexes([{ key: { org: 1, at: -1 } }, { key: { at: -1 } }, { key: { 'actor.id': 1 } }]);
      await keys.createIndexes([{ key: { expiresAt: 1 }, expireAfterSeconds: 0 }]);
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
      const stored = idempotency?.key ? keyOf(idempotency) : undefined;
      try {
        const result = await inTransaction(db, async (session) => {
          if (stored) await keys.insertOne({ _id: stored.id, request: stored.request, result: line.target, expiresAt: new Date(Date.now() + IDEMPOTENCY_TTL_S * 1000) }, { session });
          const result = await work(session);
          await audit.insertOne(line, { session });
          if (events && result !== undefined && result !== null) await outbox.add(events(result), line.at, session);
          return result;
        });
        if (events) outbox.committed();
        return result;
      } catch (err) {
        if (stored && isDuplicateKey(err)) {
          const first = await firstResult(idempotency!, stored.id, stored.request);
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
      if (!idempotency.key) return undefined;
      const { id, request } = keyOf(idempotency);
      return firstResult(idempotency, id, request);
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
          // A counted collection's figures change in the same transaction.
          if ('sets' in collection) await collection.insertOne(doc as never, session);
          else await collection.insertOne(doc as never, { session });
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

/** An idempotency key: 8 to 100 letters, digits, `-` or `_` (a UUID fits). */
function idArgKey(key: string): string {
  if (!/^[A-Za-z0-9_-]{8,100}$/.test(key)) throw badUserInput('idempotencyKey must be 8 to 100 letters, digits, - or _ (a UUID fits)', 'idempotencyKey');
  return key;
}
