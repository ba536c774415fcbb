import { Long, ObjectId } from 'bson';
import { type Collection, Engine, Transaction, idKeyOf } from './engine.js';
import { MongoServerError, badValue } from './errors.js';
import { type IndexSpec, defaultIndexName, sameIndex } from './indexes.js';
import {
  type Collation,
  type ReadContext,
  aggregate,
  applyUpdate,
  match,
  project,
  sortRecords,
  upsertSeed,
} from './query.js';
import { type Doc, keyOf, toNumber, toView, valuesAt } from './values.js';

/** The wire version we claim: MongoDB 7.0. The driver needs at least 9 (4.4). */
export const MAX_WIRE_VERSION = 21;
const DEFAULT_BATCH = 101;

interface Cursor {
  ns: string;
  docs: Doc[];
  pos: number;
  lastUsed: number;
}

/** How long an untouched cursor lives, as MongoDB's `cursorTimeoutMillis`. */
export const CURSOR_TIMEOUT_MS = 10 * 60 * 1000;

interface Session {
  txn: Transaction | undefined;
  /** The last retryable write's number and reply, so a retry returns the first result. */
  retried: { txnNumber: number; reply: Doc } | undefined;
}

/** What a command needs to know about where it came from. */
export interface CommandContext {
  connectionId: number;
  host: string;
}

/** Executes commands against an engine: the server's brain, free of any wire detail. */
export class CommandRunner {
  readonly #engine: Engine;
  readonly #cursors = new Map<string, Cursor>();
  readonly #sessions = new Map<string, Session>();
  readonly #electionId = new ObjectId('7fffffff0000000000000001');
  #nextCursor = 1n;

  constructor(engine: Engine) {
    this.#engine = engine;
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

  /** Runs one command document (`$db` names the database) and returns its reply. */
  run(cmd: Doc, ctx: CommandContext): Doc {
    const name = Object.keys(cmd)[0] ?? '';
    const db = typeof cmd.$db === 'string' ? cmd.$db : 'admin';
    const session = this.#session(cmd);
    const txnNumber = cmd.txnNumber !== undefined ? toNumber(cmd.txnNumber) : undefined;
    const inTxn = cmd.autocommit === false;
    let txn: Transaction | undefined;
    if (session && inTxn && txnNumber !== undefined && name !== 'commitTransaction' && name !== 'abortTransaction') {
      txn = this.#transactionFor(session, txnNumber, cmd.startTransaction === true);
    }
    if (session && !inTxn && txnNumber !== undefined && session.retried?.txnNumber === txnNumber) {
      return session.retried.reply;
    }
    try {
      const reply = this.#dispatch(name, cmd, db, ctx, txn, session, txnNumber);
      if (txn && Array.isArray(reply.writeErrors) && reply.writeErrors.length > 0) this.#engine.abort(txn);
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

  #transactionFor(session: Session, txnNumber: number, start: boolean): Transaction {
    if (start) {
      if (session.txn?.state === 'active') this.#engine.abort(session.txn);
      session.txn = new Transaction(txnNumber);
      return session.txn;
    }
    const txn = session.txn;
    if (!txn || txn.txnNumber !== txnNumber || txn.state !== 'active') {
      throw new MongoServerError(
        'NoSuchTransaction',
        `Transaction with { txnNumber: ${txnNumber} } has been aborted.`,
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
    const read = (collation?: unknown): ReadContext => ({
      engine: this.#engine,
      txn,
      collation: collation as Collation | undefined,
      deadline: cmd.maxTimeMS !== undefined && toNumber(cmd.maxTimeMS) > 0 ? Date.now() + toNumber(cmd.maxTimeMS) : undefined,
    });
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
        return this.#find(cmd, db, read(cmd.collation));
      case 'getMore':
        return this.#getMore(cmd);
      case 'killCursors':
        return this.#killCursors(cmd);
      case 'findAndModify':
      case 'findandmodify':
        return this.#findAndModify(cmd, db, txn, read(cmd.collation));
      case 'aggregate':
        return this.#aggregate(cmd, db, read(cmd.collation));
      case 'count': {
        const coll = this.#engine.collection(db, String(cmd.count));
        let n = match(coll, cmd.query as Doc | undefined, read(cmd.collation)).length;
        if (cmd.skip !== undefined) n = Math.max(0, n - toNumber(cmd.skip));
        if (cmd.limit !== undefined && toNumber(cmd.limit) !== 0) n = Math.min(n, Math.abs(toNumber(cmd.limit)));
        return { n, ok: 1 };
      }
      case 'distinct':
        return this.#distinct(cmd, db, read(cmd.collation));
      case 'createIndexes':
        return this.#createIndexes(cmd, db);
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
      case 'commitTransaction':
        return this.#endTransaction(session, txnNumber, 'commit');
      case 'abortTransaction':
        return this.#endTransaction(session, txnNumber, 'abort');
      default:
        throw new MongoServerError('CommandNotFound', `no such command: '${name}'`);
    }
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
    const all = this.#collections(db).map((c) => ({
      name: c.name,
      type: 'collection',
      options: c.options,
      info: { readOnly: false, uuid: c.uuid },
      idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
    }));
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
    const { create: _c, $db: _d, lsid: _l, $clusterTime: _t, $readPreference: _r, writeConcern: _w, ...options } = cmd;
    this.#engine.apply({ t: 'create', db, c: name, o: options });
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
    const coll = this.#engine.ensureCollection(db, name);
    const writeErrors: Doc[] = [];
    let n = 0;
    for (let i = 0; i < docs.length; i++) {
      const given = docs[i]!;
      // MongoDB stores _id first, whatever order the client sent.
      const { _id = new ObjectId(), ...rest } = given;
      const doc = { _id, ...rest };
      try {
        if (Array.isArray(doc._id)) throw badValue("can't use an array for _id");
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
    const ordered = cmd.ordered !== false;
    const writeErrors: Doc[] = [];
    const upserted: Doc[] = [];
    let n = 0;
    let nModified = 0;
    for (let i = 0; i < statements.length; i++) {
      const s = statements[i]!;
      try {
        const result = this.#updateOne(db, name, txn, s);
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
  ): { n: number; modified: number; upsertedId?: unknown } {
    const u = s.u as Doc | Doc[];
    if (u === null || typeof u !== 'object') throw badValue('the update must be a document or a pipeline');
    const spec = { u, arrayFilters: s.arrayFilters as Doc[] | undefined };
    const filter = (s.q as Doc | undefined) ?? {};
    const coll = this.#engine.collection(db, name);
    let targets = match(coll, filter, { engine: this.#engine, txn, collation: s.collation as Collation | undefined });
    if (!s.multi) targets = targets.slice(0, 1);
    if (targets.length === 0) {
      if (!s.upsert) return { n: 0, modified: 0 };
      const target = this.#engine.ensureCollection(db, name);
      const doc = applyUpdate(upsertBase(u, filter), spec, filter, true);
      this.#engine.write(target, txn, idKeyOf(doc), doc);
      return { n: 1, modified: 0, upsertedId: doc._id };
    }
    let modified = 0;
    for (const rec of targets) {
      const next = applyUpdate(rec.doc, spec, filter, false);
      if (!sameBson(next, rec.doc)) {
        this.#engine.write(coll!, txn, rec.id, next);
        modified++;
      }
    }
    return { n: targets.length, modified };
  }

  #delete(cmd: Doc, db: string, txn: Transaction | undefined): Doc {
    const name = this.#collectionName(cmd.delete);
    const coll = this.#engine.collection(db, name);
    const statements = (cmd.deletes as Doc[] | undefined) ?? [];
    let n = 0;
    for (const s of statements) {
      let targets = match(coll, s.q as Doc, { engine: this.#engine, txn, collation: s.collation as Collation | undefined });
      if (toNumber(s.limit) === 1) targets = targets.slice(0, 1);
      for (const rec of targets) {
        this.#engine.write(coll!, txn, rec.id, null);
        n++;
      }
    }
    return { n, ok: 1 };
  }

  #find(cmd: Doc, db: string, ctx: ReadContext): Doc {
    const name = this.#collectionName(cmd.find);
    const coll = this.#engine.collection(db, name);
    const filter = cmd.filter as Doc | undefined;
    let records = sortRecords(match(coll, filter, ctx), cmd.sort as Doc | undefined, ctx);
    const skip = cmd.skip !== undefined ? toNumber(cmd.skip) : 0;
    const limit = cmd.limit !== undefined ? toNumber(cmd.limit) : 0;
    if (skip < 0) throw badValue('skip value must be non-negative');
    records = records.slice(skip, limit !== 0 ? skip + Math.abs(limit) : undefined);
    const docs = records.map((r) => project(r, cmd.projection as Doc | undefined, filter));
    const single = cmd.singleBatch === true || limit < 0;
    return this.#cursorReply(`${db}.${name}`, docs, { batchSize: cmd.batchSize }, 'firstBatch', single);
  }

  #cursorReply(ns: string, docs: Doc[], options: Doc | undefined, key: 'firstBatch', single = false): Doc {
    const batchSize = options?.batchSize !== undefined ? toNumber(options.batchSize) : DEFAULT_BATCH;
    const size = batchSize > 0 ? batchSize : DEFAULT_BATCH;
    const first = docs.slice(0, size);
    let id = Long.ZERO;
    if (!single && docs.length > size) {
      const n = this.#nextCursor++;
      id = Long.fromBigInt(n);
      this.#cursors.set(n.toString(), { ns, docs, pos: size, lastUsed: Date.now() });
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
    const nextBatch = cursor.docs.slice(cursor.pos, cursor.pos + size);
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

  #findAndModify(cmd: Doc, db: string, txn: Transaction | undefined, ctx: ReadContext): Doc {
    const name = this.#collectionName(cmd.findAndModify ?? cmd.findandmodify);
    const coll = this.#engine.collection(db, name);
    const filter = (cmd.query as Doc | undefined) ?? {};
    const [target] = sortRecords(match(coll, filter, ctx), cmd.sort as Doc | undefined, ctx);
    const fields = cmd.fields as Doc | undefined;
    const shown = (doc: Doc | undefined): Doc | null =>
      doc === undefined ? null : project({ id: '', doc, view: toView(doc) as Doc, seq: 0, version: 0 }, fields, filter);
    if (cmd.remove === true) {
      if (target) this.#engine.write(coll!, txn, target.id, null);
      return { lastErrorObject: { n: target ? 1 : 0 }, value: shown(target?.doc), ok: 1 };
    }
    const u = cmd.update as Doc | Doc[] | undefined;
    if (u === undefined || u === null) throw badValue('Either an update or remove=true must be specified');
    const spec = { u, arrayFilters: cmd.arrayFilters as Doc[] | undefined };
    if (!target) {
      if (cmd.upsert !== true) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
      const doc = applyUpdate(upsertBase(u, filter), spec, filter, true);
      const coll2 = this.#engine.ensureCollection(db, name);
      this.#engine.write(coll2, txn, idKeyOf(doc), doc);
      return {
        lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id },
        value: cmd.new === true ? shown(doc) : null,
        ok: 1,
      };
    }
    const next = applyUpdate(target.doc, spec, filter, false);
    if (!sameBson(next, target.doc)) this.#engine.write(coll!, txn, target.id, next);
    return {
      lastErrorObject: { n: 1, updatedExisting: true },
      value: shown(cmd.new === true ? next : target.doc),
      ok: 1,
    };
  }

  #aggregate(cmd: Doc, db: string, ctx: ReadContext): Doc {
    if (typeof cmd.aggregate !== 'string') {
      throw badValue('aggregate on a database ({ aggregate: 1 }) is not supported by the embedded store');
    }
    const name = this.#collectionName(cmd.aggregate);
    const pipeline = cmd.pipeline as Doc[] | undefined;
    if (!Array.isArray(pipeline)) throw new MongoServerError('TypeMismatch', "'pipeline' option must be specified as an array");
    if (cmd.explain === true) throw badValue('explain is not supported by the embedded store');
    const docs = aggregate(this.#engine.collection(db, name), db, pipeline, ctx);
    return this.#cursorReply(`${db}.${name}`, docs, cmd.cursor as Doc | undefined, 'firstBatch');
  }

  #distinct(cmd: Doc, db: string, ctx: ReadContext): Doc {
    const name = this.#collectionName(cmd.distinct);
    const key = String(cmd.key);
    const seen = new Map<string, unknown>();
    for (const rec of match(this.#engine.collection(db, name), cmd.query as Doc | undefined, ctx)) {
      for (const v of valuesAt(rec.doc, key)) {
        for (const item of Array.isArray(v) ? v : [v]) {
          if (item !== undefined && !seen.has(keyOf(item))) seen.set(keyOf(item), item);
        }
      }
    }
    return { values: [...seen.values()], ok: 1 };
  }

  #createIndexes(cmd: Doc, db: string): Doc {
    const name = this.#collectionName(cmd.createIndexes);
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
      const existing = coll.indexes.get(spec.name);
      if (existing) {
        if (sameIndex(existing.spec, spec)) continue;
        throw new MongoServerError(
          keyOf(toView(existing.spec.key)) === keyOf(toView(spec.key)) ? 'IndexOptionsConflict' : 'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index. Requested index: ${spec.name}`,
        );
      }
      if (spec.unique) this.#assertUniqueHolds(coll, spec);
      this.#engine.apply({ t: 'index', db, c: name, s: spec });
    }
    return {
      numIndexesBefore: before,
      numIndexesAfter: coll.indexes.size,
      createdCollectionAutomatically: created,
      ok: 1,
    };
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
    const coll = this.#engine.collection(db, name);
    if (!coll) throw new MongoServerError('NamespaceNotFound', `ns does not exist: ${db}.${name}`);
    const docs = [...coll.indexes.values()].map((i) => i.describe());
    return this.#cursorReply(`${db}.${name}`, docs, cmd.cursor as Doc | undefined, 'firstBatch');
  }

  #dropIndexes(cmd: Doc, db: string): Doc {
    const name = this.#collectionName(cmd.dropIndexes ?? cmd.deleteIndexes);
    const coll = this.#engine.collection(db, name);
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
      throw new MongoServerError('NoSuchTransaction', `Transaction with { txnNumber: ${txnNumber} } not found`, {}, [
        'TransientTransactionError',
      ]);
    }
    if (how === 'commit') {
      if (txn.state === 'committed') return { ok: 1 };
      if (txn.state === 'aborted') {
        throw new MongoServerError('NoSuchTransaction', `Transaction with { txnNumber: ${txnNumber} } has been aborted.`, {}, [
          'TransientTransactionError',
        ]);
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

/** The document an upsert starts from: the filter's equalities for an operator update, only its `_id` for a replacement. */
function upsertBase(u: Doc | Doc[], filter: Doc): Doc {
  const seed = upsertSeed(filter);
  if (Array.isArray(u) || Object.keys(u).some((k) => k.startsWith('$'))) return seed;
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
