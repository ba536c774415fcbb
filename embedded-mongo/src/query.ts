import { Aggregator, Query, update as mingoUpdate } from 'mingo';
import { Aggregator as BaseAggregator } from 'mingo/aggregator';
import { Context } from 'mingo/core';
import * as accumulatorOps from 'mingo/operators/accumulator';
import * as expressionOps from 'mingo/operators/expression';
import * as pipelineOps from 'mingo/operators/pipeline';
import * as projectionOps from 'mingo/operators/projection';
import * as queryOps from 'mingo/operators/query';
import * as windowOps from 'mingo/operators/window';
import { Query as BaseQuery } from 'mingo/query';
import { resolve } from 'mingo/util';
import { type Collection, type Engine, type Transaction, newId } from './engine.js';
import { MongoServerError, badValue } from './errors.js';
import { fastGroup } from './group.js';
import { type Index, type StoredRecord } from './indexes.js';
import { type Doc, keyOf, retype, toView } from './values.js';

/** The collation a command may carry (`locale` is what mingo uses; `strength` changes equality). */
export interface Collation {
  locale: string;
  strength?: number;
  caseLevel?: boolean;
  numericOrdering?: boolean;
}

/** What every read needs besides its filter. */
export interface ReadContext {
  engine: Engine;
  txn: Transaction | undefined;
  collation?: Collation | undefined;
  /** Epoch milliseconds after which the operation fails with `MaxTimeMSExpired`. */
  deadline?: number | undefined;
}

// Operators that run JavaScript or need server features the store does not have: refused by name.
const REFUSED = new Map<string, string>([
  ['$where', '$where is not allowed: it runs JavaScript'],
  ['$function', '$function is not allowed: it runs JavaScript'],
  ['$accumulator', '$accumulator is not allowed: it runs JavaScript'],
  ['$text', '$text is not supported by the embedded store (it has no text indexes)'],
  ['$changeStream', '$changeStream is not supported by the embedded store'],
  ['$out', '$out is not supported by the embedded store'],
  ['$merge', '$merge is not supported by the embedded store'],
  ['$currentOp', '$currentOp is not supported by the embedded store'],
  ['$search', '$search is not supported by the embedded store'],
]);

/** Throws `BadValue` naming the first refused operator anywhere in `value`. */
export function refuseUnsupported(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) refuseUnsupported(item);
    return;
  }
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return;
  for (const [k, v] of Object.entries(value)) {
    const reason = REFUSED.get(k);
    if (reason) throw badValue(reason);
    refuseUnsupported(v);
  }
}

const STRENGTH = { 1: 'base', 2: 'accent', 3: 'variant' } as const;
const collators = new Map<string, Intl.Collator>();

/** The comparison a collation defines for strings, built as mingo builds it for `$sort`. */
function collator(collation: Collation): Intl.Collator {
  const key = JSON.stringify(collation);
  let found = collators.get(key);
  if (!found) {
    let sensitivity: string = STRENGTH[(collation.strength ?? 3) as 1 | 2 | 3] ?? 'variant';
    if (collation.caseLevel === true && sensitivity !== 'variant') sensitivity = sensitivity === 'base' ? 'case' : 'variant';
    found = new Intl.Collator(collation.locale, { sensitivity: sensitivity as Intl.CollatorOptions['sensitivity'], numeric: collation.numericOrdering ?? false });
    if (collators.size > 32) collators.clear();
    collators.set(key, found);
  }
  return found;
}

type QueryOp = (selector: string, value: unknown, options: { collation?: Collation }) => (obj: Doc) => boolean;

/**
 * `$gt`, `$gte`, `$lt` and `$lte` that compare strings with the command's collation, as MongoDB
 * does (mingo applies a collation to `$sort` only): with `{ locale: 'nb' }`, `'Ørsta' < 'Åsnes'`.
 * A string bound matches strings only (type bracketing); any other bound, or no collation, is
 * mingo's own operator.
 */
function collatedRange(name: '$gt' | '$gte' | '$lt' | '$lte', holds: (c: number) => boolean): QueryOp {
  const builtin = (queryOps as unknown as Record<string, QueryOp>)[name]!;
  return (selector, value, options) => {
    const collation = options?.collation;
    if (typeof value !== 'string' || !collation?.locale) return builtin(selector, value, options);
    const compare = collator(collation);
    return (obj) => {
      const found = resolve(obj, selector, { unwrapArray: true });
      const values = Array.isArray(found) ? found : [found];
      return values.some((v) => typeof v === 'string' && holds(compare.compare(v, value)));
    };
  };
}

// mingo's operators with the collation-aware ranges; its top-level Query and Aggregator keep
// their own operators first, so reads with a collation use the base classes with this context.
const COLLATED = Context.init({
  accumulator: accumulatorOps,
  expression: expressionOps,
  pipeline: pipelineOps,
  projection: projectionOps,
  window: windowOps,
  query: {
    ...queryOps,
    $gt: collatedRange('$gt', (c) => c > 0),
    $gte: collatedRange('$gte', (c) => c >= 0),
    $lt: collatedRange('$lt', (c) => c < 0),
    $lte: collatedRange('$lte', (c) => c <= 0),
  },
} as unknown as Parameters<typeof Context.init>[0]);

function mingoOptions(collation: Collation | undefined): Record<string, unknown> {
  return collation ? { collation, context: COLLATED, scriptEnabled: false } : { scriptEnabled: false };
}

/** A mingo query honouring the collation in range comparisons. */
function newQuery(filter: Doc, collation: Collation | undefined): Query {
  return collation ? (new BaseQuery(filter, mingoOptions(collation)) as Query) : new Query(filter, mingoOptions(undefined));
}

/** A mingo pipeline honouring the collation in `$match` range comparisons and `$sort`. */
function newAggregator(pipeline: Doc[], collation: Collation | undefined, extra: Record<string, unknown> = {}): Aggregator {
  const options = { ...mingoOptions(collation), ...extra };
  return collation ? (new BaseAggregator(pipeline, options) as Aggregator) : new Aggregator(pipeline, options);
}

/** Runs a mingo call, turning its errors (unknown operators, bad arguments) into `BadValue`. */
export function mingo<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof MongoServerError) throw err;
    throw badValue(err instanceof Error ? err.message : String(err));
  }
}

/** Throws `MaxTimeMSExpired` once the deadline has passed. */
export function checkDeadline(deadline: number | undefined): void {
  if (deadline !== undefined && Date.now() > deadline) {
    throw new MongoServerError('MaxTimeMSExpired', 'operation exceeded time limit');
  }
}

/** Values an equality or `$in` condition on one field pins it to, or undefined when it pins nothing. */
function pinnedValues(cond: unknown): unknown[] | undefined {
  if (cond === undefined || cond instanceof RegExp) return undefined;
  if (cond === null || typeof cond !== 'object' || Object.getPrototypeOf(cond) !== Object.prototype) {
    return Array.isArray(cond) ? undefined : [cond];
  }
  const ops = cond as Doc;
  const keys = Object.keys(ops);
  if (keys.length === 0 || !keys.every((k) => k.startsWith('$'))) return undefined;
  if ('$eq' in ops && !Array.isArray(ops.$eq) && !(ops.$eq instanceof RegExp)) return [ops.$eq];
  if (Array.isArray(ops.$in) && ops.$in.every((v) => !(v instanceof RegExp) && !Array.isArray(v))) return ops.$in;
  return undefined;
}

/**
 * The records that may match `filter`: from an index whose (first) field the filter pins (a
 * single-field index, or the prefix of a compound one, as MongoDB would use it), else all.
 * `exact` is true when the index lookup alone answers the filter: its only field, pinned to
 * strings, numbers or booleans (equality on their index keys is MongoDB's equality), so no record
 * needs testing again.
 */
function candidates(coll: Collection, filter: Doc, ctx: ReadContext, ordered = true): { records: StoredRecord[]; exact: boolean } {
  // A collation that folds case or accents makes binary index keys unsafe for equality.
  const binaryEquality = !ctx.collation || (ctx.collation.strength ?? 3) >= 3;
  if (binaryEquality) {
    let best: { index: Index; values: unknown[]; prefix: boolean } | undefined;
    for (const index of coll.indexes.values()) {
      if (index.spec.partialFilterExpression || index.spec.sparse) continue;
      const values = pinnedValues(filter[index.fields[0]!]);
      const prefix = index.fields.length > 1;
      // Prefer a single-field index over a compound prefix with as few values.
      if (values && (!best || values.length < best.values.length || (values.length === best.values.length && best.prefix && !prefix))) best = { index, values, prefix };
    }
    if (best) {
      const records = ctx.engine.lookup(coll, ctx.txn, best.index, best.values.map(keyOf), best.prefix, ordered);
      const only = Object.keys(filter);
      const plain = (v: unknown) => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
      return { records, exact: only.length === 1 && only[0] === best.index.fields[0] && best.values.every(plain) };
    }
  }
  return { records: ctx.engine.scan(coll, ctx.txn), exact: false };
}

/** The records matching `filter` (typed), in natural order (any order when `ordered` is false). */
export function match(coll: Collection | undefined, filterTyped: Doc | undefined, ctx: ReadContext, ordered = true): StoredRecord[] {
  if (!coll) return [];
  const filter = (toView(filterTyped ?? {}) as Doc) ?? {};
  refuseUnsupported(filter);
  const { records: all, exact } = candidates(coll, filter, ctx, ordered);
  if (Object.keys(filter).length === 0 || exact) return all;
  const query = mingo(() => newQuery(filter, ctx.collation));
  const out: StoredRecord[] = [];
  for (let i = 0; i < all.length; i++) {
    if ((i & 1023) === 0) checkDeadline(ctx.deadline);
    const rec = all[i]!;
    if (mingo(() => query.test(rec.view))) out.push(rec);
  }
  checkDeadline(ctx.deadline);
  return out;
}

/** Sorts records by a sort spec, honouring the collation (`nb`: Æ, Ø, Å after Z). */
export function sortRecords(records: StoredRecord[], sort: Doc | undefined, ctx: ReadContext): StoredRecord[] {
  if (!sort || Object.keys(sort).length === 0) return records;
  const byView = new Map<Doc, StoredRecord>(records.map((r) => [r.view, r]));
  const sorted = mingo(
    () => newAggregator([{ $sort: toView(sort) as Doc }], ctx.collation).run(records.map((r) => r.view)) as Doc[],
  );
  checkDeadline(ctx.deadline);
  return sorted.map((v) => byView.get(v)!);
}

/** Applies a find projection to a stored record, keeping every number's BSON type. */
export function project(rec: StoredRecord, projection: Doc | undefined, filter: Doc | undefined): Doc {
  if (!projection || Object.keys(projection).length === 0) return rec.doc;
  const spec = toView(projection) as Doc;
  refuseUnsupported(spec);
  const [out] = mingo(
    () =>
      new Query((toView(filter ?? {}) as Doc) ?? {}, { scriptEnabled: false })
        .find([toView(rec.view) as Doc], spec)
        .all() as Doc[],
  );
  return retype(out, [rec.doc]) as Doc;
}

const IN_PLACE_STAGES = new Set(['$match', '$sort', '$skip', '$limit', '$count', '$group']);

/** Runs an aggregation pipeline over a collection; `$lookup` reads collections of the same database. */
export function aggregate(coll: Collection | undefined, db: string, pipelineTyped: Doc[], ctx: ReadContext): Doc[] {
  const pipeline = toView(pipelineTyped) as Doc[];
  refuseUnsupported(pipeline);
  const first = pipeline[0]?.$match as Doc | undefined;
  const rest = first ? pipeline.slice(1) : pipeline;
  // A $group next (after an optional $unwind) makes no promise about order: the match need not sort.
  const groupNext = rest[0]?.$group !== undefined || (rest[0]?.$unwind !== undefined && rest[1]?.$group !== undefined);
  let records = coll ? (first ? match(coll, first as Doc, ctx, !groupNext) : ctx.engine.scan(coll, ctx.txn)) : [];
  // The commonest shape ($unwind and $group with sums) runs natively: it only reads the views.
  const grouped = fastGroup(rest, records.map((r) => r.view));
  if (grouped) {
    checkDeadline(ctx.deadline);
    return grouped.map((out) => retype(out, []) as Doc);
  }
  // Stages that build new documents may write into their input: give them copies, never the stored views.
  const inPlace = rest.every((stage) => IN_PLACE_STAGES.has(Object.keys(stage)[0] ?? ''));
  const input = records.map((r) => (inPlace ? r.view : (toView(r.view) as Doc)));
  const resolver = (name: string): Doc[] => {
    const other = ctx.engine.collection(db, name);
    return other ? ctx.engine.scan(other, ctx.txn).map((r) => toView(r.view) as Doc) : [];
  };
  const output = mingo(
    () => newAggregator(rest, ctx.collation, { collectionResolver: resolver }).run(input) as Doc[],
  );
  checkDeadline(ctx.deadline);
  const byView = new Map<Doc, StoredRecord>();
  const byId = new Map<string, StoredRecord>();
  for (let i = 0; i < records.length; i++) byView.set(input[i]!, records[i]!);
  records = [];
  return output.map((out) => {
    const same = byView.get(out);
    if (same) return same.doc;
    if (byId.size === 0 && byView.size > 0) for (const rec of byView.values()) byId.set(rec.id, rec);
    const source = out._id !== undefined ? byId.get(keyOf(out._id)) : undefined;
    return retype(out, source ? [source.doc] : []) as Doc;
  });
}

/** What an update statement asks for, as `update` and `findAndModify` receive it. */
export interface UpdateSpec {
  u: Doc | Doc[];
  arrayFilters?: Doc[] | undefined;
}

function isOperatorUpdate(u: Doc | Doc[]): u is Doc {
  return !Array.isArray(u) && Object.keys(u).some((k) => k.startsWith('$'));
}

/** Sets a dotted path in a plain object, creating the objects on the way. */
function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let current = doc;
  for (const part of parts.slice(0, -1)) {
    const next = current[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) current[part] = {};
    current = current[part] as Doc;
  }
  current[parts[parts.length - 1]!] = value;
}

/** The typed values an update assigns, laid out at their paths: where retyping finds `$set: { n: Long(5) }`. */
function assignedShape(u: Doc): Doc {
  const shape: Doc = {};
  for (const op of ['$set', '$setOnInsert', '$min', '$max']) {
    const fields = u[op] as Doc | undefined;
    if (!fields) continue;
    for (const [path, value] of Object.entries(fields)) if (!path.includes('$')) setPath(shape, path, value);
  }
  return shape;
}

/**
 * Applies an update to a document (typed in, typed out). `insert` is true for the document
 * an upsert creates, where `$setOnInsert` applies; `filter` serves the positional `$`.
 */
export function applyUpdate(doc: Doc, spec: UpdateSpec, filter: Doc | undefined, insert: boolean): Doc {
  const { u } = spec;
  let view: Doc;
  let sources: unknown[];
  if (Array.isArray(u)) {
    refuseUnsupported(u);
    view = mingo(() => new Aggregator(toView(u) as Doc[], { scriptEnabled: false }).run([toView(doc) as Doc])[0] as Doc);
    sources = [doc];
  } else if (isOperatorUpdate(u)) {
    const { $setOnInsert, ...rest } = u;
    const modifier = toView(insert && $setOnInsert ? { ...rest, $set: { ...(rest.$set as Doc), ...($setOnInsert as Doc) } } : rest) as Doc;
    refuseUnsupported(modifier);
    view = toView(doc) as Doc;
    if (!insert) guardId(modifier, view._id);
    if (Object.keys(modifier).length > 0) {
      const arrayFilters = spec.arrayFilters ? (toView(spec.arrayFilters) as Doc[]) : undefined;
      mingo(() =>
        mingoUpdate(view, modifier as never, arrayFilters, filter ? (toView(filter) as Doc) : undefined, {
          cloneMode: 'none',
        } as never),
      );
    }
    sources = [assignedShape(u), doc];
  } else {
    for (const key of Object.keys(u)) {
      if (key.includes('.')) throw badValue(`The dotted field '${key}' is not valid in a replacement document`);
    }
    view = doc._id !== undefined ? { _id: toView(doc._id), ...(toView(u) as Doc) } : (toView(u) as Doc);
    sources = [u, doc];
  }
  const typed = retype(view, sources) as Doc;
  if (doc._id !== undefined && keyOf(toView(typed._id)) !== keyOf(toView(doc._id))) {
    throw new MongoServerError(
      'ImmutableField',
      "Performing an update on the path '_id' would modify the immutable field '_id'",
    );
  }
  const { _id, ...others } = typed;
  return { _id: _id ?? newId(), ...others };
}

/** Refuses an operator that would change `_id`; setting it to the value it has is a no-op, as in MongoDB. */
function guardId(modifier: Doc, id: unknown): void {
  for (const [op, fields] of Object.entries(modifier)) {
    if (fields === null || typeof fields !== 'object') continue;
    for (const path of Object.keys(fields as Doc)) {
      if (path !== '_id' && !path.startsWith('_id.')) continue;
      if (op === '$set' && path === '_id' && keyOf((fields as Doc)[path]) === keyOf(id)) {
        delete (fields as Doc)[path];
        continue;
      }
      throw new MongoServerError(
        'ImmutableField',
        "Performing an update on the path '_id' would modify the immutable field '_id'",
      );
    }
  }
}

/** The document an upsert starts from: the filter's equality conditions, laid out at their paths. */
export function upsertSeed(filter: Doc | undefined): Doc {
  const seed: Doc = {};
  const visit = (f: Doc): void => {
    for (const [k, v] of Object.entries(f)) {
      if (k === '$and' && Array.isArray(v)) for (const part of v) visit(part as Doc);
      if (k.startsWith('$')) continue;
      if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
        const ops = v as Doc;
        if (Object.keys(ops).some((o) => o.startsWith('$'))) {
          if ('$eq' in ops) setPath(seed, k, ops.$eq);
          continue;
        }
      }
      setPath(seed, k, v);
    }
  };
  if (filter) visit(filter);
  return seed;
}
