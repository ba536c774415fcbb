import { ObjectId, Timestamp, UUID } from 'bson';
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
  /** Per id, the states a document had before commits that open transactions' snapshots may still read (oldest first). */
  readonly history = new Map<string, PastVersion[]>();

  constructor(db: string, name: string, options: Doc) {
    this.db = db;
    this.name = name;
    this.options = options;
    this.indexes.set('_id_', new Index({ key: { _id: 1 }, name: '_id_' }, true));
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }
}

/** The id key of a document: the canonical form of its `_id`. */
export function idKeyOf(doc: Doc): string {
  return keyOf(toView(doc._id));
}

/** A document's state (undefined: absent) until the commit numbered `until` replaced it. */
interface PastVersion {
  rec: StoredRecord | undefined;
  until: number;
}

/**
 * A multi-document transaction: its own writes, invisible to others until commit, over a snapshot
 * of the committed documents as they were when it began (MongoDB's snapshot isolation).
 */
export class Transaction {
  readonly txnNumber: number;
  state: 'active' | 'committed' | 'aborted' = 'active';
  /** The commit counter when it began: it reads each document as of then. */
  snapshot = 0;
  readonly startedAt = Date.now();
  /** Why the store aborted it by itself (its lifetime ran out), for the next statement's error. */
  abortReason: string | undefined;
  /** Per collection, per id: the document as this transaction left it (null = deleted). */
  readonly writes = new Map<Collection, Map<string, StoredRecord | null>>();
  /** The committed record (undefined: none) each written document had in the snapshot: a commit finding another one conflicts. */
  readonly bases = new Map<Collection, Map<string, StoredRecord | undefined>>();
  /** Collections it created, by namespace: invisible to others, created for real at commit, gone on abort. */
  readonly created = new Map<string, Collection>();

  constructor(txnNumber: number) {
    this.txnNumber = txnNumber;
  }
}

/** A WriteConflict the driver retries the transaction after. */
function writeConflict(
  message = 'Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction.',
): MongoServerError {
  return new MongoServerError('WriteConflict', message, {}, ['TransientTransactionError']);
}

/** The journal's hook: writes an op before it is applied (throws: not applied), and returns how to take it back out. */
type Listener = (op: Op) => (() => void) | void;

/** All databases in memory, and the one path by which their state changes. */
export class Engine {
  readonly dbs = new Map<string, Map<string, Collection>>();
  #seq = 0;
  #listener: Listener | undefined;
  /** Counts committed changes: a transaction's snapshot is its value when the transaction began. */
  #commits = 0;
  /** The logical clock replies carry as operationTime and $clusterTime: seconds and an increment, advanced by each write. */
  #time = { t: Math.floor(Date.now() / 1000), i: 0 };
  #timestamp: Timestamp | undefined;
  /** Transactions that may still read: while there are any, a commit keeps what it replaces (see {@link Collection.history}). */
  readonly #open = new Set<Transaction>();
  readonly #aged = new Set<Collection>();
  /** Namespaces an open transaction created, so that another one creating it too conflicts. */
  readonly #pending = new Map<string, Transaction>();
  /** The transaction the running command belongs to (see {@link within}): its new collections are visible to it. */
  #current: Transaction | undefined;
  /**
   * Snapshot reads' history, off until the first snapshot read (a store that never makes one keeps
   * nothing): the replaced versions of the last {@link SNAPSHOT_WINDOW_MS}, and each commit's
   * cluster time to find the state at an `atClusterTime`. `from` is the oldest readable commit.
   */
  #window: { from: number; fromTime: ClockTime; times: { c: number; time: ClockTime; at: number }[]; nextPrune: number } | undefined;
  /** Called before a write outside a transaction commits (the `onPrimaryTransactionalWrite` fail point); may throw. */
  beforeCommit: (() => void) | undefined;

  /** Called with every op before it is applied (not during replay): the journal's hook. */
  onApply(listener: Listener | undefined): void {
    this.#listener = listener;
  }

  /** The collection as the running command sees it: its transaction's own new one first, else the committed one. */
  collection(db: string, name: string): Collection | undefined {
    const txn = this.#current;
    return (txn && txn.created.size > 0 ? txn.created.get(`${db}.${name}`) : undefined) ?? this.dbs.get(db)?.get(name);
  }

  /** The collection, created when it does not exist yet (inside a transaction: for that transaction until it commits). */
  ensureCollection(db: string, name: string): Collection {
    return this.collection(db, name) ?? this.createCollection(db, name, {});
  }

  /** Creates a collection: at once (with a journal record), or inside the running command's transaction. */
  createCollection(db: string, name: string, options: Doc): Collection {
    const txn = this.#current;
    if (!txn) {
      this.apply({ t: 'create', db, c: name, o: options });
      this.tick();
      return this.dbs.get(db)!.get(name)!;
    }
    const ns = `${db}.${name}`;
    const holder = this.#pending.get(ns);
    if (holder && holder !== txn && holder.state === 'active') throw writeConflict(`Collection ${ns} is being created by another transaction`);
    const coll = new Collection(db, name, options);
    txn.created.set(ns, coll);
    this.#pending.set(ns, txn);
    return coll;
  }

  /** Whether `coll` exists only in the running command's transaction. */
  isUncommitted(coll: Collection): boolean {
    return this.#current?.created.get(coll.ns) === coll;
  }

  /** Adds an index: at once, or to a collection the running transaction created (journalled at its commit). */
  createIndex(coll: Collection, spec: IndexSpec): void {
    if (this.isUncommitted(coll)) coll.indexes.set(spec.name, new Index(spec));
    else this.apply({ t: 'index', db: coll.db, c: coll.name, s: spec });
  }

  /** Runs one command's work as part of `txn` (or of none): what {@link collection} sees depends on it. */
  within<T>(txn: Transaction | undefined, run: () => T): T {
    const outer = this.#current;
    this.#current = txn;
    try {
      return run();
    } finally {
      this.#current = outer;
    }
  }

  /** Starts a transaction on the documents as they are now. */
  begin(txn: Transaction): Transaction {
    txn.snapshot = this.#commits;
    this.#open.add(txn);
    return txn;
  }

  /** The logical clock's seconds and increment, a new object at each change (cheap to compare). */
  get time(): { readonly t: number; readonly i: number } {
    return this.#time;
  }

  /** The logical clock now: a write's operationTime, and what a read has seen. */
  get clusterTime(): Timestamp {
    return (this.#timestamp ??= new Timestamp({ t: this.#time.t, i: this.#time.i }));
  }

  /** Advances the clock for one change and returns its commit number. */
  tick(): number {
    const ms = Date.now();
    const now = Math.floor(ms / 1000);
    this.#time = now > this.#time.t ? { t: now, i: 1 } : { t: this.#time.t, i: this.#time.i + 1 };
    this.#timestamp = undefined;
    const c = ++this.#commits;
    const window = this.#window;
    if (window) {
      window.times.push({ c, time: this.#time, at: ms });
      if (ms >= window.nextPrune && window.times[0]!.at < ms - SNAPSHOT_WINDOW_MS) {
        window.nextPrune = ms + 1000;
        this.#prune();
      }
    }
    return c;
  }

  /**
   * A read-only transaction over the committed state at `at` (a snapshot read outside a
   * transaction), and the cluster time it reads at; without `at`, the state now. The first call
   * starts keeping history: the state before it cannot be read (SnapshotTooOld).
   */
  snapshotAt(at: Timestamp | undefined): { reader: Transaction; atClusterTime: Timestamp } {
    const reader = new Transaction(-1);
    reader.state = 'committed';
    this.#window ??= { from: this.#commits, fromTime: this.#time, times: [], nextPrune: 0 };
    if (at === undefined) {
      reader.snapshot = this.#commits;
      return { reader, atClusterTime: this.clusterTime };
    }
    const wanted = { t: at.t, i: at.i };
    // MongoDB refuses a time it has not reached (InvalidOptions), and one older than its history (SnapshotTooOld).
    if (before(this.#time, wanted)) {
      throw new MongoServerError(
        'InvalidOptions',
        `readConcern atClusterTime value must not be greater than the current clusterTime. Requested clusterTime: ${fmt(wanted)}; current clusterTime: ${fmt(this.#time)}`,
      );
    }
    const window = this.#window;
    if (before(wanted, window.fromTime)) {
      throw new MongoServerError('SnapshotTooOld', `Read timestamp ${fmt(wanted)} is older than the oldest available timestamp ${fmt(window.fromTime)}`);
    }
    // The last commit at or before `wanted`.
    const times = window.times;
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(wanted, times[mid]!.time)) hi = mid;
      else lo = mid + 1;
    }
    reader.snapshot = lo > 0 ? times[lo - 1]!.c : window.from;
    return { reader, atClusterTime: at };
  }

  /** Moves the clock up to a cluster time a client has seen elsewhere (`afterClusterTime`), as a primary's no-op write would. */
  advanceClusterTime(to: Timestamp): void {
    const now = this.#time;
    if (to.t > now.t || (to.t === now.t && to.i > now.i)) {
      this.#time = { t: to.t, i: to.i };
      this.#timestamp = undefined;
    }
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
        if (!db) this.dbs.set(op.db, (db = new Map<string, Collection>()));
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
        this.dbs.get(op.db)?.get(op.c)?.indexes.delete(op.n);
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
        const coll = this.dbs.get(op.db)?.get(op.c);
        const id = keyOf(toView(op.id));
        const old = coll?.records.get(id);
        if (!coll || !old) return;
        for (const index of coll.indexes.values()) index.remove(old);
        coll.records.delete(id);
        return;
      }
    }
  }

  /** The committed collection (never a transaction's new one), created when missing. */
  #must(db: string, name: string): Collection {
    if (!this.dbs.get(db)?.has(name)) this.#applyOp({ t: 'create', db, c: name, o: {} });
    return this.dbs.get(db)!.get(name)!;
  }

  /** The record a reader sees: the transaction's own write if it made one, else the committed one (as of its snapshot). */
  effective(coll: Collection, txn: Transaction | undefined, id: string): StoredRecord | undefined {
    const own = txn?.writes.get(coll)?.get(id);
    if (own !== undefined) return own ?? undefined;
    const rec = coll.records.get(id);
    return txn && coll.history.size > 0 ? asOf(coll, id, txn.snapshot, rec) : rec;
  }

  /** Every record a reader sees, in natural order. */
  scan(coll: Collection, txn: Transaction | undefined): StoredRecord[] {
    const own = txn?.writes.get(coll);
    const past = txn && coll.history.size > 0 ? coll.history : undefined;
    if ((!own || own.size === 0) && !past) return [...coll.records.values()];
    const out: StoredRecord[] = [];
    for (const rec of coll.records.values()) {
      const mine = own?.get(rec.id);
      if (mine !== undefined) {
        if (mine !== null) out.push(mine);
        continue;
      }
      const seen = past?.has(rec.id) ? asOf(coll, rec.id, txn!.snapshot, rec) : rec;
      if (seen) out.push(seen);
    }
    if (past) {
      // Documents deleted since the snapshot.
      for (const id of past.keys()) {
        if (coll.records.has(id) || own?.has(id)) continue;
        const seen = asOf(coll, id, txn!.snapshot, undefined);
        if (seen) out.push(seen);
      }
    }
    if (own) for (const [id, rec] of own) if (rec && !coll.records.has(id)) out.push(rec);
    return past ? out.sort((a, b) => a.seq - b.seq) : out;
  }

  /**
   * The records with one of `keys` in `index`, as a reader sees them, in natural order (or in any
   * order when `ordered` is false: a `$group` does not care, and sorting a large match costs).
   * The index holds the committed documents as they are now: what a transaction wrote, and what
   * changed since its snapshot, is checked against the keys one by one.
   */
  lookup(coll: Collection, txn: Transaction | undefined, index: Index, keys: string[], prefix = false, ordered = true): StoredRecord[] {
    if (index.primary && !prefix) {
      // An `_id` key is the record's id: each key is one record as the reader sees it.
      if (keys.length === 1) {
        const rec = this.effective(coll, txn, keys[0]!);
        return rec ? [rec] : [];
      }
      const out: StoredRecord[] = [];
      for (const k of keys) {
        const rec = this.effective(coll, txn, k);
        if (rec) out.push(rec);
      }
      if (out.length < 2) return out;
      // A key given twice finds its record twice: sorted, the copies are neighbours.
      out.sort(bySeq);
      let n = 1;
      for (let i = 1; i < out.length; i++) if (out[i] !== out[n - 1]) out[n++] = out[i]!;
      out.length = n;
      return out;
    }
    const map = prefix ? index.prefixes : index.entries;
    const own = txn?.writes.get(coll);
    const past = txn && coll.history.size > 0 ? coll.history : undefined;
    if (!past && (!own || own.size === 0)) {
      // The committed records under each key, each once: the single-document path, kept lean.
      const out: StoredRecord[] = [];
      if (keys.length === 1) {
        for (const id of map.get(keys[0]!) ?? []) {
          const rec = coll.records.get(id);
          if (rec) out.push(rec);
        }
      } else {
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
      }
      return ordered && out.length > 1 ? out.sort(bySeq) : out;
    }
    const keysOf = (view: Doc) => (prefix ? index.prefixKeysFor(view) : index.keysFor(view));
    const ids = new Set<string>();
    for (const k of keys) for (const id of map.get(k) ?? []) ids.add(id);
    if (own) for (const [id, rec] of own) if (rec && keysOf(rec.view).some((k) => keys.includes(k))) ids.add(id);
    if (past) for (const id of past.keys()) ids.add(id);
    const out: StoredRecord[] = [];
    const wanted = new Set(keys);
    for (const id of ids) {
      const rec = this.effective(coll, txn, id);
      if (rec && ((!own?.has(id) && !past?.has(id)) || keysOf(rec.view).some((k) => wanted.has(k)))) out.push(rec);
    }
    return out.sort(bySeq);
  }

  /**
   * Throws `DuplicateKey` when `doc` (to be stored under `id`) collides in a unique index. `byId`:
   * the `_id` index is left out, as for a write under the document's own id, which is its `_id` key.
   */
  checkUnique(coll: Collection, txn: Transaction | undefined, id: string, view: Doc, byId = false): void {
    for (const index of coll.indexes.values()) {
      if (index.name === '_id_' ? byId : !index.unique) continue;
      const keys = index.keysFor(view);
      if (keys.length === 0) continue;
      for (const other of this.lookup(coll, txn, index, keys)) {
        if (other.id === id) continue;
        const keyValue: Doc = {};
        for (const field of index.fields) keyValue[field] = readPath(view, field) ?? null;
        const shown = Object.entries(keyValue)
          .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
          .join(', ');
        throw new MongoServerError('DuplicateKey', `E11000 duplicate key error collection: ${coll.ns} index: ${index.name} dup key: { ${shown} }`, {
          keyPattern: index.spec.key,
          keyValue: readKeyValue(other.doc, index.fields),
        });
      }
    }
  }

  /** Stores (or with `doc = null`, deletes) one document, in `txn` or committed at once. */
  write(coll: Collection, txn: Transaction | undefined, id: string, doc: Doc | null): void {
    const view = doc ? (toView(doc) as Doc) : undefined;
    if (view) this.checkUnique(coll, txn, id, view, true);
    if (!txn) {
      this.beforeCommit?.();
      const old = coll.records.get(id);
      const until = this.tick();
      if (doc) this.apply({ t: 'put', db: coll.db, c: coll.name, d: doc });
      else this.apply({ t: 'delete', db: coll.db, c: coll.name, id: old?.doc._id });
      if (this.#keeping) this.#remember(coll, id, old, until);
      return;
    }
    // First writer wins, as in MongoDB: a document another open transaction wrote, or one
    // committed since this transaction's snapshot, cannot be written.
    const holder = coll.locks.get(id);
    if (holder && holder !== txn && holder.state === 'active') throw writeConflict();
    let bases = txn.bases.get(coll);
    if (!bases) txn.bases.set(coll, (bases = new Map<string, StoredRecord | undefined>()));
    if (!bases.has(id)) {
      const current = coll.records.get(id);
      const seen = coll.history.size > 0 ? asOf(coll, id, txn.snapshot, current) : current;
      if (seen !== current) throw writeConflict();
      bases.set(id, seen);
    }
    // A unique key committed since the snapshot (invisible to it) conflicts too.
    if (view && coll.history.size > 0) this.#checkUniqueNow(coll, txn, id, view);
    coll.locks.set(id, txn);
    let writes = txn.writes.get(coll);
    if (!writes) txn.writes.set(coll, (writes = new Map<string, StoredRecord | null>()));
    const previous = this.effective(coll, txn, id);
    writes.set(id, doc ? { id, doc, view: view!, seq: previous?.seq ?? ++this.#seq, version: 0 } : null);
  }

  #checkUniqueNow(coll: Collection, txn: Transaction, id: string, view: Doc): void {
    const snapshot = txn.snapshot;
    txn.snapshot = Number.POSITIVE_INFINITY;
    try {
      this.checkUnique(coll, txn, id, view);
    } catch (err) {
      throw err instanceof MongoServerError && err.codeName === 'DuplicateKey' ? writeConflict() : err;
    } finally {
      txn.snapshot = snapshot;
    }
  }

  /**
   * Applies a transaction's writes (and creates its new collections) all at once, or throws (and
   * aborts it) when another operation got there first.
   */
  commit(txn: Transaction): void {
    try {
      // From here on the transaction reads the newest committed state: its checks must.
      txn.snapshot = Number.POSITIVE_INFINITY;
      for (const coll of txn.created.values()) {
        if (this.dbs.get(coll.db)?.has(coll.name)) throw writeConflict(`Write conflict during commit: collection ${coll.ns} was created by another operation`);
      }
      for (const coll of txn.writes.keys()) {
        if (txn.created.get(coll.ns) !== coll && this.dbs.get(coll.db)?.get(coll.name) !== coll) {
          throw writeConflict(`Write conflict during commit: collection ${coll.ns} was dropped by another operation`);
        }
      }
      for (const [coll, bases] of txn.bases) {
        for (const [id, base] of bases) {
          if (coll.records.get(id) !== base) {
            throw writeConflict('Write conflict during commit: a document written in this transaction was changed by another operation');
          }
        }
      }
      for (const [coll, writes] of txn.writes) {
        for (const [id, rec] of writes) if (rec) this.checkUnique(coll, txn, id, rec.view);
      }
      const ops: Op[] = [];
      for (const coll of txn.created.values()) {
        ops.push({ t: 'create', db: coll.db, c: coll.name, o: coll.options });
        for (const index of coll.indexes.values()) if (index.name !== '_id_') ops.push({ t: 'index', db: coll.db, c: coll.name, s: index.spec });
      }
      const replaced: [Collection, string, StoredRecord | undefined][] = [];
      for (const [coll, writes] of txn.writes) {
        for (const [id, rec] of writes) {
          const base = coll.records.get(id);
          replaced.push([coll, id, base]);
          if (rec) ops.push({ t: 'put', db: coll.db, c: coll.name, d: rec.doc });
          else if (base) ops.push({ t: 'delete', db: coll.db, c: coll.name, id: base.doc._id });
        }
      }
      this.#open.delete(txn);
      if (ops.length > 0) {
        const until = this.tick();
        this.apply({ t: 'batch', ops });
        if (this.#keeping) for (const [coll, id, old] of replaced) this.#remember(this.dbs.get(coll.db)?.get(coll.name), id, old, until);
      }
      txn.state = 'committed';
    } finally {
      if (txn.state !== 'committed') txn.state = 'aborted';
      this.#end(txn);
    }
  }

  /** Drops a transaction's writes and new collections, and frees the documents it held. */
  abort(txn: Transaction): void {
    if (txn.state === 'active') txn.state = 'aborted';
    this.#end(txn);
  }

  #end(txn: Transaction): void {
    for (const [coll, bases] of txn.bases) for (const id of bases.keys()) if (coll.locks.get(id) === txn) coll.locks.delete(id);
    for (const ns of txn.created.keys()) if (this.#pending.get(ns) === txn) this.#pending.delete(ns);
    if (this.#open.delete(txn) || this.#aged.size > 0) this.#prune();
  }

  /** Keeps the state a commit numbered `until` replaced, for the open transactions' snapshots. */
  #remember(coll: Collection | undefined, id: string, old: StoredRecord | undefined, until: number): void {
    if (!coll) return;
    let past = coll.history.get(id);
    if (!past) coll.history.set(id, (past = []));
    past.push({ rec: old, until });
    this.#aged.add(coll);
  }

  /** Whether a commit keeps what it replaces: for open transactions, and snapshot reads once there was one. */
  get #keeping(): boolean {
    return this.#open.size > 0 || this.#window !== undefined;
  }

  /** Forgets the past states no open transaction, and no snapshot read within the window, can read any more. */
  #prune(): void {
    let oldest = Number.POSITIVE_INFINITY;
    const window = this.#window;
    if (window) {
      const horizon = Date.now() - SNAPSHOT_WINDOW_MS;
      let drop = 0;
      while (drop < window.times.length && window.times[drop]!.at < horizon) drop++;
      if (drop > 0) {
        const last = window.times[drop - 1]!;
        window.from = last.c;
        window.fromTime = last.time;
        window.times.splice(0, drop);
      }
      oldest = window.from;
    }
    if (this.#open.size === 0 && oldest === Number.POSITIVE_INFINITY) {
      for (const coll of this.#aged) coll.history.clear();
      this.#aged.clear();
      return;
    }
    for (const txn of this.#open) oldest = Math.min(oldest, txn.snapshot);
    for (const coll of this.#aged) {
      for (const [id, past] of coll.history) {
        const keep = past.findIndex((v) => v.until > oldest);
        if (keep < 0) coll.history.delete(id);
        else if (keep > 0) past.splice(0, keep);
      }
      if (coll.history.size === 0) this.#aged.delete(coll);
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
              const until = this.tick();
              this.apply({ t: 'delete', db: coll.db, c: coll.name, id: rec.doc._id });
              if (this.#keeping) this.#remember(coll, rec.id, rec, until);
              removed++;
            }
          }
        }
      }
    }
    return removed;
  }
}

/** How long snapshot reads can look back, as MongoDB's `minSnapshotHistoryWindowInSeconds` (default 300). */
export const SNAPSHOT_WINDOW_MS = 300_000;

type ClockTime = { readonly t: number; readonly i: number };

function before(a: ClockTime, b: ClockTime): boolean {
  return a.t < b.t || (a.t === b.t && a.i < b.i);
}

function fmt(time: ClockTime): string {
  return `Timestamp(${time.t}, ${time.i})`;
}

/** Natural order: insertion order, which an update keeps. */
function bySeq(a: StoredRecord, b: StoredRecord): number {
  return a.seq - b.seq;
}

/** A document as a snapshot taken at commit number `snapshot` sees it: the first state replaced after it, else `current`. */
function asOf(coll: Collection, id: string, snapshot: number, current: StoredRecord | undefined): StoredRecord | undefined {
  const past = coll.history.get(id);
  if (past) for (const v of past) if (v.until > snapshot) return v.rec;
  return current;
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
