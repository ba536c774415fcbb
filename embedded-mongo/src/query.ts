import { Aggregator, Query, update as mingoUpdate } from 'mingo';
import { Aggregator as BaseAggregator } from 'mingo/aggregator';
import { Context, evalExpr } from 'mingo/core';
import * as accumulatorOps from 'mingo/operators/accumulator';
import * as expressionOps from 'mingo/operators/expression';
import * as pipelineOps from 'mingo/operators/pipeline';
import * as projectionOps from 'mingo/operators/projection';
import * as queryOps from 'mingo/operators/query';
import * as windowOps from 'mingo/operators/window';
import { Query as BaseQuery } from 'mingo/query';
import { type Modifier, update as baseUpdate } from 'mingo/updater';
import { compare, flatten, groupBy, isEqual, resolve } from 'mingo/util';
import { type Collation, collatedEqual, collatorOf, compareStrings, holdsString } from './collation.js';
import { type Collection, type Engine, type Transaction, idKeyOf, newId } from './engine.js';
import { MongoServerError, badValue } from './errors.js';
import { fastGroup } from './group.js';
import { type Index, type StoredRecord } from './indexes.js';
import { compileSchema } from './schema.js';
import { checkReplacementFields, checkUpdatedId } from './storage.js';
import { type Doc, keyOf, retype, toView } from './values.js';

export type { Collation } from './collation.js';

/** What every read needs besides its filter. */
export interface ReadContext {
  engine: Engine;
  txn: Transaction | undefined;
  /** The collation in force (the command's, else the collection's default); undefined for binary comparison. */
  collation?: Collation | undefined;
  /** The command's `let` variables, evaluated (see {@link evaluateLet}). */
  variables?: Doc | undefined;
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
  ['$currentOp', '$currentOp is not supported by the embedded store'],
  ['$search', '$search is not supported by the embedded store'],
]);

// Operators mingo knows that came after MongoDB 7.0, the version the store reports: refused as 7.0 refuses them.
const NEWER = new Map<string, string>([
  ['$sigmoid', "Unrecognized expression '$sigmoid'"],
  ['$minMaxScaler', 'Unrecognized window function, $minMaxScaler'],
]);

/** Throws `BadValue` naming the first refused operator anywhere in `value`. */
export function refuseUnsupported(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) refuseUnsupported(item);
    return;
  }
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return;
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) {
      const reason = REFUSED.get(k);
      if (reason) throw badValue(reason);
      const newer = NEWER.get(k);
      if (newer) throw new MongoServerError('InvalidPipelineOperator', newer);
    }
    refuseUnsupported(v);
  }
}

type QueryOp = (selector: string, value: unknown, options: { collation?: Collation }) => (obj: Doc) => boolean;
type ExpressionOp = (obj: Doc, expr: unknown, options: { collation?: Collation }) => unknown;

/**
 * mingo's operator options. `evalExpr` types them as a whole `Options`; what is passed here is the
 * part that is set (mingo's operators read the rest as absent), hence the widening casts to it.
 */
type MingoOptions = Parameters<typeof evalExpr>[2];

/** The options of an expression evaluated with the collated operators and the given variables. */
const evalOptions = (variables: Doc): MingoOptions => ({ context: COLLATED, scriptEnabled: false, variables }) as Partial<MingoOptions> as MingoOptions;
const QUERY = queryOps as unknown as Record<string, QueryOp>;
const EXPRESSION = expressionOps as unknown as Record<string, ExpressionOp>;

/** The collation an operator runs under: only one with a locale changes anything. */
function collationOf(options: { collation?: Collation } | undefined): Collation | undefined {
  const c = options?.collation;
  return c?.locale ? c : undefined;
}

/** The values a selector reaches, as mingo's own operators read them. */
function reach(obj: Doc, selector: string): unknown {
  return resolve(obj, selector, { unwrapArray: true });
}

/**
 * `$eq` (and the implicit equality of `{ x: 'PING' }`) under a collation, as MongoDB matches: a
 * string compares by the collator, an array field matches when one element does. A value that
 * holds no string, or no collation, is mingo's own operator.
 */
function collatedEq(negate: boolean): QueryOp {
  const builtin = QUERY[negate ? '$ne' : '$eq']!;
  return (selector, value, options) => {
    const collation = collationOf(options);
    if (!collation || !holdsString(value)) return builtin(selector, value, options);
    const depth = selector.split('.').length - 1;
    const eq = (v: unknown) => collatedEqual(collation, v, value);
    return (obj) => {
      const found = reach(obj, selector);
      const hit = eq(found) || (Array.isArray(found) && (found.some(eq) || flatten(found, depth).some(eq)));
      return hit !== negate;
    };
  };
}

/** `$in` and `$nin` under a collation: strings in the list compare by the collator, regular expressions as ever. */
function collatedIn(negate: boolean): QueryOp {
  const builtin = QUERY[negate ? '$nin' : '$in']!;
  return (selector, value, options) => {
    const collation = collationOf(options);
    if (!collation || !Array.isArray(value) || !value.some(holdsString)) return builtin(selector, value, options);
    return (obj) => {
      const found = reach(obj, selector);
      let hit: boolean;
      if (found === undefined || found === null) hit = value.some((v) => v === null);
      else {
        const values = Array.isArray(found) ? [found, ...(found as unknown[])] : [found];
        hit = value.some((v) =>
          v instanceof RegExp ? values.some((x) => typeof x === 'string' && v.test(x)) : values.some((x) => collatedEqual(collation, x, v)),
        );
      }
      return hit !== negate;
    };
  };
}

/** `$all` under a collation: each listed value as an equality of its own (strings by the collator), as MongoDB reads it. */
const collatedAll: QueryOp = (selector, value, options) => {
  const collation = collationOf(options);
  if (!collation || !Array.isArray(value) || !value.some(holdsString)) return QUERY.$all!(selector, value, options);
  const each = value.map((v) =>
    v !== null && typeof v === 'object' && '$elemMatch' in (v as Doc) ? QUERY.$all!(selector, [v], options) : collatedEq(false)(selector, v, options),
  );
  return (obj) => each.length > 0 && each.every((test) => test(obj));
};

/**
 * `$gt`, `$gte`, `$lt` and `$lte` that compare strings with the command's collation, as MongoDB
 * does (mingo applies a collation to `$sort` only): with `{ locale: 'nb' }`, `'Ørsta' < 'Åsnes'`.
 * A string bound matches strings only (type bracketing); any other bound, or no collation, is
 * mingo's own operator.
 */
function collatedRange(name: '$gt' | '$gte' | '$lt' | '$lte', holds: (c: number) => boolean): QueryOp {
  const builtin = QUERY[name]!;
  return (selector, value, options) => {
    const collation = collationOf(options);
    if (typeof value !== 'string' || !collation) return builtin(selector, value, options);
    return (obj) => {
      const found = reach(obj, selector);
      const values = Array.isArray(found) ? found : [found];
      return values.some((v) => typeof v === 'string' && holds(compareStrings(collation, v, value)));
    };
  };
}

/**
 * An aggregation comparison (`$eq`, `$ne`, `$gt`, ..., `$cmp`) under a collation: two strings, or
 * for `$eq`/`$ne` two values holding strings, compare by the collator; anything else is mingo's
 * own operator on the evaluated values.
 */
function collatedCompare(name: string, result: (c: number) => unknown): ExpressionOp {
  const builtin = EXPRESSION[name]!;
  const equality = name === '$eq' || name === '$ne';
  return (obj, expr, options) => {
    const collation = collationOf(options);
    if (!collation || !Array.isArray(expr) || expr.length !== 2) return builtin(obj, expr, options);
    const [a, b] = evalExpr(obj, expr, options as Partial<MingoOptions> as MingoOptions) as [unknown, unknown];
    if (typeof a === 'string' && typeof b === 'string') return result(compareStrings(collation, a, b));
    if (equality && holdsString(a) && holdsString(b)) return result(collatedEqual(collation, a, b) ? 0 : 1);
    return builtin(obj, [{ $literal: a }, { $literal: b }], options);
  };
}

/** The aggregation `$in` under a collation. */
const collatedInExpression: ExpressionOp = (obj, expr, options) => {
  const collation = collationOf(options);
  if (!collation || !Array.isArray(expr) || expr.length !== 2) return EXPRESSION.$in!(obj, expr, options);
  const [item, list] = evalExpr(obj, expr, options as Partial<MingoOptions> as MingoOptions) as [unknown, unknown];
  if (!Array.isArray(list)) return EXPRESSION.$in!(obj, [{ $literal: item }, { $literal: list }], options);
  return list.some((v) => collatedEqual(collation, v, item));
};

// mingo's operators with the collation-aware comparisons; its top-level Query and Aggregator keep
// their own operators first, so reads with a collation or variables use the base classes with this
// context. Each collated operator is mingo's own when no collation is in force.
const COLLATED = Context.init({
  accumulator: accumulatorOps,
  expression: {
    ...expressionOps,
    $eq: collatedCompare('$eq', (c) => c === 0),
    $ne: collatedCompare('$ne', (c) => c !== 0),
    $gt: collatedCompare('$gt', (c) => c > 0),
    $gte: collatedCompare('$gte', (c) => c >= 0),
    $lt: collatedCompare('$lt', (c) => c < 0),
    $lte: collatedCompare('$lte', (c) => c <= 0),
    $cmp: collatedCompare('$cmp', (c) => Math.sign(c)),
    $in: collatedInExpression,
  },
  pipeline: pipelineOps,
  projection: projectionOps,
  window: windowOps,
  query: {
    ...queryOps,
    $eq: collatedEq(false),
    $ne: collatedEq(true),
    $in: collatedIn(false),
    $nin: collatedIn(true),
    $all: collatedAll,
    $gt: collatedRange('$gt', (c) => c > 0),
    $gte: collatedRange('$gte', (c) => c >= 0),
    $lt: collatedRange('$lt', (c) => c < 0),
    $lte: collatedRange('$lte', (c) => c <= 0),
  },
} as unknown as Parameters<typeof Context.init>[0]);

/** `$jsonSchema` in a query, on the query view (numbers as JS numbers: `bsonType` tells int from double by value there). */
export function jsonSchemaValidator(schema: Doc): (obj: Doc) => boolean {
  const check = compileSchema(schema);
  return (obj) => check(obj).length === 0;
}

function mingoOptions(collation: Collation | undefined, variables?: Doc): Record<string, unknown> {
  const options: Record<string, unknown> =
    collation || variables ? { context: COLLATED, scriptEnabled: false, jsonSchemaValidator } : { scriptEnabled: false, jsonSchemaValidator };
  if (collation) options.collation = collation;
  if (variables) options.variables = variables;
  return options;
}

/** A mingo query honouring the collation and the command's variables. */
function newQuery(filter: Doc, collation: Collation | undefined, variables?: Doc): Query {
  const options = mingoOptions(collation, variables);
  return options.context ? new BaseQuery(filter, options) : new Query(filter, options);
}

/** A mingo pipeline honouring the collation (matching, comparisons, `$sort`) and the command's variables. */
function newAggregator(pipeline: Doc[], collation: Collation | undefined, extra: Record<string, unknown> = {}, variables?: Doc): Aggregator {
  const options = { ...mingoOptions(collation, variables), ...extra };
  return options.context ? new BaseAggregator(pipeline, options) : new Aggregator(pipeline, options);
}

/**
 * Evaluates a command's `let` (MongoDB 5.0+): each value an aggregation expression evaluated once,
 * before any document (`{ $literal: 'x' }` is 'x', `'$$NOW'` the time). Names follow MongoDB's rule
 * for user variables: a lowercase letter or a non-ASCII character first, then letters, digits and `_`.
 */
export function evaluateLet(raw: unknown): Doc | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new MongoServerError('TypeMismatch', "BSON field 'let' is the wrong type, expected type 'object'");
  }
  const spec = toView(raw) as Doc;
  const out: Doc = {};
  for (const [name, expr] of Object.entries(spec)) {
    if (name === '') throw badValue('empty variable names are not allowed');
    if (!/^[a-z\u0080-\uffff]/.test(name)) throw badValue(`'${name}' starts with an invalid character for a user variable name`);
    const bad = /[^A-Za-z0-9_\u0080-\uffff]/.exec(name);
    if (bad) throw badValue(`'${name}' contains an invalid character for a variable name: '${bad[0]}'`);
    refuseUnsupported(expr);
    out[name] = mingo(() => evalExpr({}, expr, evalOptions(out)));
  }
  return out;
}

/** Expressions evaluated on one document (`$$ROOT` is it), as a `$merge` stage's `let` is for each document it writes. */
export function evaluateOn(docTyped: Doc, spec: Doc, variables: Doc | undefined): Doc {
  const doc = toView(docTyped) as Doc;
  const exprs = toView(spec) as Doc;
  refuseUnsupported(exprs);
  const out: Doc = {};
  for (const [name, expr] of Object.entries(exprs)) {
    out[name] = mingo(() => evalExpr(doc, expr, evalOptions(variables ?? {})));
  }
  return out;
}

/** Runs a mingo call, turning its errors (unknown operators, bad arguments) into `BadValue`. */
export function mingo<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof MongoServerError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    // mingo words this as MongoDB does; MongoDB's code is 17276.
    if (message.startsWith('Use of undefined variable')) throw new MongoServerError('Location17276', message);
    const stage = /^unregistered pipeline operator (\S+?)\.?$/.exec(message)?.[1];
    if (stage) throw new MongoServerError('Location40324', `Unrecognized pipeline stage name: '${stage}'`);
    const expression = /^accumulator '(\S+)' is not registered/.exec(message)?.[1];
    if (expression) throw new MongoServerError('InvalidPipelineOperator', `Unrecognized expression '${expression}'`);
    throw badValue(message);
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
  if (Array.isArray(ops.$in) && ops.$in.every((v) => !(v instanceof RegExp) && !Array.isArray(v))) return ops.$in as unknown[];
  return undefined;
}

/** How many distinct keys an index may have for a lookup under a collation to go through them (see {@link collatedKeys}). */
const MAX_COLLATED_KEYS = 512;
/** How many full keys a lookup of a compound index may ask (the product of its fields' pinned values). */
const MAX_COMPOUND_KEYS = 256;

/**
 * The keys of `map` (a single-field index, or a compound one's first fields) that hold a value
 * equal to one of `values` under `collation`: a string's key is `s` and the string, and strings
 * equal by the collator may differ in binary, so the index's distinct keys are compared one by one.
 * Undefined when there are too many of them, or a value holds a string inside (a document).
 */
function collatedKeys(map: Map<string, Set<string>>, values: unknown[], collation: Collation): string[] | undefined {
  if (map.size > MAX_COLLATED_KEYS) return undefined;
  const keys: string[] = [];
  const strings: string[] = [];
  for (const v of values) {
    if (typeof v === 'string') strings.push(v);
    else if (holdsString(v)) return undefined;
    else keys.push(keyOf(v));
  }
  for (const k of map.keys()) {
    if (k.charCodeAt(0) !== 115) continue;
    const stored = k.slice(1);
    if (strings.some((v) => compareStrings(collation, stored, v) === 0)) keys.push(k);
  }
  return keys;
}

/** A lookup an index can serve: its keys, in its full keys or its first field's (`prefix`), and about how many records they hold (-1: not counted yet). */
interface Plan {
  index: Index;
  keys: string[];
  prefix: boolean;
  values: unknown[];
  size: number;
}

/** How `index` can narrow `filter`'s candidates, or undefined when it cannot. */
function planFor(index: Index, filter: Doc, collation: Collation | undefined, settled: boolean): Plan | undefined {
  if (index.spec.partialFilterExpression || index.spec.sparse) return undefined;
  const values = pinnedValues(filter[index.fields[0]!]);
  if (!values) return undefined;
  let prefix = index.fields.length > 1;
  let keys: string[] | undefined;
  if (collation && values.some(holdsString)) {
    // Under a collation, strings equal by the collator may differ in binary index keys. The keys
    // gone through are the committed documents' now: only a reader that sees just those can use them.
    if (index.primary || !settled) return undefined;
    keys = collatedKeys(prefix ? index.prefixes : index.entries, values, collation);
    if (!keys) return undefined;
  } else if (prefix) {
    // Every field of a compound index pinned: its full keys, as the index builds them.
    let full: string[] | undefined = values.map(keyOf);
    for (const field of index.fields.slice(1)) {
      const more = pinnedValues(filter[field]);
      if (!more || (collation && more.some(holdsString)) || full.length * more.length > MAX_COMPOUND_KEYS) {
        full = undefined;
        break;
      }
      full = full.flatMap((k) => more.map((v) => `${k}|${keyOf(v)}`));
    }
    if (full) {
      keys = full;
      prefix = false;
    } else keys = values.map(keyOf);
  } else keys = values.map(keyOf);
  return { index, keys, prefix, values, size: -1 };
}

/** About how many records a plan's keys hold (the committed ones). */
function sizeOf(coll: Collection, plan: Plan): number {
  if (plan.size >= 0) return plan.size;
  let size = 0;
  if (plan.index.primary && !plan.prefix) {
    for (const k of plan.keys) if (coll.records.has(k)) size++;
  } else {
    const map = plan.prefix ? plan.index.prefixes : plan.index.entries;
    for (const k of plan.keys) size += map.get(k)?.size ?? 0;
  }
  return (plan.size = size);
}

/**
 * The records that may match `filter`: from the index whose keys the filter pins that holds the
 * fewest records (a single-field index, or a compound one's first field or all its fields, as
 * MongoDB would use them), else all. The index holds committed documents: the sizes only choose,
 * the lookup sees what the reader sees. `exact` is true when the index lookup alone answers the
 * filter: its only field, pinned to strings, numbers or booleans (equality on their index keys is
 * MongoDB's equality), so no record needs testing again.
 */
function candidates(coll: Collection, filter: Doc, ctx: ReadContext, ordered = true): { records: StoredRecord[]; exact: boolean } {
  let best: Plan | undefined;
  const txn = ctx.txn;
  const settled = !txn || ((txn.writes.get(coll)?.size ?? 0) === 0 && coll.history.size === 0);
  for (const index of coll.indexes.values()) {
    const plan = planFor(index, filter, ctx.collation, settled);
    if (!plan) continue;
    if (!best) {
      best = plan;
      continue;
    }
    // The one holding fewer records; of two holding as many, a single-field index over a compound prefix.
    const [size, least] = [sizeOf(coll, plan), sizeOf(coll, best)];
    if (size < least || (size === least && best.prefix && !plan.prefix)) best = plan;
  }
  if (best) {
    const records = ctx.engine.lookup(coll, ctx.txn, best.index, best.keys, best.prefix, ordered);
    const only = Object.keys(filter);
    const plain = (v: unknown) => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    const exact =
      !(ctx.collation && best.values.some(holdsString)) &&
      only.length === 1 &&
      only[0] === best.index.fields[0] &&
      (best.prefix || best.index.fields.length === 1) &&
      best.values.every(plain);
    return { records, exact };
  }
  return { records: ctx.engine.scan(coll, ctx.txn), exact: false };
}

/** A string, a finite number or a boolean: what {@link simpleTest} compares. */
function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * The commonest filter's test without mingo: top-level fields (no dots, no operators beside them),
 * each equal to a scalar ({@link isScalar}) or `$in` a list of them. The same answer as mingo's
 * `$eq` and `$in` (and the collated ones: strings by the collator) for a document whose field is no
 * array; for one that has an array there it answers undefined, and mingo decides.
 */
function simpleTest(filter: Doc, collation: Collation | undefined): ((view: Doc) => boolean | undefined) | undefined {
  const conditions: [string, unknown[]][] = [];
  for (const field of Object.keys(filter)) {
    if (field.startsWith('$') || field.includes('.') || field in Object.prototype) return undefined;
    const cond = filter[field];
    let values: unknown[];
    if (isScalar(cond)) values = [cond];
    else if (cond !== null && typeof cond === 'object' && Object.getPrototypeOf(cond) === Object.prototype) {
      const ops = Object.keys(cond);
      const operand = (cond as Doc)[ops[0]!];
      if (ops.length !== 1) return undefined;
      if (ops[0] === '$eq' && isScalar(operand)) values = [operand];
      else if (ops[0] === '$in' && Array.isArray(operand) && operand.every(isScalar)) values = operand;
      else return undefined;
    } else return undefined;
    conditions.push([field, values]);
  }
  const c = collation?.locale ? collation : undefined;
  // A long list is a set (its equality, SameValueZero, is `===` for these values): not under a collation.
  const sets = c ? undefined : conditions.map(([, values]) => (values.length > 8 ? new Set(values) : undefined));
  return (view) => {
    for (let i = 0; i < conditions.length; i++) {
      const [field, values] = conditions[i]!;
      const v = view[field];
      if (Array.isArray(v)) return undefined;
      const set = sets?.[i];
      if (set) {
        if (!set.has(v)) return false;
        continue;
      }
      let hit = false;
      for (const x of values) {
        if (v === x || (c && typeof v === 'string' && typeof x === 'string' && compareStrings(c, v, x) === 0)) {
          hit = true;
          break;
        }
      }
      if (!hit) return false;
    }
    return true;
  };
}

/** The records matching `filter` (typed), in natural order (any order when `ordered` is false). */
export function match(coll: Collection | undefined, filterTyped: Doc | undefined, ctx: ReadContext, ordered = true): StoredRecord[] {
  if (!coll) return [];
  const filter = (toView(filterTyped ?? {}) as Doc) ?? {};
  refuseUnsupported(filter);
  const { records: all, exact } = candidates(coll, filter, ctx, ordered);
  if (Object.keys(filter).length === 0 || exact) return all;
  const simple = simpleTest(filter, ctx.collation);
  let query: Query | undefined;
  const out: StoredRecord[] = [];
  for (let i = 0; i < all.length; i++) {
    if ((i & 1023) === 0) checkDeadline(ctx.deadline);
    const rec = all[i]!;
    let hit = simple?.(rec.view);
    if (hit === undefined) {
      query ??= mingo(() => newQuery(filter, ctx.collation, ctx.variables));
      const q = query;
      hit = mingo(() => q.test(rec.view));
    }
    if (hit) out.push(rec);
  }
  // An invalid filter is refused even when no record was tested.
  if (!simple && !query) mingo(() => newQuery(filter, ctx.collation, ctx.variables));
  checkDeadline(ctx.deadline);
  return out;
}

/**
 * Sorts records by a sort spec, honouring the collation (`nb`: Æ, Ø, Å after Z). This is mingo's
 * `$sort` (a stable pass per field, last first: equal values grouped, the groups ordered) run on
 * the records themselves, with the collation's collator made once: mingo makes one per sort, which
 * costs more than sorting a page.
 */
export function sortRecords(records: StoredRecord[], sort: Doc | undefined, ctx: ReadContext): StoredRecord[] {
  if (!sort || Object.keys(sort).length === 0) return records;
  const spec = toView(sort) as Doc;
  const collator = ctx.collation?.locale ? collatorOf(ctx.collation) : undefined;
  const cmp = collator ? (a: unknown, b: unknown) => (typeof a === 'string' && typeof b === 'string' ? collator.compare(a, b) : compare(a, b)) : compare;
  const out = records.slice();
  mingo(() => {
    for (const key of Object.keys(spec).reverse()) {
      const groups = groupBy<StoredRecord, unknown>(out, (r) => resolve(r.view, key));
      const keys = Array.from(groups.keys());
      let sorted = false;
      if (!collator) {
        const strings = keys.every((k) => typeof k === 'string');
        const numbers = !strings && keys.every((k) => typeof k === 'number' && !Number.isNaN(k));
        if (strings) keys.sort();
        else if (numbers) {
          const values = new Float64Array(keys as number[]).sort();
          for (let i = 0; i < values.length; i++) keys[i] = values[i];
        }
        sorted = strings || numbers;
      }
      if (!sorted) keys.sort(cmp);
      if (spec[key] === -1) keys.reverse();
      let i = 0;
      for (const k of keys) for (const r of groups.get(k)!) out[i++] = r;
    }
  });
  checkDeadline(ctx.deadline);
  return out;
}

/** Applies a find projection to a stored record, keeping every number's BSON type. */
export function project(rec: StoredRecord, projection: Doc | undefined, filter: Doc | undefined, variables?: Doc): Doc {
  if (!projection || Object.keys(projection).length === 0) return rec.doc;
  const spec = toView(projection) as Doc;
  refuseUnsupported(spec);
  const [out] = mingo(
    () =>
      newQuery((toView(filter ?? {}) as Doc) ?? {}, undefined, variables)
        .find([toView(rec.view) as Doc], spec)
        .all() as Doc[],
  );
  return retype(out, [rec.doc]) as Doc;
}

const IN_PLACE_STAGES = new Set(['$match', '$sort', '$skip', '$limit', '$count', '$group']);

/** Where a pipeline sits, for the stages that may stand only in some places ($out, $merge, $documents). */
type PipelinePlace = 'collection' | 'collectionless' | 'view' | '$facet' | '$lookup' | '$unionWith';

const WRITE_STAGE_REFUSED: Record<'$facet' | '$lookup' | '$unionWith', ['Location40600' | 'Location51047' | 'Location31441', string]> = {
  $facet: ['Location40600', 'is not allowed to be used within a $facet stage'],
  $lookup: ['Location51047', "is not allowed within a $lookup's sub-pipeline"],
  $unionWith: ['Location31441', "is not allowed within a $unionWith's sub-pipeline"],
};

/**
 * Refuses, as MongoDB 7.0 does, a stage where it may not stand: `$out` and `$merge` anywhere but
 * last in the command's own pipeline (the caller takes that one off first, so any left is misplaced),
 * `$documents` anywhere but first in a collectionless pipeline (which comes without its first stage)
 * or a sub-pipeline.
 */
export function checkStagePlaces(pipeline: unknown, place: PipelinePlace): void {
  if (!Array.isArray(pipeline)) return;
  pipeline.forEach((stage: unknown, i) => {
    if (stage === null || typeof stage !== 'object') return;
    const name = Object.keys(stage)[0] ?? '';
    const spec = (stage as Doc)[name];
    if (name === '$out' || name === '$merge') {
      if (place === 'view') {
        throw new MongoServerError(
          'OptionNotSupportedOnView',
          `The aggregation stage ${name} in location ${i} of the pipeline cannot be used in the view definition because it writes to disk`,
        );
      }
      const refused = place === 'collection' || place === 'collectionless' ? undefined : WRITE_STAGE_REFUSED[place];
      if (refused) throw new MongoServerError(refused[0], `${name} ${refused[1]}`);
      throw new MongoServerError('Location40601', `${name} can only be the final stage in the pipeline`);
    }
    if (name === '$documents') {
      if (i === 0 && place === 'collection') throw new MongoServerError('InvalidNamespace', "'$documents' can only be run with {aggregate: 1}");
      // A collectionless pipeline comes here without its first stage.
      if (i > 0 || place === 'collectionless') throw new MongoServerError('Location40602', '$documents is only valid as the first stage in a pipeline');
    }
    if (spec === null || typeof spec !== 'object') return;
    if (name === '$facet') for (const sub of Object.values(spec as Doc)) checkStagePlaces(sub, '$facet');
    if (name === '$lookup') checkStagePlaces((spec as Doc).pipeline, '$lookup');
    if (name === '$unionWith') checkStagePlaces((spec as Doc).pipeline, '$unionWith');
  });
}

/**
 * The documents of a `$documents` stage (MongoDB 5.1+): its expression evaluated once (`let`
 * variables, `$$NOW`), an array of objects; literal values keep their BSON types.
 */
export function documentsOf(exprTyped: unknown, variables: Doc | undefined): Doc[] {
  const expr = toView(exprTyped);
  refuseUnsupported(expr);
  const value = mingo(() => evalExpr({}, expr, evalOptions(variables ?? {})));
  if (!Array.isArray(value)) throw new MongoServerError('Location5858203', 'error during $documents stage evaluation: it must evaluate to an array of objects');
  return value.map((doc, i) => {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      throw new MongoServerError('Location40228', `'newRoot' expression must evaluate to an object, but resulting value was: ${JSON.stringify(doc)}`);
    }
    return retype(doc, Array.isArray(exprTyped) ? [exprTyped[i]] : []) as Doc;
  });
}

/**
 * Runs an aggregation pipeline over a collection, or over `source` (typed documents: a
 * collectionless aggregate's first stage); `$lookup` reads collections of the same database.
 */
export function aggregate(collOrView: Collection | undefined, db: string, pipelineTyped: Doc[], ctx: ReadContext, source?: Doc[]): Doc[] {
  // A view runs as its pipeline over its source (a view on a view too), then the command's stages.
  let coll = collOrView;
  let full = pipelineTyped;
  for (let depth = 0; coll && typeof coll.options.viewOn === 'string'; depth++) {
    if (depth >= 20) throw new MongoServerError('ViewDepthLimitExceeded', `View depth too deep or view cycle detected; maximum depth is 20`);
    full = [...((coll.options.pipeline as Doc[] | undefined) ?? []), ...full];
    coll = ctx.engine.collection(db, coll.options.viewOn);
  }
  const pipeline = toView(full) as Doc[];
  refuseUnsupported(pipeline);
  checkStagePlaces(pipeline, source ? 'collectionless' : 'collection');
  const first = source ? undefined : (pipeline[0]?.$match as Doc | undefined);
  const rest = first ? pipeline.slice(1) : pipeline;
  // A $group next (after an optional $unwind) makes no promise about order: the match need not sort.
  const groupNext = rest[0]?.$group !== undefined || (rest[0]?.$unwind !== undefined && rest[1]?.$group !== undefined);
  let records = source
    ? source.map((doc, i): StoredRecord => ({ id: doc._id !== undefined ? idKeyOf(doc) : `\0${i}`, doc, view: toView(doc) as Doc, seq: i, version: 0 }))
    : coll
      ? first
        ? match(coll, first, ctx, !groupNext)
        : ctx.engine.scan(coll, ctx.txn)
      : [];
  // The commonest shape ($unwind and $group with sums) runs natively: it only reads the views.
  const grouped = fastGroup(
    rest,
    records.map((r) => r.view),
  );
  if (grouped) {
    checkDeadline(ctx.deadline);
    return grouped.map((out) => retype(out, []) as Doc);
  }
  // Stages that build new documents may write into their input: give them copies, never the stored views.
  const inPlace = rest.every((stage) => IN_PLACE_STAGES.has(Object.keys(stage)[0] ?? ''));
  const input = records.map((r) => (inPlace ? r.view : (toView(r.view) as Doc)));
  const resolver = (name: string): Doc[] => {
    const other = ctx.engine.collection(db, name);
    if (typeof other?.options.viewOn === 'string') return aggregate(other, db, [], { ...ctx, collation: undefined }).map((d) => toView(d) as Doc);
    return other ? ctx.engine.scan(other, ctx.txn).map((r) => toView(r.view) as Doc) : [];
  };
  const output = mingo(() => newAggregator(rest, ctx.collation, { collectionResolver: resolver }, ctx.variables).run<Doc>(input));
  checkDeadline(ctx.deadline);
  const byView = new Map<Doc, StoredRecord>();
  const byId = new Map<string, StoredRecord>();
  for (let i = 0; i < records.length; i++) byView.set(input[i]!, records[i]!);
  // Let the matched records go before the output is mapped (a large scan need not be held twice).
  // eslint-disable-next-line no-useless-assignment
  records = [];
  return output.map((out) => {
    const same = byView.get(out);
    if (same) return same.doc;
    if (byId.size === 0 && byView.size > 0) for (const rec of byView.values()) byId.set(rec.id, rec);
    const from = out._id !== undefined ? byId.get(keyOf(out._id)) : undefined;
    return retype(out, from ? [from.doc] : []) as Doc;
  });
}

/** What an update statement asks for, as `update` and `findAndModify` receive it. */
export interface UpdateSpec {
  u: Doc | Doc[];
  arrayFilters?: Doc[] | undefined;
  /** The statement's collation: `$pull` conditions, `arrayFilters` and a pipeline's comparisons honour it. */
  collation?: Collation | undefined;
  /** The command's `let` variables (and a statement's constants `c`), for a pipeline update. */
  variables?: Doc | undefined;
}

/** The stages MongoDB runs in a pipeline update. */
const UPDATE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith']);
/** The other stages MongoDB 7.0 knows: refused in an update as not allowed there, where an unknown name is unrecognised. */
const OTHER_STAGES = new Set([
  '$bucket',
  '$bucketAuto',
  '$changeStream',
  '$collStats',
  '$count',
  '$currentOp',
  '$densify',
  '$documents',
  '$facet',
  '$fill',
  '$geoNear',
  '$graphLookup',
  '$group',
  '$indexStats',
  '$limit',
  '$listLocalSessions',
  '$listSessions',
  '$lookup',
  '$match',
  '$merge',
  '$out',
  '$planCacheStats',
  '$redact',
  '$sample',
  '$search',
  '$searchMeta',
  '$setWindowFields',
  '$skip',
  '$sort',
  '$sortByCount',
  '$unionWith',
  '$unwind',
]);

// First stages of a collectionless aggregate ({ aggregate: 1 }) MongoDB 7.0 has and the store does not.
const COLLECTIONLESS_REFUSED = new Set([
  '$currentOp',
  '$changeStream',
  '$listCachedAndActiveUsers',
  '$listCatalog',
  '$listSampledQueries',
  '$shardedDataDistribution',
]);

/**
 * The documents a collectionless aggregate's first stage produces: `$documents`, and
 * `$listLocalSessions` (from `localSessions`); other stages that need no collection are refused as
 * not in the store, and those that need one as MongoDB refuses them (73).
 */
export function collectionlessSource(stage: Doc | undefined, variables: Doc | undefined, localSessions: () => Doc[]): Doc[] {
  if (!stage) throw new MongoServerError('InvalidNamespace', '{aggregate: 1} is not valid for an empty pipeline.');
  const name = Object.keys(stage)[0] ?? '';
  const spec = stage[name];
  if (name === '$documents') return documentsOf(spec, variables);
  if (name === '$listLocalSessions') {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
      throw new MongoServerError('TypeMismatch', '$listLocalSessions options must be specified in an object');
    }
    for (const key of Object.keys(spec)) {
      if (key !== 'allUsers' && key !== 'users') throw new MongoServerError('Location40415', `BSON field '$listLocalSessions.${key}' is an unknown field.`);
    }
    // Without authentication no session belongs to a named user.
    return (spec as Doc).users !== undefined ? [] : localSessions();
  }
  if (COLLECTIONLESS_REFUSED.has(name)) throw badValue(`${name} is not supported by the embedded store`);
  if (UPDATE_STAGES.has(name) || OTHER_STAGES.has(name)) {
    throw new MongoServerError('InvalidNamespace', `{aggregate: 1} is not valid for '${name}'; a collection is required.`);
  }
  throw new MongoServerError('Location40324', `Unrecognized pipeline stage name: '${name}'`);
}

/** Refuses a pipeline update as MongoDB does: one stage per element, among {@link UPDATE_STAGES}. */
function checkUpdatePipeline(u: unknown[]): void {
  for (const stage of u) {
    if (stage === null || typeof stage !== 'object' || Array.isArray(stage)) {
      throw new MongoServerError('TypeMismatch', "Each element of the 'pipeline' array must be an object");
    }
    const names = Object.keys(stage);
    if (names.length !== 1) throw new MongoServerError('Location40323', 'A pipeline stage specification object must contain exactly one field.');
    const name = names[0]!;
    if (UPDATE_STAGES.has(name)) continue;
    if (OTHER_STAGES.has(name)) throw new MongoServerError('InvalidOptions', `${name} is not allowed to be used within an update`);
    throw new MongoServerError('Location40324', `Unrecognized pipeline stage name: '${name}'`);
  }
}

/** The update operators of MongoDB 7.0: an operator update holds these alone. */
const UPDATE_OPERATORS = new Set([
  '$currentDate',
  '$inc',
  '$min',
  '$max',
  '$mul',
  '$rename',
  '$set',
  '$setOnInsert',
  '$unset',
  '$addToSet',
  '$pop',
  '$pull',
  '$push',
  '$pullAll',
  '$bit',
]);

/** Whether `u` is an operator update: as MongoDB reads it, its first field decides (`{ a: 1, $b: 1 }` is a replacement). */
export function isOperatorUpdate(u: Doc | Doc[]): boolean {
  return !Array.isArray(u) && (Object.keys(u)[0]?.startsWith('$') ?? false);
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
    checkUpdatePipeline(u);
    const pipeline = toView(u) as Doc[];
    refuseUnsupported(pipeline);
    view = mingo(() => newAggregator(pipeline, spec.collation, {}, spec.variables).run([toView(doc) as Doc])[0] as Doc);
    // MongoDB keeps the original _id when the pipeline drops it ($replaceRoot, $project: { _id: 0 }, $unset: '_id').
    if (doc._id !== undefined && view._id === undefined) view = { _id: toView(doc._id), ...view };
    sources = [doc];
  } else if (isOperatorUpdate(u)) {
    for (const op of Object.keys(u)) {
      if (!UPDATE_OPERATORS.has(op)) {
        throw new MongoServerError('FailedToParse', `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
      }
    }
    const { $setOnInsert, ...rest } = u;
    const modifier = toView(insert && $setOnInsert ? { ...rest, $set: { ...(rest.$set as Doc), ...($setOnInsert as Doc) } } : rest) as Doc;
    refuseUnsupported(modifier);
    view = toView(doc) as Doc;
    if (insert) assignId(modifier, view);
    else guardId(modifier, view._id);
    const condition = filter ? (toView(filter) as Doc) : undefined;
    if (Object.keys(modifier).length > 0 && (spec.arrayFilters !== undefined || !simpleUpdate(view, modifier, condition, spec.collation))) {
      const arrayFilters = spec.arrayFilters ? (toView(spec.arrayFilters) as Doc[]) : undefined;
      mingo(() =>
        spec.collation
          ? baseUpdate(view, modifier as Modifier<Doc>, arrayFilters, condition, { cloneMode: 'none', queryOptions: mingoOptions(spec.collation) })
          : mingoUpdate(view, modifier as Modifier<Doc>, arrayFilters, condition, { cloneMode: 'none' }),
      );
    }
    sources = [assignedShape(u), doc];
  } else {
    // Dotted and nested `$`-prefixed field names are data since MongoDB 5.0.
    if (!insert) checkReplacementFields(u);
    // An upsert checks the immutable _id before the document's storage rules: an array is this error, not 53.
    else if (Array.isArray(u._id)) {
      throw new MongoServerError(
        'NotSingleValueField',
        "After applying the update to the document, the (immutable) field '_id' was found to be an array or array descendant.",
      );
    }
    view = doc._id !== undefined ? { _id: toView(doc._id), ...(toView(u) as Doc) } : (toView(u) as Doc);
    sources = [u, doc];
  }
  const typed = retype(view, sources) as Doc;
  checkUpdatedId(typed._id);
  if (doc._id !== undefined && keyOf(toView(typed._id)) !== keyOf(toView(doc._id))) {
    throw new MongoServerError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  const { _id, ...others } = typed;
  // An upsert's `_id: null` (from its filter or replacement) stays null, as in MongoDB.
  return { _id: _id === undefined ? newId() : _id, ...others };
}

/**
 * The commonest operator update without mingo: `$set`, `$inc` and `$unset` of top-level fields,
 * each named once, on a document the filter matches ({@link simpleTest}; mingo's update changes
 * only such a one). Applies it to `view` as mingo's operators do and returns true; returns false,
 * having changed nothing, for anything else (mingo then applies it, or refuses it).
 */
function simpleUpdate(view: Doc, modifier: Doc, condition: Doc | undefined, collation: Collation | undefined): boolean {
  const seen = new Set<string>();
  for (const op of Object.keys(modifier)) {
    if (op !== '$set' && op !== '$inc' && op !== '$unset') return false;
    const fields = modifier[op];
    if (fields === null || typeof fields !== 'object' || Object.getPrototypeOf(fields) !== Object.prototype) return false;
    for (const field of Object.keys(fields)) {
      if (field === '' || field === '_id' || field.includes('.') || field.startsWith('$') || field in Object.prototype || seen.has(field)) return false;
      seen.add(field);
      if (op !== '$inc') continue;
      // mingo refuses an amount that is no number, and leaves alone a field that holds none.
      const amount = (fields as Doc)[field];
      const current = view[field];
      if (typeof amount !== 'number' || Number.isNaN(amount)) return false;
      if (current !== undefined && (typeof current !== 'number' || Number.isNaN(current))) return false;
    }
  }
  if (condition && Object.keys(condition).length > 0 && simpleTest(condition, collation)?.(view) !== true) return false;
  for (const op of Object.keys(modifier)) {
    const fields = modifier[op] as Doc;
    for (const field of Object.keys(fields)) {
      const value = fields[field];
      if (op === '$set') {
        if (!isEqual(view[field], value)) view[field] = value;
      } else if (op === '$inc') view[field] = ((view[field] as number) || 0) + (value as number);
      else delete view[field];
    }
  }
  return true;
}

/** An upsert's `$set` (or `$setOnInsert`) of `_id` gives the new document its `_id`, as in MongoDB (mingo refuses any `_id` path). */
function assignId(modifier: Doc, view: Doc): void {
  const fields = modifier.$set as Doc | undefined;
  if (!fields) return;
  for (const path of Object.keys(fields)) {
    if (path !== '_id' && !path.startsWith('_id.')) continue;
    // An _id the filter pinned is immutable already.
    if (view._id !== undefined && (path !== '_id' || keyOf(view._id) !== keyOf(fields[path]))) {
      throw new MongoServerError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
    }
    setPath(view, path, fields[path]);
    delete fields[path];
  }
}

/** Refuses an operator that would change `_id`; setting it to the value it has is a no-op, as in MongoDB. */
function guardId(modifier: Doc, id: unknown): void {
  for (const [op, fields] of Object.entries(modifier)) {
    if (fields === null || typeof fields !== 'object') continue;
    for (const path of Object.keys(fields)) {
      if (path !== '_id' && !path.startsWith('_id.')) continue;
      if (op === '$set' && path === '_id' && keyOf((fields as Doc)[path]) === keyOf(id)) {
        delete (fields as Doc)[path];
        continue;
      }
      throw new MongoServerError('ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
    }
  }
}

/** The document an upsert starts from: the filter's equality conditions, laid out at their paths. */
export function upsertSeed(filter: Doc | undefined): Doc {
  const seed: Doc = {};
  const visit = (f: Doc): void => {
    for (const [k, v] of Object.entries(f)) {
      if (k === '$and' && Array.isArray(v)) for (const part of v) visit(part as Doc);
      if (k.startsWith('$') || v instanceof RegExp) continue;
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
