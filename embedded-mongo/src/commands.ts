import { createHash } from 'node:crypto';
import { Binary, Long, ObjectId, Timestamp, UUID } from 'bson';
import { compare } from 'mingo/util';
import { type Collation, compareStrings, parseCollation } from './collation.js';
import { encodeDoc, setBatchBytes } from './encoded.js';
import { type Collection, Engine, Transaction, idKeyOf } from './engine.js';
import { MongoServerError, badValue } from './errors.js';
import { type FailAction, FailCommandError, type FailPoints } from './failpoints.js';
import { type IndexSpec, defaultIndexName, sameIndex } from './indexes.js';
import { type OutputStage, takeOutputStage, writeOutput } from './output.js';
import {
  type ReadContext,
  aggregate,
  applyUpdate,
  checkStagePlaces,
  collectionlessSource,
  evaluateLet,
  isOperatorUpdate,
  match,
  project,
  refuseUnsupported,
  sortRecords,
  upsertSeed,
} from './query.js';
import { checkInsertId } from './storage.js';
import { checkValidationOptions, validatorFor } from './validation.js';
import { type Doc, asText, keyOf, toNumber, toView, valuesAt } from './values.js';

/** The wire version we claim: MongoDB 7.0. The driver needs at least 9 (4.4). */
export const MAX_WIRE_VERSION = 21;
const DEFAULT_BATCH = 101;

interface Cursor {
  ns: string;
  docs: Doc[];
  /** Whether `docs` are stored documents (see {@link encodeDoc}). */
  stored: boolean;
  pos: number;
  lastUsed: number;
}

/** How long an untouched cursor lives, as MongoDB's `cursorTimeoutMillis`. */
export const CURSOR_TIMEOUT_MS = 10 * 60 * 1000;

interface Session {
  txn: Transaction | undefined;
  /** The connection its last command came on, and when that connection closed (its transaction then is an orphan's). */
  connectionId?: number;
  orphanedAt?: number | undefined;
  /** The last retryable write's number and reply, so a retry returns the first result. */
  retried: { txnNumber: number; reply: Doc } | undefined;
  /** Per statement index, the replies of a retryable write's statements committed before it failed: a retry skips them. */
  done?: { txnNumber: number; replies: Map<number, Doc> };
}

/** How long a transaction may stay open, as MongoDB's `transactionLifetimeLimitSeconds`. */
export const TRANSACTION_LIFETIME_MS = 60_000;

/**
 * How long an open transaction waits for its session to come back on another connection after its
 * own closed. A client that retries a commit does so within milliseconds; a killed process never
 * does, and its transaction would otherwise hold its records for the whole lifetime (MongoDB's
 * behaviour: the one place the embedded store deliberately differs, so a killed partner's writes
 * do not stall everyone's for a minute).
 */
export const ORPHANED_TRANSACTION_MS = 2_000;

// What MongoDB 7.0 runs inside a transaction; anything else is OperationNotSupportedInTransaction.
const IN_TRANSACTION = new Set([
  'find',
  'getMore',
  'killCursors',
  'insert',
  'update',
  'delete',
  'findAndModify',
  'findandmodify',
  'aggregate',
  'distinct',
  'create',
  'createIndexes',
  'commitTransaction',
  'abortTransaction',
]);
const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify', 'findandmodify']);
// What MongoDB 5.0+ reads with readConcern snapshot outside a transaction.
const SNAPSHOT_READS = new Set(['find', 'aggregate', 'distinct']);
// Catalog changes outside transactions: each advances the clock, as a write.
const CATALOG_WRITES = new Set(['create', 'drop', 'dropDatabase', 'createIndexes', 'dropIndexes', 'deleteIndexes', 'collMod']);

/** What a command needs to know about where it came from. */
export interface CommandContext {
  connectionId: number;
  host: string;
  /** Set by the command: the connection closes without a reply (the `onPrimaryTransactionalWrite` fail point). */
  closeConnection?: boolean;
}

/** Executes commands against an engine: the server's brain, free of any wire detail. */
export class CommandRunner {
  readonly #engine: Engine;
  readonly #cursors = new Map<string, Cursor>();
  readonly #sessions = new Map<string, Session>();
  readonly #electionId = new ObjectId('7fffffff0000000000000001');
  readonly #failPoints: FailPoints | undefined;
  #nextCursor = 1n;

  /** `failPoints`: given when the store runs with test commands (`configureFailPoint`). */
  constructor(engine: Engine, failPoints?: FailPoints) {
    this.#engine = engine;
    this.#failPoints = failPoints;
  }

  /**
   * Aborts transactions open longer than {@link TRANSACTION_LIFETIME_MS}, as MongoDB does, and those
   * whose connection closed {@link ORPHANED_TRANSACTION_MS} ago without their session coming back; returns how many.
   */
  expireTransactions(now: number): number {
    let n = 0;
    for (const session of this.#sessions.values()) {
      const txn = session.txn;
      if (txn?.state !== 'active') continue;
      if (now - txn.startedAt > TRANSACTION_LIFETIME_MS) {
        txn.abortReason = 'it exceeded the transaction lifetime limit (transactionLifetimeLimitSeconds: 60)';
      } else if (session.orphanedAt !== undefined && now - session.orphanedAt > ORPHANED_TRANSACTION_MS) {
        txn.abortReason = 'its connection closed and its session did not come back';
      } else continue;
      this.#engine.abort(txn);
      n++;
    }
    return n;
  }

  /** A connection closed: the open transactions whose last command came on it become orphans' (see {@link ORPHANED_TRANSACTION_MS}). */
  connectionClosed(connectionId: number, now: number): void {
    for (const session of this.#sessions.values()) {
      if (session.txn?.state === 'active' && session.connectionId === connectionId) session.orphanedAt = now;
    }
  }

  /** Forgets cursors nobody has read from for {@link CURSOR_TIMEOUT_MS}; returns how many. */
  expireCursors(now: number): number {
    let n = 0;
    for (const [id, cursor] of this.#cursors) {
      if (now - cursor.lastUsed > CURSOR_TIMEOUT_MS) {
        this.#cursors.delete(id);
        n++;
      }
    }
    return n;
  }

  /**
   * Runs one command document (`$db` names the database) and returns its reply. `failure` is what
   * a triggered fail point asks: its `errorCode` fails the command before anything runs, as in
   * MongoDB (where the fail point comes before the session's transaction is looked up).
   */
  run(cmd: Doc, ctx: CommandContext, failure?: FailAction): Doc {
    const name = Object.keys(cmd)[0] ?? '';
    const db = typeof cmd.$db === 'string' ? cmd.$db : 'admin';
    if (failure?.errorCode !== undefined) throw new FailCommandError(failure.errorCode);
    const session = this.#session(cmd);
    if (session) {
      session.connectionId = ctx.connectionId;
      session.orphanedAt = undefined;
    }
    const txnNumber = cmd.txnNumber !== undefined ? toNumber(cmd.txnNumber) : undefined;
    const inTxn = cmd.autocommit === false;
    if (inTxn) checkTransactionStatement(name, db, cmd);
    const snapshot = this.#readConcern(cmd, inTxn, name);
    // A newer txnNumber on the session ends its open transaction, as in MongoDB (a retryable write too).
    if (session?.txn?.state === 'active' && txnNumber !== undefined && txnNumber > session.txn.txnNumber) this.#engine.abort(session.txn);
    let txn: Transaction | undefined;
    if (session && inTxn && txnNumber !== undefined && name !== 'commitTransaction' && name !== 'abortTransaction') {
      txn = this.#transactionFor(session, txnNumber, cmd.startTransaction === true);
    }
    if (session && !inTxn && txnNumber !== undefined && session.retried?.txnNumber === txnNumber) {
      return session.retried.reply;
    }
    try {
      let reply: Doc;
      if (snapshot) {
        reply = this.#engine.within(snapshot.reader, () => this.#dispatch(name, cmd, db, ctx, snapshot.reader, session, txnNumber));
        // The driver reads the time from the reply's top level (distinct's place), MongoDB puts it on the cursor too.
        if (reply.cursor) (reply.cursor as Doc).atClusterTime = snapshot.atClusterTime;
        reply.atClusterTime = snapshot.atClusterTime;
      } else if (
        session &&
        !inTxn &&
        txnNumber !== undefined &&
        this.#failPoints &&
        WRITES.has(name) &&
        (this.#failPoints.primaryWriteArmed || session.done?.txnNumber === txnNumber)
      ) {
        reply = this.#statementwise(name, cmd, db, ctx, session, txnNumber, this.#failPoints);
      } else {
        reply = txn
          ? this.#engine.within(txn, () => this.#dispatch(name, cmd, db, ctx, txn, session, txnNumber))
          : this.#dispatch(name, cmd, db, ctx, txn, session, txnNumber);
      }
      if (txn && Array.isArray(reply.writeErrors) && reply.writeErrors.length > 0) this.#engine.abort(txn);
      if (!txn && CATALOG_WRITES.has(name)) this.#engine.tick();
      if (session && !inTxn && txnNumber !== undefined) session.retried = { txnNumber, reply };
      return reply;
    } catch (err) {
      if (txn) this.#engine.abort(txn);
      throw err;
    }
  }

  #session(cmd: Doc): Session | undefined {
    const lsid = cmd.lsid as { id?: { toString(enc: string): string } } | undefined;
    if (!lsid?.id) return undefined;
    const key = lsid.id.toString('hex');
    let session = this.#sessions.get(key);
    if (!session) this.#sessions.set(key, (session = { txn: undefined, retried: undefined }));
    return session;
  }

  /**
   * What a command's readConcern asks, as MongoDB checks it: `afterClusterTime` (causal
   * consistency) is met at once on this single node, moving the clock up to a time seen
   * elsewhere; a snapshot read outside a transaction (find, aggregate, distinct, as MongoDB 5.0+)
   * reads the committed state at its `atClusterTime`, or now: what it returns is the reader.
   */
  #readConcern(cmd: Doc, inTxn: boolean, name: string): { reader: Transaction; atClusterTime: Timestamp } | undefined {
    const rc = cmd.readConcern as Doc | undefined;
    if (rc === undefined || rc === null) return undefined;
    const level = rc.level;
    if (inTxn && level !== undefined && level !== 'local' && level !== 'majority' && level !== 'snapshot') {
      throw new MongoServerError(
        'InvalidOptions',
        `The readConcern level must be either 'local', 'majority' or 'snapshot' in a transaction, not '${asText(level)}'`,
      );
    }
    const after = rc.afterClusterTime;
    if (after !== undefined) {
      if (!(after instanceof Timestamp)) throw new MongoServerError('TypeMismatch', "readConcern 'afterClusterTime' must be a Timestamp");
      if (rc.atClusterTime !== undefined)
        throw new MongoServerError('InvalidOptions', 'Specifying a timestamp for readConcern snapshot in a causally consistent session is not allowed');
      this.#engine.advanceClusterTime(after);
    }
    if (inTxn || level !== 'snapshot') {
      if (rc.atClusterTime !== undefined && !inTxn) throw new MongoServerError('InvalidOptions', 'readConcern atClusterTime is only valid with level snapshot');
      return undefined;
    }
    if (!SNAPSHOT_READS.has(name))
      throw new MongoServerError('InvalidOptions', `readConcern level snapshot is not supported for command ${name} outside transactions`);
    const at = rc.atClusterTime;
    if (at !== undefined && !(at instanceof Timestamp)) throw new MongoServerError('TypeMismatch', "readConcern 'atClusterTime' must be a Timestamp");
    return this.#engine.snapshotAt(at);
  }

  /**
   * A retryable write while `onPrimaryTransactionalWrite` may trigger, or the retry of one it
   * failed: one statement at a time, as mongod applies them, so that a retry skips the statements
   * already committed (exactly once) and runs the others. The replies are merged as one command's.
   */
  #statementwise(name: string, cmd: Doc, db: string, ctx: CommandContext, session: Session, txnNumber: number, failPoints: FailPoints): Doc {
    const key = name === 'insert' ? 'documents' : name === 'update' ? 'updates' : name === 'delete' ? 'deletes' : undefined;
    if (session.done?.txnNumber !== txnNumber) session.done = { txnNumber, replies: new Map() };
    const done = session.done.replies;
    const statements = key ? ((cmd[key] as Doc[] | undefined) ?? []) : [cmd];
    const merged: Doc = name === 'update' ? { n: 0, nModified: 0 } : key ? { n: 0 } : {};
    const upserted: Doc[] = [];
    const writeErrors: Doc[] = [];
    this.#engine.beforeCommit = () => {
      const action = failPoints.primaryWrite();
      if (!action) return;
      if (action.closeConnection) ctx.closeConnection = true;
      if (action.failCode !== undefined) throw new FailCommandError(action.failCode, 'Failing write for test due to failpoint onPrimaryTransactionalWrite');
    };
    try {
      for (let i = 0; i < statements.length; i++) {
        let reply = done.get(i);
        if (!reply) {
          reply = this.#dispatch(name, key ? { ...cmd, [key]: [statements[i]] } : cmd, db, ctx, undefined, session, txnNumber);
          // A statement that failed is not recorded: a retry runs it again, as in MongoDB.
          if (!Array.isArray(reply.writeErrors)) done.set(i, reply);
        }
        if (!key) return reply;
        merged.n = toNumber(merged.n) + toNumber(reply.n ?? 0);
        if (name === 'update') merged.nModified = toNumber(merged.nModified) + toNumber(reply.nModified ?? 0);
        for (const u of (reply.upserted as Doc[] | undefined) ?? []) upserted.push({ ...u, index: i });
        for (const e of (reply.writeErrors as Doc[] | undefined) ?? []) writeErrors.push({ ...e, index: i });
        if (writeErrors.length > 0 && cmd.ordered !== false) break;
      }
    } finally {
      this.#engine.beforeCommit = undefined;
    }
    if (upserted.length > 0) merged.upserted = upserted;
    if (writeErrors.length > 0) merged.writeErrors = writeErrors;
    merged.ok = 1;
    return merged;
  }

  #transactionFor(session: Session, txnNumber: number, start: boolean): Transaction {
    if (start) {
      if (session.txn?.state === 'active') this.#engine.abort(session.txn);
      session.txn = this.#engine.begin(new Transaction(txnNumber));
      return session.txn;
    }
    const txn = session.txn;
    if (!txn || txn.txnNumber !== txnNumber || txn.state !== 'active') {
      throw new MongoServerError(
        'NoSuchTransaction',
        txn?.abortReason && txn.txnNumber === txnNumber
          ? `Transaction with { txnNumber: ${txnNumber} } has been aborted: ${txn.abortReason}.`
          : `Transaction with { txnNumber: ${txnNumber} } has been aborted.`,
        {},
        ['TransientTransactionError'],
      );
    }
    return txn;
  }

  #dispatch(
    name: string,
    cmd: Doc,
    db: string,
    ctx: CommandContext,
    txn: Transaction | undefined,
    session: Session | undefined,
    txnNumber: number | undefined,
  ): Doc {
    switch (name) {
      case 'hello':
      case 'isMaster':
      case 'ismaster':
        return this.#hello(name !== 'hello', ctx);
      case 'ping':
        return { ok: 1 };
      case 'buildInfo':
      case 'buildinfo':
        return {
          version: '7.0.0',
          gitVersion: 'embedded',
          versionArray: [7, 0, 0, 0],
          bits: 64,
          maxBsonObjectSize: 16 * 1024 * 1024,
          storageEngines: ['embedded'],
          ok: 1,
        };
      case 'getParameter':
        return { featureCompatibilityVersion: { version: '7.0' }, ok: 1 };
      case 'serverStatus':
        return { host: ctx.host, version: '7.0.0', process: 'embedded-mongo', uptime: process.uptime(), ok: 1 };
      case 'listDatabases':
        return this.#listDatabases(cmd);
      case 'listCollections':
        return this.#listCollections(cmd, db);
      case 'create':
        return this.#create(cmd, db);
      case 'collMod':
        return this.#collMod(cmd, db);
      case 'drop':
        return this.#drop(cmd, db);
      case 'dropDatabase':
        if (this.#engine.dbs.has(db)) this.#engine.apply({ t: 'dropDatabase', db });
        return { dropped: db, ok: 1 };
      case 'insert':
        return this.#insert(cmd, db, txn);
      case 'update':
        return this.#update(cmd, db, txn);
      case 'delete':
        return this.#delete(cmd, db, txn);
      case 'find':
        return this.#find(cmd, db, this.#read(cmd, txn, cmd.collation));
      case 'getMore':
        return this.#getMore(cmd);
      case 'killCursors':
        return this.#killCursors(cmd);
      case 'findAndModify':
      case 'findandmodify':
        return this.#findAndModify(cmd, db, txn, this.#read(cmd, txn, cmd.collation));
      case 'aggregate':
        return this.#aggregate(cmd, db, this.#read(cmd, txn, cmd.collation));
      case 'count':
        return this.#count(cmd, db, this.#read(cmd, txn));
      case 'distinct':
        return this.#distinct(cmd, db, this.#read(cmd, txn, cmd.collation));
      case 'createIndexes':
        return this.#createIndexes(cmd, db, txn);
      case 'listIndexes':
        return this.#listIndexes(cmd, db);
      case 'dropIndexes':
      case 'deleteIndexes':
        return this.#dropIndexes(cmd, db);
      case 'endSessions':
        for (const lsid of (cmd.endSessions as Doc[]) ?? []) {
          const key = (lsid.id as { toString(enc: string): string } | undefined)?.toString('hex');
          const s = key !== undefined ? this.#sessions.get(key) : undefined;
          if (s?.txn) this.#engine.abort(s.txn);
          if (key !== undefined) this.#sessions.delete(key);
        }
        return { ok: 1 };
      case 'configureFailPoint':
        if (!this.#failPoints) throw new MongoServerError('CommandNotFound', `no such command: '${name}'`);
        if (db !== 'admin') throw new MongoServerError('Unauthorized', 'configureFailPoint may only be run against the admin database.');
        return this.#failPoints.configure(cmd);
      case 'commitTransaction':
        return this.#endTransaction(session, txnNumber, 'commit');
      case 'abortTransaction':
        return this.#endTransaction(session, txnNumber, 'abort');
      default:
        throw new MongoServerError('CommandNotFound', `no such command: '${name}'`);
    }
  }

  /** What a read needs besides its filter (a method: a closure per command would cost on the single-document path). */
  #read(cmd: Doc, txn: Transaction | undefined, collation?: unknown): ReadContext {
    return {
      engine: this.#engine,
      txn,
      collation: collation as Collation | undefined,
      deadline: cmd.maxTimeMS !== undefined && toNumber(cmd.maxTimeMS) > 0 ? Date.now() + toNumber(cmd.maxTimeMS) : undefined,
    };
  }

  #hello(legacy: boolean, ctx: CommandContext): Doc {
    return {
      ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
      helloOk: true,
      setName: 'embedded',
      setVersion: 1,
      hosts: [ctx.host],
      primary: ctx.host,
      me: ctx.host,
      electionId: this.#electionId,
      secondary: false,
      maxBsonObjectSize: 16 * 1024 * 1024,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: ctx.connectionId,
      minWireVersion: 0,
      maxWireVersion: MAX_WIRE_VERSION,
      readOnly: false,
      lastWrite: { lastWriteDate: new Date() },
      ok: 1,
    };
  }

  #collections(db: string): Collection[] {
    return [...(this.#engine.dbs.get(db)?.values() ?? [])];
  }

  /**
   * A read's context on `coll`: the command's collation (`{ locale: 'simple' }` for binary), else
   * the collection's or view's default, and the command's evaluated `let` variables. A view's
   * collation cannot be overridden, as in MongoDB.
   */
  #reading(ctx: ReadContext, cmd: Doc, coll: Collection | undefined): ReadContext {
    const collation = collationOf(cmd.collation, coll);
    const variables = evaluateLet(cmd.let);
    // The common read (no collation, no let) keeps its context: a copy per command costs a find by _id a third of its time.
    if (collation === undefined && variables === undefined && ctx.collation === undefined) return ctx;
    return { ...ctx, collation, variables };
  }

  /** The collection a write goes to; a view refuses it as MongoDB does. */
  #writable(db: string, name: string): Collection | undefined {
    const coll = this.#engine.collection(db, name);
    if (isView(coll)) throw new MongoServerError('CommandNotSupportedOnView', `Namespace ${db}.${name} is a view, not a collection`);
    return coll;
  }

  #listDatabases(cmd: Doc): Doc {
    const databases = [...this.#engine.dbs.keys()].map((name) => ({
      name,
      sizeOnDisk: 0,
      empty: this.#collections(name).every((c) => c.records.size === 0),
    }));
    const filter = cmd.filter as Doc | undefined;
    const shown = filter ? databases.filter((d) => filter.name === undefined || filter.name === d.name) : databases;
    return cmd.nameOnly ? { databases: shown.map(({ name }) => ({ name })), ok: 1 } : { databases: shown, totalSize: 0, ok: 1 };
  }

  #listCollections(cmd: Doc, db: string): Doc {
    const all = this.#collections(db).map((c) =>
      isView(c)
        ? { name: c.name, type: 'view', options: c.options, info: { readOnly: true } }
        : {
            name: c.name,
            type: 'collection',
            options: c.options,
            info: { readOnly: false, uuid: c.uuid },
            idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
          },
    );
    const filter = cmd.filter as Doc | undefined;
    const docs = filter && Object.keys(filter).length > 0 ? this.#filterPlain(all, filter) : all;
    const shown = cmd.nameOnly ? docs.map((d) => ({ name: d.name, type: d.type })) : docs;
    return this.#cursorReply(`${db}.$cmd.listCollections`, shown, cmd.cursor as Doc | undefined, 'firstBatch');
  }

  #filterPlain(docs: Doc[], filter: Doc): Doc[] {
    const engine = new Engine();
    engine.apply({ t: 'create', db: 'x', c: 'x', o: {} }, false);
    const tmp = engine.collection('x', 'x')!;
    docs.forEach((d, i) => engine.apply({ t: 'put', db: 'x', c: 'x', d: { ...d, _id: i } }, false));
    return match(tmp, filter, { engine, txn: undefined }).map((r) => docs[toNumber(r.doc._id)]!);
  }

  #create(cmd: Doc, db: string): Doc {
    const name = this.#collectionName(cmd.create);
    if (this.#engine.collection(db, name)) {
      throw new MongoServerError('NamespaceExists', `Collection ${db}.${name} already exists.`);
    }
    const options: Doc = {};
    for (const [key, value] of Object.entries(cmd)) {
      if (key === 'create' || ANY_COMMAND_FIELDS.has(key) || value === undefined) continue;
      const refused = CREATE_REFUSED[key];
      if (refused && !(key === 'capped' && value === false))
        throw new MongoServerError('CommandNotSupported', `${refused} not supported by the embedded store`);
      if (!CREATE_OPTIONS.has(key)) throw new MongoServerError('Location40415', `BSON field 'create.${key}' is an unknown field.`);
      options[key] = value;
    }
    checkCollectionOptions(options);
    this.#engine.createCollection(db, name, options);
    return { ok: 1 };
  }

  /**
   * `collMod`: changes a collection's validator, `validationLevel` and `validationAction`, or a
   * view's `viewOn` and `pipeline`. Documents already stored are not checked again (as in MongoDB).
   */
  #collMod(cmd: Doc, db: string): Doc {
    const name = this.#collectionName(cmd.collMod);
    const coll = this.#engine.collection(db, name);
    if (!coll) throw new MongoServerError('NamespaceNotFound', `ns does not exist: ${db}.${name}`);
    const changes: Doc = {};
    for (const [key, value] of Object.entries(cmd)) {
      if (key === 'collMod' || ANY_COMMAND_FIELDS.has(key) || value === undefined) continue;
      if (COLLMOD_REFUSED.has(key)) throw new MongoServerError('CommandNotSupported', `collMod '${key}' is not supported by the embedded store`);
      if (!COLLMOD_OPTIONS.has(key)) throw new MongoServerError('Location40415', `BSON field 'collMod.${key}' is an unknown field.`);
      changes[key] = value;
    }
    const view = isView(coll);
    for (const key of Object.keys(changes)) {
      if (view !== (key === 'viewOn' || key === 'pipeline')) {
        throw new MongoServerError('InvalidOptions', view ? `option not supported on a view: ${key}` : `option only supported on a view: ${key}`);
      }
    }
    const options = { ...coll.options, ...changes };
    checkCollectionOptions(options);
    this.#engine.apply({ t: 'options', db, c: name, o: options });
    return { ok: 1 };
  }

  #drop(cmd: Doc, db: string): Doc {
    const name = this.#collectionName(cmd.drop);
    const coll = this.#engine.collection(db, name);
    if (!coll) return { ok: 1 };
    const nIndexesWas = coll.indexes.size;
    this.#engine.apply({ t: 'drop', db, c: name });
    return { nIndexesWas, ns: `${db}.${name}`, ok: 1 };
  }

  #collectionName(value: unknown): string {
    if (typeof value !== 'string' || value.length === 0 || value.includes('$') || value.includes('\0')) {
      throw new MongoServerError('InvalidNamespace', `Invalid collection name: ${String(value)}`);
    }
    return value;
  }

  #writeError(index: number, err: unknown): Doc {
    if (err instanceof MongoServerError) return { index, code: err.code, errmsg: err.message, ...err.extra };
    throw err;
  }

  #insert(cmd: Doc, db: string, txn: Transaction | undefined): Doc {
    const name = this.#collectionName(cmd.insert);
    const docs = (cmd.documents as Doc[] | undefined) ?? [];
    const ordered = cmd.ordered !== false;
    this.#writable(db, name);
    const coll = this.#engine.ensureCollection(db, name);
    const validate = validatorFor(coll.options, cmd.bypassDocumentValidation === true);
    const writeErrors: Doc[] = [];
    let n = 0;
    for (let i = 0; i < docs.length; i++) {
      const given = docs[i]!;
      // MongoDB stores _id first, whatever order the client sent.
      const { _id = new ObjectId(), ...rest } = given;
      const doc = { _id, ...rest };
      try {
        checkInsertId(doc._id);
        validate?.(doc, undefined);
        const id = idKeyOf(doc);
        if (this.#engine.effective(coll, txn, id)) {
          this.#engine.checkUnique(coll, txn, `${id}\0new`, toView(doc) as Doc);
        }
        this.#engine.write(coll, txn, id, doc);
        n++;
      } catch (err) {
        if (err instanceof MongoServerError && err.codeName === 'WriteConflict') throw err;
        writeErrors.push(this.#writeError(i, err));
        if (ordered) break;
      }
    }
    return writeErrors.length > 0 ? { n, writeErrors, ok: 1 } : { n, ok: 1 };
  }

  #update(cmd: Doc, db: string, txn: Transaction | undefined): Doc {
    const name = this.#collectionName(cmd.update);
    const statements = (cmd.updates as Doc[] | undefined) ?? [];
    refuseUnknownFields(statements, UPDATE_STATEMENT_FIELDS, 'update.updates');
    this.#writable(db, name);
    const variables = evaluateLet(cmd.let);
    const bypass = cmd.bypassDocumentValidation === true;
    const ordered = cmd.ordered !== false;
    const writeErrors: Doc[] = [];
    const upserted: Doc[] = [];
    let n = 0;
    let nModified = 0;
    for (let i = 0; i < statements.length; i++) {
      const s = statements[i]!;
      try {
        const result = this.#updateOne(db, name, txn, s, variables, bypass);
        n += result.n;
        nModified += result.modified;
        if (result.upsertedId !== undefined) upserted.push({ index: i, _id: result.upsertedId });
      } catch (err) {
        if (err instanceof MongoServerError && err.codeName === 'WriteConflict') throw err;
        writeErrors.push(this.#writeError(i, err));
        if (ordered) break;
      }
    }
    const reply: Doc = { n, nModified };
    if (upserted.length > 0) reply.upserted = upserted;
    if (writeErrors.length > 0) reply.writeErrors = writeErrors;
    reply.ok = 1;
    return reply;
  }

  #updateOne(
    db: string,
    name: string,
    txn: Transaction | undefined,
    s: Doc,
    letVariables: Doc | undefined,
    bypass: boolean,
  ): { n: number; modified: number; upsertedId?: unknown } {
    const u = s.u as Doc | Doc[];
    if (u === null || typeof u !== 'object') throw badValue('the update must be a document or a pipeline');
    const coll = this.#engine.collection(db, name);
    checkHint(coll, s.hint);
    const collation = collationOf(s.collation, coll);
    // A statement's constants `c` (MongoDB 5.0+) join the command's `let` for its pipeline.
    const variables = s.c !== undefined ? { ...letVariables, ...constants(s.c) } : letVariables;
    const spec = { u, arrayFilters: s.arrayFilters as Doc[] | undefined, collation, variables };
    const filter = (s.q as Doc | undefined) ?? {};
    let targets = match(coll, filter, { engine: this.#engine, txn, collation, variables });
    if (!s.multi) targets = targets.slice(0, 1);
    if (targets.length === 0) {
      if (!s.upsert) return { n: 0, modified: 0 };
      const target = this.#engine.ensureCollection(db, name);
      const doc = applyUpdate(upsertBase(u, filter), spec, filter, true);
      validatorFor(target.options, bypass)?.(doc, undefined);
      this.#engine.write(target, txn, idKeyOf(doc), doc);
      return { n: 1, modified: 0, upsertedId: doc._id };
    }
    const validate = validatorFor(coll!.options, bypass);
    let modified = 0;
    for (const rec of targets) {
      const next = applyUpdate(rec.doc, spec, filter, false);
      if (!sameBson(next, rec.doc)) {
        validate?.(next, rec.doc);
        this.#engine.write(coll!, txn, rec.id, next);
        modified++;
      }
    }
    return { n: targets.length, modified };
  }

  #delete(cmd: Doc, db: string, txn: Transaction | undefined): Doc {
    const name = this.#collectionName(cmd.delete);
    const coll = this.#writable(db, name);
    const statements = (cmd.deletes as Doc[] | undefined) ?? [];
    refuseUnknownFields(statements, DELETE_STATEMENT_FIELDS, 'delete.deletes');
    const variables = evaluateLet(cmd.let);
    let n = 0;
    for (const s of statements) {
      const collation = collationOf(s.collation, coll);
      checkHint(coll, s.hint);
      let targets = match(coll, s.q as Doc, { engine: this.#engine, txn, collation, variables });
      if (toNumber(s.limit) === 1) targets = targets.slice(0, 1);
      for (const rec of targets) {
        this.#engine.write(coll!, txn, rec.id, null);
        n++;
      }
    }
    return { n, ok: 1 };
  }

  #find(cmd: Doc, db: string, readCtx: ReadContext): Doc {
    const name = this.#collectionName(cmd.find);
    const coll = this.#engine.collection(db, name);
    const ctx = this.#reading(readCtx, cmd, coll);
    checkHint(coll, cmd.hint);
    const filter = cmd.filter as Doc | undefined;
    const skip = cmd.skip !== undefined ? toNumber(cmd.skip) : 0;
    const limit = cmd.limit !== undefined ? toNumber(cmd.limit) : 0;
    if (skip < 0) throw badValue('skip value must be non-negative');
    const projection = cmd.projection as Doc | undefined;
    let docs: Doc[];
    let stored = false;
    if (isView(coll)) {
      // A find on a view runs as an aggregation after the view's pipeline, as in MongoDB.
      const stages: Doc[] = [];
      if (filter && Object.keys(filter).length > 0) stages.push({ $match: filter });
      if (cmd.sort && Object.keys(cmd.sort).length > 0) stages.push({ $sort: cmd.sort });
      if (skip > 0) stages.push({ $skip: skip });
      if (limit !== 0) stages.push({ $limit: Math.abs(limit) });
      if (projection && Object.keys(projection).length > 0) stages.push({ $project: projection });
      docs = aggregate(coll, db, stages, ctx);
    } else {
      const records = sortRecords(match(coll, filter, ctx), cmd.sort as Doc | undefined, ctx);
      const page = records.slice(skip, limit !== 0 ? skip + Math.abs(limit) : undefined);
      // Without a projection the reply holds the stored documents themselves (see encodeDoc).
      stored = !projection || Object.keys(projection).length === 0;
      docs = stored ? page.map((r) => r.doc) : page.map((r) => project(r, projection, filter, ctx.variables));
    }
    const single = cmd.singleBatch === true || limit < 0;
    return this.#cursorReply(`${db}.${name}`, docs, { batchSize: cmd.batchSize }, 'firstBatch', single, stored);
  }

  /** A cursor's first batch (`stored`: the documents are stored ones, see {@link encodeDoc}), and the cursor when more remain. */
  #cursorReply(ns: string, docs: Doc[], options: Doc | undefined, key: 'firstBatch', single = false, stored = false): Doc {
    const batchSize = options?.batchSize !== undefined ? toNumber(options.batchSize) : DEFAULT_BATCH;
    const size = batchSize > 0 ? batchSize : DEFAULT_BATCH;
    const first = batchOf(docs, 0, size, stored);
    let id = Long.ZERO;
    if (!single && docs.length > first.length) {
      const n = this.#nextCursor++;
      id = Long.fromBigInt(n);
      this.#cursors.set(n.toString(), { ns, docs, stored, pos: first.length, lastUsed: Date.now() });
    }
    return { cursor: { [key]: first, id, ns }, ok: 1 };
  }

  #getMore(cmd: Doc): Doc {
    const id = cmd.getMore as Long;
    const key = BigInt(id.toString()).toString();
    const cursor = this.#cursors.get(key);
    if (!cursor) throw new MongoServerError('CursorNotFound', `cursor id ${key} not found`);
    cursor.lastUsed = Date.now();
    const size = cmd.batchSize !== undefined && toNumber(cmd.batchSize) > 0 ? toNumber(cmd.batchSize) : cursor.docs.length;
    const nextBatch = batchOf(cursor.docs, cursor.pos, size, cursor.stored);
    cursor.pos += nextBatch.length;
    const done = cursor.pos >= cursor.docs.length;
    if (done) this.#cursors.delete(key);
    return { cursor: { nextBatch, id: done ? Long.ZERO : id, ns: cursor.ns }, ok: 1 };
  }

  #killCursors(cmd: Doc): Doc {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of (cmd.cursors as Long[]) ?? []) {
      (this.#cursors.delete(BigInt(id.toString()).toString()) ? killed : notFound).push(id);
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  #findAndModify(cmd: Doc, db: string, txn: Transaction | undefined, readCtx: ReadContext): Doc {
    const name = this.#collectionName(cmd.findAndModify ?? cmd.findandmodify);
    const coll = this.#writable(db, name);
    const ctx = this.#reading(readCtx, cmd, coll);
    checkHint(coll, cmd.hint);
    const bypass = cmd.bypassDocumentValidation === true;
    const filter = (cmd.query as Doc | undefined) ?? {};
    const [target] = sortRecords(match(coll, filter, ctx), cmd.sort as Doc | undefined, ctx);
    const fields = cmd.fields as Doc | undefined;
    const shown = (doc: Doc | undefined): Doc | null =>
      doc === undefined ? null : project({ id: '', doc, view: toView(doc) as Doc, seq: 0, version: 0 }, fields, filter, ctx.variables);
    if (cmd.remove === true) {
      if (target) this.#engine.write(coll!, txn, target.id, null);
      return { lastErrorObject: { n: target ? 1 : 0 }, value: shown(target?.doc), ok: 1 };
    }
    const u = cmd.update as Doc | Doc[] | undefined;
    if (u === undefined || u === null) throw badValue('Either an update or remove=true must be specified');
    const spec = { u, arrayFilters: cmd.arrayFilters as Doc[] | undefined, collation: ctx.collation, variables: ctx.variables };
    if (!target) {
      if (cmd.upsert !== true) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
      const doc = applyUpdate(upsertBase(u, filter), spec, filter, true);
      const coll2 = this.#engine.ensureCollection(db, name);
      validatorFor(coll2.options, bypass)?.(doc, undefined);
      this.#engine.write(coll2, txn, idKeyOf(doc), doc);
      return {
        lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id },
        value: cmd.new === true ? shown(doc) : null,
        ok: 1,
      };
    }
    const next = applyUpdate(target.doc, spec, filter, false);
    if (!sameBson(next, target.doc)) {
      validatorFor(coll!.options, bypass)?.(next, target.doc);
      this.#engine.write(coll!, txn, target.id, next);
    }
    return {
      lastErrorObject: { n: 1, updatedExisting: true },
      value: shown(cmd.new === true ? next : target.doc),
      ok: 1,
    };
  }

  /** `aggregate` on a collection or view, or on the database (`aggregate: 1`); a final `$out` or `$merge` writes the results. */
  #aggregate(cmd: Doc, db: string, ctx: ReadContext): Doc {
    const pipeline = cmd.pipeline as Doc[] | undefined;
    if (!Array.isArray(pipeline)) throw new MongoServerError('TypeMismatch', "'pipeline' option must be specified as an array");
    if (cmd.explain === true) throw badValue('explain is not supported by the embedded store');
    const { stages, output } = takeOutputStage(pipeline, db);
    if (output) checkOutputCommand(output, cmd);
    let docs: Doc[];
    let ns: string;
    let reading: ReadContext;
    if (typeof cmd.aggregate === 'string') {
      const name = this.#collectionName(cmd.aggregate);
      const coll = this.#engine.collection(db, name);
      checkHint(coll, cmd.hint);
      reading = this.#reading(ctx, cmd, coll);
      docs = aggregate(coll, db, stages, reading);
      ns = `${db}.${name}`;
    } else {
      if (toNumber(cmd.aggregate) !== 1) {
        throw new MongoServerError('FailedToParse', "Invalid command format: the 'aggregate' field must specify a collection name or 1");
      }
      reading = this.#reading(ctx, cmd, undefined);
      const source = collectionlessSource(stages[0], reading.variables, () => this.#localSessions());
      docs = aggregate(undefined, db, stages.slice(1), reading, source);
      ns = `${db}.$cmd.aggregate`;
    }
    if (!output) return this.#cursorReply(ns, docs, cmd.cursor as Doc | undefined, 'firstBatch');
    writeOutput(this.#engine, output, docs, { bypass: cmd.bypassDocumentValidation === true, variables: reading.variables });
    return { cursor: { firstBatch: [], id: Long.ZERO, ns }, ok: 1 };
  }

  /** What `$listLocalSessions` lists: the sessions this server has seen (no user: the store has no authentication). */
  #localSessions(): Doc[] {
    const uid = new Binary(createHash('sha256').update('').digest());
    return [...this.#sessions.keys()].map((hex) => ({ _id: { id: new UUID(hex), uid } }));
  }

  /** The documents a `count` or `distinct` reads: a collection's matching records, or a view's output. */
  #matching(db: string, coll: Collection | undefined, query: Doc | undefined, ctx: ReadContext): Doc[] {
    if (!isView(coll)) return match(coll, query, ctx).map((r) => r.doc);
    return aggregate(coll, db, query && Object.keys(query).length > 0 ? [{ $match: query }] : [], ctx);
  }

  #count(cmd: Doc, db: string, readCtx: ReadContext): Doc {
    const coll = this.#engine.collection(db, this.#collectionName(cmd.count));
    checkHint(coll, cmd.hint);
    let n = this.#matching(db, coll, cmd.query as Doc | undefined, this.#reading(readCtx, { collation: cmd.collation }, coll)).length;
    if (cmd.skip !== undefined) n = Math.max(0, n - toNumber(cmd.skip));
    if (cmd.limit !== undefined && toNumber(cmd.limit) !== 0) n = Math.min(n, Math.abs(toNumber(cmd.limit)));
    return { n, ok: 1 };
  }

  /** `distinct`: under a collation, strings equal by the collator count once (the first one met is returned). */
  #distinct(cmd: Doc, db: string, readCtx: ReadContext): Doc {
    const name = this.#collectionName(cmd.distinct);
    const coll = this.#engine.collection(db, name);
    const ctx = this.#reading(readCtx, { collation: cmd.collation }, coll);
    const key = String(cmd.key);
    const seen = new Map<string, unknown>();
    const strings: string[] = [];
    for (const doc of this.#matching(db, coll, cmd.query as Doc | undefined, ctx)) {
      for (const v of valuesAt(doc, key)) {
        for (const item of Array.isArray(v) ? v : [v]) {
          if (item === undefined || seen.has(keyOf(item))) continue;
          if (ctx.collation && typeof item === 'string') {
            const collation = ctx.collation;
            if (strings.some((s) => compareStrings(collation, s, item) === 0)) continue;
            strings.push(item);
          }
          seen.set(keyOf(item), item);
        }
      }
    }
    // MongoDB answers from an ordered set: values come back in BSON order (strings by the collation).
    const collation = ctx.collation;
    const order = (a: unknown, b: unknown): number => {
      const [x, y] = [toView(a), toView(b)];
      return collation && typeof x === 'string' && typeof y === 'string' ? compareStrings(collation, x, y) : compare(x, y);
    };
    return { values: [...seen.values()].sort(order), ok: 1 };
  }

  #createIndexes(cmd: Doc, db: string, txn: Transaction | undefined): Doc {
    const name = this.#collectionName(cmd.createIndexes);
    this.#writable(db, name);
    const created = !this.#engine.collection(db, name);
    const coll = this.#engine.ensureCollection(db, name);
    const before = coll.indexes.size;
    for (const raw of (cmd.indexes as Doc[]) ?? []) {
      const key = raw.key as Doc | undefined;
      if (!key || Object.keys(key).length === 0) throw badValue('Index keys cannot be empty.');
      for (const [field, dir] of Object.entries(key)) {
        if (typeof dir === 'string') throw badValue(`Index type '${dir}' on '${field}' is not supported by the embedded store`);
      }
      const spec: IndexSpec = { key, name: typeof raw.name === 'string' ? raw.name : defaultIndexName(key) };
      if (raw.unique === true) spec.unique = true;
      if (raw.sparse === true) spec.sparse = true;
      if (raw.partialFilterExpression) spec.partialFilterExpression = raw.partialFilterExpression as Doc;
      if (raw.expireAfterSeconds !== undefined) spec.expireAfterSeconds = toNumber(raw.expireAfterSeconds);
      // An index's collation is checked (an unknown locale refused) but not kept: see docs/contributing.md.
      if (raw.collation !== undefined) parseCollation(raw.collation);
      const existing = coll.indexes.get(spec.name);
      if (existing) {
        if (sameIndex(existing.spec, spec)) continue;
        throw new MongoServerError(
          keyOf(toView(existing.spec.key)) === keyOf(toView(spec.key)) ? 'IndexOptionsConflict' : 'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index. Requested index: ${spec.name}`,
        );
      }
      if (spec.unique) this.#assertUniqueHolds(coll, spec);
      if (txn) this.#checkIndexInTransaction(coll, txn);
      this.#engine.createIndex(coll, spec);
    }
    return {
      numIndexesBefore: before,
      numIndexesAfter: coll.indexes.size,
      createdCollectionAutomatically: created,
      ok: 1,
    };
  }

  /** MongoDB 7.0 builds an index in a transaction only on a collection that transaction created, while it is empty. */
  #checkIndexInTransaction(coll: Collection, txn: Transaction): void {
    if (!this.#engine.isUncommitted(coll)) {
      throw new MongoServerError(
        'OperationNotSupportedInTransaction',
        `Cannot create new indexes on existing collection ${coll.ns} in a multi-document transaction.`,
      );
    }
    if ([...(txn.writes.get(coll)?.values() ?? [])].some((rec) => rec !== null)) {
      throw new MongoServerError(
        'OperationNotSupportedInTransaction',
        `Cannot create new indexes on non-empty collection ${coll.ns} in a multi-document transaction.`,
      );
    }
  }

  #assertUniqueHolds(coll: Collection, spec: IndexSpec): void {
    const probe = new Engine();
    probe.apply({ t: 'create', db: coll.db, c: coll.name, o: {} }, false);
    probe.apply({ t: 'index', db: coll.db, c: coll.name, s: spec }, false);
    const target = probe.collection(coll.db, coll.name)!;
    for (const rec of coll.records.values()) {
      probe.checkUnique(target, undefined, rec.id, rec.view);
      probe.apply({ t: 'put', db: coll.db, c: coll.name, d: rec.doc }, false);
    }
  }

  #listIndexes(cmd: Doc, db: string): Doc {
    const name = this.#collectionName(cmd.listIndexes);
    const coll = this.#writable(db, name);
    if (!coll) throw new MongoServerError('NamespaceNotFound', `ns does not exist: ${db}.${name}`);
    const docs = [...coll.indexes.values()].map((i) => i.describe());
    return this.#cursorReply(`${db}.${name}`, docs, cmd.cursor as Doc | undefined, 'firstBatch');
  }

  #dropIndexes(cmd: Doc, db: string): Doc {
    const name = this.#collectionName(cmd.dropIndexes ?? cmd.deleteIndexes);
    const coll = this.#writable(db, name);
    if (!coll) throw new MongoServerError('NamespaceNotFound', `ns not found ${db}.${name}`);
    const before = coll.indexes.size;
    const wanted = cmd.index;
    let names: string[];
    if (wanted === '*') names = [...coll.indexes.keys()].filter((n) => n !== '_id_');
    else if (typeof wanted === 'string') names = [wanted];
    else if (Array.isArray(wanted)) names = wanted.map(String);
    else {
      const key = keyOf(toView(wanted));
      const found = [...coll.indexes.values()].find((i) => keyOf(toView(i.spec.key)) === key);
      if (!found) throw new MongoServerError('IndexNotFound', `can't find index with key: ${JSON.stringify(wanted)}`);
      names = [found.name];
    }
    for (const n of names) {
      if (n === '_id_') throw new MongoServerError('InvalidOptions', 'cannot drop _id index');
      if (!coll.indexes.has(n)) throw new MongoServerError('IndexNotFound', `index not found with name [${n}]`);
    }
    for (const n of names) this.#engine.apply({ t: 'dropIndex', db, c: name, n });
    return { nIndexesWas: before, ok: 1 };
  }

  #endTransaction(session: Session | undefined, txnNumber: number | undefined, how: 'commit' | 'abort'): Doc {
    const txn = session?.txn;
    if (!txn || txnNumber === undefined || txn.txnNumber !== txnNumber) {
      throw new MongoServerError('NoSuchTransaction', `Transaction with { txnNumber: ${txnNumber} } not found`, {}, ['TransientTransactionError']);
    }
    if (how === 'commit') {
      if (txn.state === 'committed') return { ok: 1 };
      if (txn.state === 'aborted') {
        throw new MongoServerError('NoSuchTransaction', `Transaction with { txnNumber: ${txnNumber} } has been aborted.`, {}, ['TransientTransactionError']);
      }
      this.#engine.commit(txn);
      return { ok: 1 };
    }
    if (txn.state === 'committed') {
      throw new MongoServerError('TransactionCommitted', 'Transaction has been committed and cannot be aborted');
    }
    this.#engine.abort(txn);
    return { ok: 1 };
  }
}

/** Refuses, as MongoDB 7.0 does, what a transaction statement may not do. */
function checkTransactionStatement(name: string, db: string, cmd: Doc): void {
  if (name === 'count') {
    throw new MongoServerError(
      'OperationNotSupportedInTransaction',
      "Cannot run 'count' in a multi-document transaction. Please see http://dochub.mongodb.org/core/transaction-count for a recommended alternative.",
    );
  }
  if (!IN_TRANSACTION.has(name)) throw new MongoServerError('OperationNotSupportedInTransaction', `Cannot run '${name}' in a multi-document transaction.`);
  if (name === 'commitTransaction' || name === 'abortTransaction') return;
  if (db === 'local' || db === 'config') {
    throw new MongoServerError('OperationNotSupportedInTransaction', `Cannot run command against the '${db}' database in a transaction.`);
  }
  const coll = cmd[name];
  if (WRITES.has(name) && typeof coll === 'string' && coll.startsWith('system.')) {
    throw new MongoServerError('Location50791', `Cannot write to system collection ${db}.${coll} within a transaction.`);
  }
  if (name === 'create' && cmd.viewOn !== undefined)
    throw new MongoServerError('OperationNotSupportedInTransaction', 'Cannot create a view in a multi-document transaction.');
  if (name === 'create' && typeof coll === 'string' && coll.startsWith('system.')) {
    throw new MongoServerError('OperationNotSupportedInTransaction', `Cannot create system collection ${db}.${coll} within a transaction.`);
  }
  if (cmd.writeConcern !== undefined) throw new MongoServerError('InvalidOptions', 'writeConcern is not allowed within a multi-statement transaction');
  if (cmd.readConcern !== undefined && cmd.startTransaction !== true) {
    throw new MongoServerError('InvalidOptions', 'Only the first command in a transaction may specify a readConcern');
  }
}

/** Refuses a `$out` or `$merge` where MongoDB 7.0 does: in a transaction (263), under a `linearizable` or `snapshot` read concern. */
function checkOutputCommand(output: OutputStage, cmd: Doc): void {
  if (cmd.autocommit === false) throw new MongoServerError('OperationNotSupportedInTransaction', `${output.stage} cannot be used in a transaction`);
  const level = (cmd.readConcern as Doc | undefined)?.level;
  if (level === undefined || level === 'local' || level === 'majority' || level === 'available') return;
  if (level === 'linearizable' || level === 'snapshot') {
    throw new MongoServerError('InvalidOptions', `${output.stage} cannot be used with a '${level}' read concern level`);
  }
  throw badValue(`Enumeration value '${asText(level)}' for field 'readConcern.level' is not a valid value.`);
}

/** The document an upsert starts from: the filter's equalities for an operator update, only its `_id` for a replacement. */
function upsertBase(u: Doc | Doc[], filter: Doc): Doc {
  const seed = upsertSeed(filter);
  if (Array.isArray(u) || isOperatorUpdate(u)) return seed;
  return seed._id !== undefined ? { _id: seed._id } : {};
}

function sameBson(a: Doc, b: Doc): boolean {
  return keyOf(a) === keyOf(b) && typesOf(a) === typesOf(b);
}

function typesOf(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(typesOf).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const t = (v as { _bsontype?: string })._bsontype;
    if (t) return t;
    if (v instanceof Date) return 'date';
    return `{${Object.entries(v)
      .map(([k, x]) => `${k}:${typesOf(x)}`)
      .join(',')}}`;
  }
  return typeof v;
}

/** Fields any command may carry besides its own (sessions, transactions, read and write concerns, the stable API). */
const ANY_COMMAND_FIELDS = new Set([
  '$db',
  'lsid',
  'txnNumber',
  'autocommit',
  'startTransaction',
  '$clusterTime',
  '$readPreference',
  'readConcern',
  'writeConcern',
  'comment',
  'maxTimeMS',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  '$audit',
  '$client',
  'mayBypassWriteBlocking',
]);
/** The options of `create` the store keeps (the storage ones have no effect here). */
const CREATE_OPTIONS = new Set([
  'validator',
  'validationLevel',
  'validationAction',
  'viewOn',
  'pipeline',
  'collation',
  'idIndex',
  'storageEngine',
  'indexOptionDefaults',
  'changeStreamPreAndPostImages',
  'autoIndexId',
  'temp',
  'flags',
  'size',
  'max',
  'capped',
]);
/** Options of `create` MongoDB 7.0 has and the store refuses rather than ignore. */
const CREATE_REFUSED: Record<string, string> = {
  capped: 'capped collections are',
  timeseries: 'time series collections are',
  clusteredIndex: 'clustered collections are',
  expireAfterSeconds: 'collections that expire documents without a TTL index are',
  encryptedFields: 'queryable encryption is',
};
const COLLMOD_OPTIONS = new Set(['validator', 'validationLevel', 'validationAction', 'viewOn', 'pipeline']);
const COLLMOD_REFUSED = new Set(['index', 'expireAfterSeconds', 'timeseries', 'clusteredIndex', 'changeStreamPreAndPostImages', 'cappedSize', 'cappedMax']);
/** The fields of an update statement in MongoDB 7.0 (`sort` came with 8.0). */
const UPDATE_STATEMENT_FIELDS = new Set(['q', 'u', 'c', 'upsert', 'multi', 'arrayFilters', 'hint', 'collation', 'upsertSupplied', 'sampleId']);
const DELETE_STATEMENT_FIELDS = new Set(['q', 'limit', 'hint', 'collation', 'sampleId']);

function isView(coll: Collection | undefined): boolean {
  return typeof coll?.options.viewOn === 'string';
}

/** The collation in force: the given one (`{ locale: 'simple' }` for binary), else the collection's default; a view's cannot be overridden. */
function collationOf(raw: unknown, coll: Collection | undefined): Collation | undefined {
  const own = coll?.options.collation !== undefined ? parseCollation(coll.options.collation) : undefined;
  if (raw === undefined || raw === null) return own;
  const given = parseCollation(raw);
  if (isView(coll) && keyOf(toView(given ?? null)) !== keyOf(toView(own ?? null))) {
    throw new MongoServerError('OptionNotSupportedOnView', `Cannot override a view's default collation ${coll!.ns}`);
  }
  return given;
}

/** Refuses a hint naming no index of the collection, as MongoDB does (`{ $natural: 1 }` asks for a scan). */
function checkHint(coll: Collection | undefined, hint: unknown): void {
  if (hint === undefined || hint === null || !coll || isView(coll)) return;
  if (typeof hint === 'string' && coll.indexes.has(hint)) return;
  if (typeof hint === 'object') {
    const keys = Object.keys(hint);
    if (keys.length === 0 || keys[0] === '$natural') return;
    const key = keyOf(toView(hint));
    if ([...coll.indexes.values()].some((i) => keyOf(toView(i.spec.key)) === key)) return;
  }
  throw badValue('hint provided does not correspond to an existing index');
}

/** Refuses a statement field the reported version (7.0) does not know, with its IDL error (40415). */
function refuseUnknownFields(statements: Doc[], known: Set<string>, path: string): void {
  for (const s of statements) {
    for (const key of Object.keys(s ?? {})) {
      if (!known.has(key)) throw new MongoServerError('Location40415', `BSON field '${path}.${key}' is an unknown field.`);
    }
  }
}

/** An update statement's constants `c`: literal values, named as `let` variables are. */
function constants(c: unknown): Doc {
  if (c === null || typeof c !== 'object' || Array.isArray(c))
    throw new MongoServerError('TypeMismatch', "BSON field 'update.updates.c' is the wrong type, expected type 'object'");
  const literal: Doc = {};
  for (const [k, v] of Object.entries(c as Doc)) literal[k] = { $literal: v };
  return evaluateLet(literal) ?? {};
}

/** Checks a collection's or view's options as `create` and `collMod` leave them. */
function checkCollectionOptions(options: Doc): void {
  if (options.collation !== undefined) parseCollation(options.collation);
  if (options.viewOn === undefined) {
    if (options.pipeline !== undefined) throw badValue("'pipeline' requires 'viewOn' to also be specified");
    checkValidationOptions(options);
    return;
  }
  if (typeof options.viewOn !== 'string' || options.viewOn === '') throw new MongoServerError('TypeMismatch', "'viewOn' must be a non-empty string");
  const pipeline = options.pipeline ?? [];
  if (!Array.isArray(pipeline)) throw new MongoServerError('TypeMismatch', "'pipeline' must be an array");
  for (const key of ['validator', 'validationLevel', 'validationAction', 'idIndex', 'storageEngine', 'indexOptionDefaults', 'size', 'max']) {
    if (options[key] !== undefined) throw new MongoServerError('InvalidOptions', `option not supported on a view: ${key}`);
  }
  refuseUnsupported(toView(pipeline));
  checkStagePlaces(pipeline, 'view');
  options.pipeline = pipeline;
}

/** A batch's bytes at most, as MongoDB's: a reply must fit a BSON document (16 MiB) with its envelope. */
const BATCH_BYTES = 16 * 1024 * 1024 - 64 * 1024;

/**
 * The batch of `docs` from `from`: at most `count`, at most {@link BATCH_BYTES}, at least one. Each
 * document is encoded here, to measure it, and the reply sends these bytes (see {@link setBatchBytes}).
 */
function batchOf(docs: Doc[], from: number, count: number, stored: boolean): Doc[] {
  let size = 0;
  const encoded: Uint8Array[] = [];
  for (let i = from; i < docs.length && encoded.length < count; i++) {
    const bytes = encodeDoc(docs[i]!, stored);
    size += bytes.length + 16;
    if (size > BATCH_BYTES && encoded.length > 0) break;
    encoded.push(bytes);
  }
  const batch = docs.slice(from, from + encoded.length);
  setBatchBytes(batch, encoded);
  return batch;
}
