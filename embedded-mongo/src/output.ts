import { calculateObjectSize } from 'bson';
import { type Collection, Engine, type Op, idKeyOf, newId, readPath } from './engine.js';
import { type ErrorCodeName, MongoServerError, badValue } from './errors.js';
import { applyUpdate, evaluateOn, match } from './query.js';
import { checkInsertId, checkUpdatedId } from './storage.js';
import { validatorFor } from './validation.js';
import { type Doc, asText, keyOf, toView } from './values.js';

// The aggregation stages that write their results, `$out` and `$merge`, as MongoDB 7.0 runs them
// on a replica set: the pipeline's results are computed first, then written here.

type WhenMatched = 'replace' | 'keepExisting' | 'merge' | 'fail' | Doc[];
type WhenNotMatched = 'insert' | 'discard' | 'fail';

/** A parsed `$out` or `$merge` stage, with its target namespace resolved. */
export type OutputStage =
  | { stage: '$out'; db: string; coll: string }
  | { stage: '$merge'; db: string; coll: string; on: string[]; whenMatched: WhenMatched; whenNotMatched: WhenNotMatched; let: Doc | undefined };

/** How a write stage runs: `bypassDocumentValidation` and the command's `let` variables (for a `whenMatched` pipeline). */
export interface OutputOptions {
  bypass: boolean;
  variables: Doc | undefined;
}

const WHEN_MATCHED = new Set(['replace', 'keepExisting', 'merge', 'fail']);
const WHEN_NOT_MATCHED = new Set(['insert', 'discard', 'fail']);
// The pairs MongoDB 7.0 runs; the others are 51181.
const SUPPORTED_MODES = new Set([
  'replace/insert',
  'replace/fail',
  'replace/discard',
  'merge/insert',
  'merge/fail',
  'merge/discard',
  'keepExisting/insert',
  'fail/insert',
  'pipeline/insert',
  'pipeline/fail',
  'pipeline/discard',
]);
const INTERNAL_DBS = new Set(['admin', 'config', 'local']);
/** A journal record stays well under BSON's 16 MB: a large `$out` is written as several. */
const RECORD_BYTES = 8 * 1024 * 1024;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return (v as { _bsontype?: string })._bsontype?.toLowerCase() ?? 'object';
  return typeof v === 'number' ? 'double' : typeof v === 'boolean' ? 'bool' : typeof v;
}

function isPlain(v: unknown): v is Doc {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

/** Refuses fields a stage's IDL does not know, and a missing required one, with MongoDB's IDL errors. */
function checkFields(stage: string, spec: Doc, known: string[], required: string[]): void {
  for (const key of Object.keys(spec)) {
    if (!known.includes(key)) throw new MongoServerError('Location40415', `BSON field '${stage}.${key}' is an unknown field.`);
  }
  for (const key of required) {
    if (spec[key] === undefined) throw new MongoServerError('Location40414', `BSON field '${stage}.${key}' is missing but a required field`);
  }
}

function checkNamespace(stage: '$out' | '$merge', db: unknown, coll: unknown): { db: string; coll: string } {
  if (typeof db !== 'string' || typeof coll !== 'string') {
    throw new MongoServerError('TypeMismatch', `${stage} target database and collection names must be strings`);
  }
  const ns = `${db}.${coll}`;
  if (db === '' || /[/\\. "$\0]/.test(db) || coll === '' || coll.includes('$') || coll.includes('\0')) {
    throw new MongoServerError('InvalidNamespace', `Invalid ${stage} target namespace: '${ns}'`);
  }
  const [special, internal]: [ErrorCodeName, ErrorCodeName] = stage === '$out' ? ['Location17385', 'Location31321'] : ['Location31319', 'Location31320'];
  const verb = stage === '$out' ? "Can't" : 'Cannot';
  if (coll.startsWith('system.')) throw new MongoServerError(special, `${verb} ${stage} to special collection: ${coll}`);
  if (INTERNAL_DBS.has(db)) throw new MongoServerError(internal, `${verb} ${stage} to internal database: ${db}`);
  return { db, coll };
}

function parseOut(spec: unknown, db: string): OutputStage {
  if (typeof spec === 'string') return { stage: '$out', ...checkNamespace('$out', db, spec) };
  if (!isPlain(spec)) throw new MongoServerError('TypeMismatch', `$out requires a string or object argument, but found ${typeName(spec)}`);
  if (spec.timeseries !== undefined) {
    throw new MongoServerError('CommandNotSupported', '$out to a time series collection is not supported by the embedded store');
  }
  checkFields('$out', spec, ['db', 'coll', 'timeseries'], ['db', 'coll']);
  return { stage: '$out', ...checkNamespace('$out', spec.db, spec.coll) };
}

function parseMerge(spec: unknown, db: string): OutputStage {
  if (typeof spec === 'string') {
    return { stage: '$merge', ...checkNamespace('$merge', db, spec), on: ['_id'], whenMatched: 'merge', whenNotMatched: 'insert', let: undefined };
  }
  if (!isPlain(spec)) throw new MongoServerError('TypeMismatch', `$merge requires a string or object argument, but found ${typeName(spec)}`);
  checkFields('$merge', spec, ['into', 'on', 'let', 'whenMatched', 'whenNotMatched', 'targetCollectionVersion'], ['into']);
  const into = spec.into;
  const target = isPlain(into) ? checkNamespace('$merge', into.db ?? db, into.coll) : checkNamespace('$merge', db, into);
  const rawOn = spec.on ?? '_id';
  const on = typeof rawOn === 'string' ? [rawOn] : rawOn;
  if (!Array.isArray(on) || on.length === 0 || !on.every((f) => typeof f === 'string' && f !== '')) {
    throw new MongoServerError('TypeMismatch', "BSON field '$merge.on' must be a string or a non-empty array of strings");
  }
  const seen = new Set<string>();
  for (const f of on as string[]) {
    if (seen.has(f)) throw new MongoServerError('Location31465', `Found a duplicate field '${f}'`);
    seen.add(f);
  }
  const whenMatched = spec.whenMatched ?? 'merge';
  if (!Array.isArray(whenMatched) && !WHEN_MATCHED.has(whenMatched as string)) {
    throw badValue(`Enumeration value '${asText(whenMatched)}' for field '$merge.whenMatched' is not a valid value.`);
  }
  const whenNotMatched = spec.whenNotMatched ?? 'insert';
  if (!WHEN_NOT_MATCHED.has(whenNotMatched as string)) {
    throw badValue(`Enumeration value '${asText(whenNotMatched)}' for field '$merge.whenNotMatched' is not a valid value.`);
  }
  const matchedName = Array.isArray(whenMatched) ? 'pipeline' : (whenMatched as string);
  if (!SUPPORTED_MODES.has(`${matchedName}/${asText(whenNotMatched)}`)) {
    throw new MongoServerError(
      'Location51181',
      `Combination of $merge modes 'whenMatched: ${matchedName}' and 'whenNotMatched: ${asText(whenNotMatched)}' is not supported`,
    );
  }
  const letSpec = spec.let;
  if (letSpec !== undefined && !Array.isArray(whenMatched)) {
    throw new MongoServerError('Location51199', `Cannot use 'let' variables with 'whenMatched: ${matchedName}' mode`);
  }
  if (letSpec !== undefined && !isPlain(letSpec)) {
    throw new MongoServerError('TypeMismatch', "BSON field '$merge.let' is the wrong type, expected type 'object'");
  }
  if (letSpec?.new !== undefined && letSpec.new !== '$$ROOT') {
    throw new MongoServerError('Location51273', "'let' may not define a value for the reserved 'new' variable other than '$$ROOT'");
  }
  return {
    stage: '$merge',
    ...target,
    on: on as string[],
    whenMatched: whenMatched as WhenMatched,
    whenNotMatched: whenNotMatched as WhenNotMatched,
    let: Array.isArray(whenMatched) ? { new: '$$ROOT', ...letSpec } : undefined,
  };
}

/** Takes a pipeline's final `$out` or `$merge` off, parsed; the stages before it run as any aggregation. */
export function takeOutputStage(pipeline: Doc[], db: string): { stages: Doc[]; output: OutputStage | undefined } {
  const last = pipeline[pipeline.length - 1];
  const name = last && typeof last === 'object' ? Object.keys(last)[0] : undefined;
  if (name !== '$out' && name !== '$merge') return { stages: pipeline, output: undefined };
  const output = name === '$out' ? parseOut(last![name], db) : parseMerge(last![name], db);
  return { stages: pipeline.slice(0, -1), output };
}

/** Writes an aggregation's results (typed documents) as its `$out` or `$merge` stage asks. */
export function writeOutput(engine: Engine, output: OutputStage, docs: Doc[], options: OutputOptions): void {
  const existing = engine.collection(output.db, output.coll);
  if (typeof existing?.options.viewOn === 'string') {
    throw new MongoServerError('CommandNotSupportedOnView', `Namespace ${output.db}.${output.coll} is a view, not a collection`);
  }
  if (output.stage === '$out') writeOut(engine, output, existing, docs, options);
  else writeMerge(engine, output, existing, docs, options);
}

/**
 * `$out`: the target replaced at once by the results, keeping its options (validator, collation)
 * and indexes. Everything is checked before anything changes (duplicate keys, `_id` rules, the
 * validator), so a failure leaves the target as it was, as in MongoDB.
 */
function writeOut(engine: Engine, output: OutputStage, existing: Collection | undefined, docs: Doc[], options: OutputOptions): void {
  const { db, coll } = output;
  const collOptions: Doc = existing ? { ...existing.options } : {};
  const specs = existing ? [...existing.indexes.values()].filter((i) => i.name !== '_id_').map((i) => i.spec) : [];
  const validate = validatorFor(collOptions, options.bypass);
  // A scratch engine holding the new contents finds duplicate keys as the target's indexes would.
  const probe = new Engine();
  probe.apply({ t: 'create', db, c: coll, o: {} }, false);
  for (const s of specs) probe.apply({ t: 'index', db, c: coll, s }, false);
  const target = probe.collection(db, coll)!;
  const puts: Op[] = [];
  for (const given of docs) {
    const doc = idFirst(given);
    checkInsertId(doc._id);
    validate?.(doc, undefined);
    const id = idKeyOf(doc);
    // A second document with the same _id collides with the first (checkUnique skips the id it is given).
    probe.checkUnique(target, undefined, probe.effective(target, undefined, id) ? `${id}\0new` : id, toView(doc) as Doc);
    probe.apply({ t: 'put', db, c: coll, d: doc }, false);
    puts.push({ t: 'put', db, c: coll, d: doc });
  }
  const head: Op[] = [];
  if (existing) head.push({ t: 'drop', db, c: coll });
  head.push({ t: 'create', db, c: coll, o: collOptions });
  for (const s of specs) head.push({ t: 'index', db, c: coll, s });
  engine.tick();
  // One journal record when it fits (the usual case: atomic on disk too), else several.
  let batch = head;
  let bytes = 0;
  for (const put of puts) {
    const size = calculateObjectSize((put as { d: Doc }).d);
    if (bytes + size > RECORD_BYTES && batch.length > 0) {
      engine.apply({ t: 'batch', ops: batch });
      batch = [];
      bytes = 0;
    }
    batch.push(put);
    bytes += size;
  }
  if (batch.length > 0) engine.apply({ t: 'batch', ops: batch });
}

/** The document as an insert stores it: `_id` first, a new ObjectId when it has none (`null` stays). */
function idFirst(given: Doc): Doc {
  const { _id = newId(), ...rest } = given;
  return { _id, ...rest };
}

/** Inserts one document as an insert would: an `_id` already there is a duplicate key, never an overwrite. */
function insertOne(engine: Engine, coll: Collection, doc: Doc): void {
  const id = idKeyOf(doc);
  if (engine.effective(coll, undefined, id)) engine.checkUnique(coll, undefined, `${id}\0new`, toView(doc) as Doc);
  engine.write(coll, undefined, id, doc);
}

function sameFields(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((f) => b.includes(f));
}

/**
 * `$merge`: each result matched to a target document by its `on` fields (a unique index on them,
 * `_id` by default) and written as `whenMatched` / `whenNotMatched` say, one write at a time: as
 * in MongoDB, a failure leaves the writes before it in place.
 */
function writeMerge(engine: Engine, output: OutputStage & { stage: '$merge' }, existing: Collection | undefined, docs: Doc[], options: OutputOptions): void {
  const { db, coll: name, on, whenMatched, whenNotMatched } = output;
  const onId = on.length === 1 && on[0] === '_id';
  if (!onId && ![...(existing?.indexes.values() ?? [])].some((i) => i.unique && !i.spec.partialFilterExpression && sameFields(i.fields, on))) {
    throw new MongoServerError('Location51183', 'Cannot find index to verify that join fields will be unique');
  }
  let coll = existing;
  const collection = (): Collection => (coll ??= engine.ensureCollection(db, name));
  for (const given of docs) {
    // As MongoDB, a result without the _id it is matched on gets one.
    const doc = on.includes('_id') ? idFirst(given) : given;
    const filter: Doc = {};
    for (const field of on) {
      const value = readPath(doc, field);
      if (value === undefined || value === null || Array.isArray(value)) {
        throw new MongoServerError(
          Array.isArray(value) ? 'Location51185' : 'Location51132',
          `$merge write error: 'on' field '${field}' cannot be missing, null, undefined or an array`,
        );
      }
      filter[field] = { $eq: value };
    }
    const [found] = coll ? match(coll, filter, { engine, txn: undefined }) : [];
    if (!found) {
      if (whenNotMatched === 'discard') continue;
      if (whenNotMatched === 'fail') {
        throw new MongoServerError(
          'MergeStageNoMatchingDocument',
          '$merge could not find a matching document in the target collection for at least one document in the source collection',
        );
      }
      const inserted = idFirst(doc);
      if (whenMatched === 'fail') checkInsertId(inserted._id);
      else checkUpdatedId(inserted._id);
      const target = collection();
      validatorFor(target.options, options.bypass)?.(inserted, undefined);
      insertOne(engine, target, inserted);
      continue;
    }
    const target = coll!;
    if (whenMatched === 'keepExisting') continue;
    if (whenMatched === 'fail') {
      // An insert that meets the matched document: MongoDB's duplicate key error.
      insertOne(engine, target, doc);
      continue;
    }
    let next: Doc;
    if (Array.isArray(whenMatched)) {
      const variables = { ...options.variables, ...evaluateOn(doc, output.let ?? { new: '$$ROOT' }, options.variables) };
      next = applyUpdate(found.doc, { u: whenMatched, variables }, undefined, false);
    } else {
      if (doc._id !== undefined && keyOf(toView(doc._id)) !== found.id) {
        throw new MongoServerError(
          'ImmutableField',
          '$merge failed to update the matching document, did you attempt to modify the _id or the shard key? :: caused by :: ' +
            "Performing an update on the path '_id' would modify the immutable field '_id'",
        );
      }
      // `merge` sets the result's top-level fields; `replace` keeps only the matched document's _id.
      next = whenMatched === 'merge' ? { ...found.doc, ...doc } : { _id: found.doc._id, ...doc };
    }
    validatorFor(target.options, options.bypass)?.(next, found.doc);
    engine.write(target, undefined, found.id, next);
  }
}
