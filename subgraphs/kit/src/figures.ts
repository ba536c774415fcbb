/**
 * Figures maintained, not recounted: the counts and sums a subgraph serves on every page (per
 * study, per owner, per year) kept in its own `figures` collection and changed in the same
 * transaction as the write that changes them.
 *
 * A figure set says what one document counts in ({@link FigureSet.cells}): the cells it belongs
 * to and what it adds to each. Everything follows from that one function:
 * - a write diffs the document before and after and `$inc`s the cells by the difference (a cell
 *   whose every sum comes back to 0 is deleted), in the write's session;
 * - a rebuild (`npm run seed`, `npm run reconcile -- --repair`) folds every document into fresh cells;
 * - a check compares the kept cells with that fold (`npm run reconcile`, and the property tests).
 * So a read is an index lookup of a few small documents, whatever the number of records behind them.
 *
 * Every write to a counted collection goes through {@link Counted}: a write around it would leave
 * the figures behind (the reconcile command finds it, the repair mends it).
 */
import {
  type AnyBulkWriteOperation,
  type ClientSession,
  type Collection,
  type Db,
  type Filter,
  type OptionalUnlessRequiredId,
  type UpdateFilter,
} from 'mongodb';

/** A value a cell is keyed by. */
export type CellValue = string | number | boolean | null;

/** One cell a document counts in: its key and what the document adds to its sums (a sum left out adds 0). */
export interface CellContribution {
  key: Record<string, CellValue>;
  add: Record<string, number>;
}

/** A set of cells kept for one counted collection. */
export interface FigureSet<D> {
  /** Its name, unique in the database (`studyFigures`, `funnelByOwner`): the cells' `set`. */
  name: string;
  /** Its key fields, in order: a cell's `_id` is the set's name and their values. */
  key: readonly string[];
  /** Its sums: counts (1 per document) and sums for averages. */
  sums: readonly string[];
  /** Indexes its reads use besides `_id`, after `set` (e.g. `{ year: 1 }` for the reads by year). */
  indexes?: readonly Record<string, 1 | -1>[];
  /** The cells one document counts in, and what it adds to each. */
  cells(doc: D): readonly CellContribution[];
}

/** A cell as stored: `_id`, its set, its key fields and its sums. */
export type FigureDoc = { _id: string; set: string } & Record<string, unknown>;

/** Where every subgraph keeps its cells. */
export const FIGURES_COLLECTION = 'figures';

/** A cell's `_id`: its set and its key's values in the set's order (JSON, so no separator can be forged). */
export function cellId(set: Pick<FigureSet<never>, 'name' | 'key'>, key: Record<string, CellValue | undefined>): string {
  return `${set.name}|${JSON.stringify(set.key.map((k) => key[k] ?? null))}`;
}

/** A difference between the kept cells and a full recount. */
export interface FigureDifference {
  set: string;
  id: string;
  problem: 'missing' | 'extra' | 'different';
  expected?: Record<string, number>;
  actual?: Record<string, number>;
}

/** What seed, repair and reconcile need of a counted collection, whatever its documents. */
export interface CountedFigures {
  /** The source collection's name. */
  readonly collectionName: string;
  readonly sets: readonly { name: string }[];
  readonly figures: Collection<FigureDoc>;
  ensureIndexes(): Promise<void>;
  rebuild(session?: ClientSession, docs?: Iterable<never>): Promise<number>;
  check(): Promise<FigureDifference[]>;
}

/** A collection whose writes keep its figure sets up to date, in the write's session. */
export interface Counted<D extends { _id: string }> extends CountedFigures {
  /** The source collection, for reads. */
  readonly collection: Collection<D>;
  readonly sets: readonly FigureSet<D>[];
  /** The `_id`s of the cells a document counts in: what writes of it may queue on ({@link createCellQueue}). */
  cellIds(doc: D): string[];
  insertOne(doc: D, session: ClientSession): Promise<void>;
  /** Replaces (or inserts) the document with `doc._id`; the one it replaced, or null. */
  replaceOne(doc: D, session: ClientSession): Promise<D | null>;
  /** Updates the first document `filter` matches; the document after, or null when none matched. */
  updateOne(filter: Filter<D>, update: UpdateFilter<D>, session: ClientSession): Promise<D | null>;
  /** Updates every document `filter` matches; how many. */
  updateMany(filter: Filter<D>, update: UpdateFilter<D>, session: ClientSession): Promise<number>;
  /** Deletes the first document `filter` matches; the document deleted, or null. */
  deleteOne(filter: Filter<D>, session: ClientSession): Promise<D | null>;
  /** Every cell recounted from the documents (or from `docs`, when the caller holds them all), by `_id` (with its set and key fields). */
  recount(session?: ClientSession, docs?: Iterable<D>): Promise<Map<string, FigureDoc>>;
  /** Replaces the kept cells with a recount (of `docs`, when the caller has just written them all: a seed); how many cells there are. */
  rebuild(session?: ClientSession, docs?: Iterable<D>): Promise<number>;
}

/** The amounts of one cell in a diff. */
interface Delta {
  key: Record<string, CellValue>;
  add: Record<string, number>;
}

function addInto<D>(set: FigureSet<D>, into: Map<string, Delta>, doc: D, sign: 1 | -1): void {
  for (const { key, add } of set.cells(doc)) {
    const id = cellId(set, key);
    let delta = into.get(id);
    if (!delta) {
      delta = { key: Object.fromEntries(set.key.map((k) => [k, key[k] ?? null])), add: Object.fromEntries(set.sums.map((s) => [s, 0])) };
      into.set(id, delta);
    }
    for (const s of set.sums) delta.add[s]! += sign * (add[s] ?? 0);
  }
}

const sumsOf = (set: FigureSet<never>, doc: Record<string, unknown>) => Object.fromEntries(set.sums.map((s) => [s, Number(doc[s] ?? 0)]));
const isZero = (add: Record<string, number>) => Object.values(add).every((v) => v === 0);

/**
 * A counted collection: `name` in `db`, its figure sets kept in the database's `figures`.
 * Each write costs one or two commands more than the bare write (the state before, the cells).
 */
export function createCounted<D extends { _id: string }>(db: Db, name: string, sets: readonly FigureSet<D>[]): Counted<D> {
  const collection = db.collection<D>(name);
  const figures = db.collection<FigureDoc>(FIGURES_COLLECTION);
  const setNames = sets.map((s) => s.name);

  /** Applies the difference between `before` and `after` (each a document or none) to every set's cells. */
  async function apply(pairs: readonly (readonly [D | null, D | null])[], session: ClientSession): Promise<void> {
    const ops: AnyBulkWriteOperation<FigureDoc>[] = [];
    /** Per set, the cells a decrease may have emptied, and what empty means (every sum 0). */
    const emptied: Filter<FigureDoc>[] = [];
    for (const set of sets) {
      const lowered: string[] = [];
      const deltas = new Map<string, Delta>();
      for (const [before, after] of pairs) {
        if (before) addInto(set, deltas, before, -1);
        if (after) addInto(set, deltas, after, 1);
      }
      for (const [id, { key, add }] of deltas) {
        if (isZero(add)) continue;
        ops.push({
          updateOne: { filter: { _id: id }, update: { $inc: add, $setOnInsert: { set: set.name, ...key } } as UpdateFilter<FigureDoc>, upsert: true },
        });
        if (Object.values(add).some((v) => v < 0)) lowered.push(id);
      }
      if (lowered.length > 0) emptied.push({ _id: { $in: lowered }, ...Object.fromEntries(set.sums.map((s) => [s, 0])) });
    }
    if (ops.length === 0) return;
    await figures.bulkWrite(ops, { session, ordered: true });
    // A cell that came back to nothing goes, as a recount would not make it. Only a decrease can empty one.
    if (emptied.length > 0) await figures.deleteMany(emptied.length === 1 ? emptied[0]! : { $or: emptied }, { session });
  }

  async function recount(session?: ClientSession, docs?: Iterable<D>): Promise<Map<string, FigureDoc>> {
    const cells = new Map<string, FigureDoc>();
    const deltas = sets.map(() => new Map<string, Delta>());
    const fold = (doc: D) => sets.forEach((set, i) => addInto(set, deltas[i]!, doc, 1));
    if (docs) for (const doc of docs) fold(doc);
    else for await (const doc of collection.find({}, { ...(session ? { session } : {}), batchSize: 10_000 })) fold(doc as D);
    sets.forEach((set, i) => {
      for (const [id, { key, add }] of deltas[i]!) if (!isZero(add)) cells.set(id, { _id: id, set: set.name, ...key, ...add });
    });
    return cells;
  }

  return {
    collection,
    collectionName: name,
    sets,
    figures,
    cellIds: (doc) => sets.flatMap((set) => set.cells(doc).map((c) => cellId(set, c.key))),
    async ensureIndexes() {
      // Two sets may read by the same fields: each index once.
      const keys = new Map<string, Record<string, 1 | -1>>([['{"set":1}', { set: 1 }]]);
      for (const set of sets) for (const index of set.indexes ?? []) keys.set(JSON.stringify({ set: 1, ...index }), { set: 1, ...index });
      await figures.createIndexes([...keys.values()].map((key) => ({ key })));
    },
    async insertOne(doc, session) {
      await collection.insertOne(doc as OptionalUnlessRequiredId<D>, { session });
      await apply([[null, doc]], session);
    },
    async replaceOne(doc, session) {
      const before = (await collection.findOneAndReplace({ _id: doc._id } as Filter<D>, doc, { session, upsert: true, returnDocument: 'before' })) as D | null;
      await apply([[before, doc]], session);
      return before;
    },
    async updateOne(filter, update, session) {
      const before = (await collection.findOneAndUpdate(filter, update, { session, returnDocument: 'before' })) as D | null;
      if (!before) return null;
      const after = (await collection.findOne({ _id: before._id } as Filter<D>, { session })) as D | null;
      await apply([[before, after]], session);
      return after;
    },
    async updateMany(filter, update, session) {
      const before = (await collection.find(filter, { session }).toArray()) as D[];
      if (before.length === 0) return 0;
      const ids = before.map((d) => d._id);
      const n = (await collection.updateMany({ _id: { $in: ids } } as Filter<D>, update, { session })).modifiedCount;
      const after = new Map(((await collection.find({ _id: { $in: ids } } as Filter<D>, { session }).toArray()) as D[]).map((d) => [d._id, d]));
      await apply(
        before.map((b) => [b, after.get(b._id) ?? null] as const),
        session,
      );
      return n;
    },
    async deleteOne(filter, session) {
      const before = (await collection.findOneAndDelete(filter, { session })) as D | null;
      if (before) await apply([[before, null]], session);
      return before;
    },
    recount,
    async rebuild(session, docs) {
      const cells = await recount(session, docs);
      const options = session ? { session } : {};
      await figures.deleteMany({ set: { $in: setNames } }, options);
      const kept = [...cells.values()];
      for (let i = 0; i < kept.length; i += 5000) await figures.insertMany(kept.slice(i, i + 5000), { ...options, ordered: false });
      return kept.length;
    },
    async check() {
      const expected = await recount();
      const differences: FigureDifference[] = [];
      const seen = new Set<string>();
      for await (const doc of figures.find({ set: { $in: setNames } }, { batchSize: 10_000 })) {
        seen.add(doc._id);
        const set = sets.find((s) => s.name === doc.set)!;
        const want = expected.get(doc._id);
        const actual = sumsOf(set, doc);
        if (!want) differences.push({ set: set.name, id: doc._id, problem: 'extra', actual });
        else if (JSON.stringify(sumsOf(set, want)) !== JSON.stringify(actual))
          differences.push({ set: set.name, id: doc._id, problem: 'different', expected: sumsOf(set, want), actual });
      }
      for (const [id, want] of expected) {
        if (!seen.has(id))
          differences.push({
            set: want.set,
            id,
            problem: 'missing',
            expected: sumsOf(
              sets.find((s) => s.name === want.set)!,
              want,
            ),
          });
      }
      return differences;
    },
  };
}

/** The cells of `set` with these keys, in key order (null for a cell nothing counts in): one command. */
export async function readCells<D>(
  figures: Collection<FigureDoc>,
  set: FigureSet<D>,
  keys: readonly Record<string, CellValue | undefined>[],
  session?: ClientSession,
): Promise<(FigureDoc | null)[]> {
  const ids = keys.map((k) => cellId(set, k));
  // Every cell in the first reply (no getMore, whatever the batch).
  const found = new Map(
    (await figures.find({ _id: { $in: [...new Set(ids)] } }, { batchSize: 100_000, ...(session ? { session } : {}) }).toArray()).map((d) => [d._id, d]),
  );
  return ids.map((id) => found.get(id) ?? null);
}

/** The cells of `set` whose key fields match `filter` (allow-listed `$eq`/`$in` on key fields): one command, every cell in the first reply. */
export function findCells<D>(figures: Collection<FigureDoc>, set: FigureSet<D>, filter: Record<string, unknown>): Promise<FigureDoc[]> {
  return figures.find({ set: set.name, ...filter } as Filter<FigureDoc>, { batchSize: 100_000 }).toArray();
}
