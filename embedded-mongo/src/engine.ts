import { ObjectId, UUID } from 'bson';
import { MongoServerError } from './errors.js';
import { Index, type IndexSpec, type StoredRecord } from './indexes.js';
import { type Doc, keyOf, toNumber, toView } from './values.js';

/** A change to the stored state: what the journal records and what replay applies. */
export type Op =
  | { t: 'create'; db: string; c: string; o: Doc }
  | { t: 'options'; db: string; c: string; o: Doc }
  | { t: 'drop'; db: string; c: string }
  | { t: 'dropDatabase'; db: string }
  | { t: 'index'; db: string; c: string; s: IndexSpec }
  | { t: 'dropIndex'; db: string; c: string; n: string }
  | { t: 'put'; db: string; c: string; d: Doc }
  | { t: 'delete'; db: string; c: string; id: unknown }
  | { t: 'batch'; ops: Op[] };

/** One collection: documents in natural order, their indexes, and which transaction holds each id. */
export class Collection {
  readonly db: string;
  readonly name: string;
  readonly options: Doc;
  readonly uuid = new UUID();
  readonly records = new Map<string, StoredRecord>();
  readonly indexes = new Map<string, Index>();
  readonly locks = new Map<string, Transaction>();

  constructor(db: string, name: string, options: Doc) {
    this.db = db;
    this.name = name;
    this.options = options;
    this.indexes.set('_id_', new Index({ key: { _id: 1 }, name: '_id_' }));
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }
}

/** The id key of a document: the canonical form of its `_id`. */
export function idKeyOf(doc: Doc): string {
  return keyOf(toView(doc._id));
}

/** A multi-document transaction: its own writes, invisible to others until commit. */
export class Transaction {
  readonly txnNumber: number;
  state: 'active' | 'committed' | 'aborted' = 'active';
  /** Per collection, per id: the document as this transaction left it (null = deleted). */
  readonly writes = new Map<Collection, Map<string, StoredRecord | null>>();
  /** The version of each written document when the transaction first touched it. */
  readonly baseVersions = new Map<Collection, Map<string, number>>();

  constructor(txnNumber: number) {
    this.txnNumber = txnNumber;
  }
}

/** The journal's hook: writes an op before it is applied (throws: not applied), and returns how to take it back out. */
type Listener = (op: Op) => (() => void) | void;

/** All databases in memory, and the one path by which their state changes. */
export class Engine {
  readonly dbs = new Map<string, Map<string, Collection>>();
  #seq = 0;
  #listener: Listener | undefined;

  /** Called with every op before it is applied (not during replay): the journal's hook. */
  onApply(listener: Listener | undefined): void {
    this.#listener = listener;
  }

  collection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /** The collection, created (with a journal record) when it does not exist yet. */
  ensureCollection(db: string, name: string): Collection {
    return this.collection(db, name) ?? (this.apply({ t: 'create', db, c: name, o: {} }), this.collection(db, name)!);
  }

  /**
   * Applies one change to the stored state; replay passes `journal = false`. The journal comes
   * first: a change it cannot write (a full disk) is not applied, and one that fails to apply is
   * taken back out of it.
   */
  apply(op: Op, journal = true): void {
    const undo = journal ? this.#listener?.(op) : undefined;
    try {
      this.#applyOp(op);
    } catch (err) {
      undo?.();
      throw err;
    }
  }

  #applyOp(op: Op): void {
    switch (op.t) {
      case 'batch':
        for (const inner of op.ops) this.#applyOp(inner);
        return;
      case 'create': {
        let db = this.dbs.get(op.db);
        if (!db) this.dbs.set(op.db, (db = new Map()));
        if (!db.has(op.c)) db.set(op.c, new Collection(op.db, op.c, op.o));
        return;
      }
      case 'options': {
        // collMod: the collection's options (validator, view definition) replaced in place.
        const coll = this.dbs.get(op.db)?.get(op.c);
        if (!coll) return;
        for (const k of Object.keys(coll.options)) delete coll.options[k];
        Object.assign(coll.options, op.o);
        return;
      }
      case 'drop':
        this.dbs.get(op.db)?.delete(op.c);
        return;
      case 'dropDatabase':
        this.dbs.delete(op.db);
        return;
      case 'index': {
        const coll = this.#must(op.db, op.c);
        // Replay reads numbers back as BSON wrappers; the TTL sweep wants a plain number.
        const spec = op.s.expireAfterSeconds === undefined ? op.s : { ...op.s, expireAfterSeconds: toNumber(op.s.expireAfterSeconds) };
        const index = new Index(spec);
        for (const rec of coll.records.values()) index.add(rec);
        coll.indexes.set(spec.name, index);
        return;
      }
      case 'dropIndex':
        this.collection(op.db, op.c)?.indexes.delete(op.n);
        return;
      case 'put': {
        const coll = this.#must(op.db, op.c);
        const id = idKeyOf(op.d);
        const old = coll.records.get(id);
        if (old) for (const index of coll.indexes.values()) index.remove(old);
        const rec: StoredRecord = {
          id,
          doc: op.d,
          view: toView(op.d) as Doc,
          seq: old?.seq ?? ++this.#seq,
          version: (old?.version ?? 0) + 1,
        };
        coll.records.set(id, rec);
        for (const index of coll.indexes.values()) index.add(rec);
        return;
      }
      case 'delete': {
        const coll = this.collection(op.db, op.c);
        const id = keyOf(toView(op.id));
        const old = coll?.records.get(id);
        if (!coll || !old) return;
        for (const index of coll.indexes.values()) index.remove(old);
        coll.records.delete(id);
        return;
      }
    }
  }

  #must(db: string, name: string): Collection {
    if (!this.collection(db, name)) this.#applyOp({ t: 'create', db, c: name, o: {} });
    return this.collection(db, name)!;
  }

  /** The record a reader sees: the transaction's own write if it made one, else the committed one. */
  effective(coll: Collection, txn: Transaction | undefined, id: string): StoredRecord | undefined {
    const own = txn?.writes.get(coll)?.get(id);
    if (own !== undefined) return own ?? undefined;
    return coll.records.get(id);
  }

  /** Every record a reader sees, in natural order. */
  scan(coll: Collection, txn: Transaction | undefined): StoredRecord[] {
    const own = txn?.writes.get(coll);
    if (!own || own.size === 0) return [...coll.records.values()];
    const out: StoredRecord[] = [];
    for (const rec of coll.records.values()) {
      const mine = own.get(rec.id);
      if (mine === undefined) out.push(rec);
      else if (mine !== null) out.push(mine);
    }
    for (const [id, rec] of own) if (rec && !coll.records.has(id)) out.push(rec);
    return out;
  }

  /**
   * The records with one of `keys` in `index`, as a reader sees them, in natural order (or in any
   * order when `ordered` is false: a `$group` does not care, and sorting a large match costs).
   */
  lookup(coll: Collection, txn: Transaction | undefined, index: Index, keys: string[], prefix = false, ordered = true): StoredRecord[] {
    const map = prefix ? index.prefixes : index.entries;
    const keysOf = (view: Doc) => (prefix ? index.prefixKeysFor(view) : index.keysFor(view));
    if (!ordered && !txn?.writes.get(coll)?.size) {
      // Outside a transaction's own writes: the committed records under each key, each once.
      const out: StoredRecord[] = [];
      const distinct = [...new Set(keys)];
      const seen = distinct.length > 1 ? new Set<string>() : undefined;
      for (const k of distinct) {
        for (const id of map.get(k) ?? []) {
          if (seen) {
            if (seen.has(id)) continue;
            seen.add(id);
          }
          const rec = coll.records.get(id);
          if (rec) out.push(rec);
        }
      }
      return out;
    }
    const ids = new Set<string>();
    for (const k of keys) for (const id of map.get(k) ?? []) ids.add(id);
    const own = txn?.writes.get(coll);
    if (own) for (const [id, rec] of own) if (rec && keysOf(rec.view).some((k) => keys.includes(k))) ids.add(id);
    const out: StoredRecord[] = [];
    const wanted = new Set(keys);
    for (const id of ids) {
      const rec = this.effective(coll, txn, id);
      if (rec && (!own?.has(id) || keysOf(rec.view).some((k) => wanted.has(k)))) out.push(rec);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Throws `DuplicateKey` when `doc` (to be stored under `id`) collides in a unique index. */
  checkUnique(coll: Collection, txn: Transaction | undefined, id: string, view: Doc): void {
    for (const index of coll.indexes.values()) {
      if (!index.unique && index.name !== '_id_') continue;
      const keys = index.keysFor(view);
      if (keys.length === 0) continue;
      for (const other of this.lookup(coll, txn, index, keys)) {
        if (other.id === id) continue;
        const keyValue: Doc = {};
        for (const field of index.fields) keyValue[field] = readPath(view, field) ?? null;
        const shown = Object.entries(keyValue)
          .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
          .join(', ');
        throw new MongoServerError(
          'DuplicateKey',
          `E11000 duplicate key error collection: ${coll.ns} index: ${index.name} dup key: { ${shown} }`,
          { keyPattern: index.spec.key, keyValue: readKeyValue(other.doc, index.fields) },
        );
      }
    }
  }

  /** Stores (or with `doc = null`, deletes) one document, in `txn` or committed at once. */
  write(coll: Collection, txn: Transaction | undefined, id: string, doc: Doc | null): void {
    if (doc) this.checkUnique(coll, txn, id, toView(doc) as Doc);
    if (!txn) {
      if (doc) this.apply({ t: 'put', db: coll.db, c: coll.name, d: doc });
      else this.apply({ t: 'delete', db: coll.db, c: coll.name, id: coll.records.get(id)?.doc._id });
      return;
    }
    const holder = coll.locks.get(id);
    if (holder && holder !== txn && holder.state === 'active') {
      throw new MongoServerError(
        'WriteConflict',
        'Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
        {},
        ['TransientTransactionError'],
      );
    }
    coll.locks.set(id, txn);
    let versions = txn.baseVersions.get(coll);
    if (!versions) txn.baseVersions.set(coll, (versions = new Map()));
    if (!versions.has(id)) versions.set(id, coll.records.get(id)?.version ?? 0);
    let writes = txn.writes.get(coll);
    if (!writes) txn.writes.set(coll, (writes = new Map()));
    const previous = this.effective(coll, txn, id);
    writes.set(
      id,
      doc
        ? { id, doc, view: toView(doc) as Doc, seq: previous?.seq ?? ++this.#seq, version: 0 }
        : null,
    );
  }

  /** Applies a transaction's writes all at once, or throws (and aborts it) when another write got there first. */
  commit(txn: Transaction): void {
    try {
      for (const [coll, versions] of txn.baseVersions) {
        for (const [id, version] of versions) {
          if ((coll.records.get(id)?.version ?? 0) !== version) {
            throw new MongoServerError(
              'WriteConflict',
              'Write conflict during commit: a document written in this transaction was changed by another operation',
              {},
              ['TransientTransactionError'],
            );
          }
        }
      }
      for (const [coll, writes] of txn.writes) {
        for (const [id, rec] of writes) if (rec) this.checkUnique(coll, txn, id, rec.view);
      }
      const ops: Op[] = [];
      for (const [coll, writes] of txn.writes) {
        for (const [id, rec] of writes) {
          const base = coll.records.get(id);
          if (rec) ops.push({ t: 'put', db: coll.db, c: coll.name, d: rec.doc });
          else if (base) ops.push({ t: 'delete', db: coll.db, c: coll.name, id: base.doc._id });
        }
      }
      if (ops.length > 0) this.apply({ t: 'batch', ops });
      txn.state = 'committed';
    } finally {
      if (txn.state !== 'committed') txn.state = 'aborted';
      this.release(txn);
    }
  }

  /** Drops a transaction's writes and frees the documents it held. */
  abort(txn: Transaction): void {
    if (txn.state === 'active') txn.state = 'aborted';
    this.release(txn);
  }

  release(txn: Transaction): void {
    for (const coll of txn.baseVersions.keys()) {
      for (const [id, holder] of coll.locks) if (holder === txn) coll.locks.delete(id);
    }
  }

  /** Every state change needed to rebuild the current state: the compacted journal. */
  *snapshot(): Generator<Op> {
    for (const [db, colls] of this.dbs) {
      for (const coll of colls.values()) {
        yield { t: 'create', db, c: coll.name, o: coll.options };
        for (const index of coll.indexes.values()) {
          if (index.name !== '_id_') yield { t: 'index', db, c: coll.name, s: index.spec };
        }
        for (const rec of coll.records.values()) yield { t: 'put', db, c: coll.name, d: rec.doc };
      }
    }
  }

  /** Deletes the documents whose TTL index date has passed. */
  expire(now: number): number {
    let removed = 0;
    for (const colls of this.dbs.values()) {
      for (const coll of colls.values()) {
        for (const index of coll.indexes.values()) {
          const ttl = index.spec.expireAfterSeconds;
          if (ttl === undefined || index.fields.length !== 1) continue;
          for (const rec of [...coll.records.values()]) {
            if (coll.locks.get(rec.id)?.state === 'active') continue;
            const value = readPath(rec.view, index.fields[0]!);
            const dates = (Array.isArray(value) ? value : [value]).filter((v): v is Date => v instanceof Date);
            if (dates.length === 0) continue;
            const earliest = Math.min(...dates.map((d) => d.getTime()));
            if (earliest + ttl * 1000 <= now) {
              this.apply({ t: 'delete', db: coll.db, c: coll.name, id: rec.doc._id });
              removed++;
            }
          }
        }
      }
    }
    return removed;
  }
}

/** Reads one dotted path without descending into arrays. */
export function readPath(doc: unknown, path: string): unknown {
  let current = doc;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Doc)[part];
  }
  return current;
}

function readKeyValue(doc: Doc, fields: string[]): Doc {
  const out: Doc = {};
  for (const field of fields) out[field] = readPath(doc, field) ?? null;
  return out;
}

/** A fresh `_id` for a document that has none. */
export function newId(): ObjectId {
  return new ObjectId();
}
