import { Query } from 'mingo';
import { MongoServerError, badValue } from './errors.js';
import { jsonSchemaValidator, mingo, refuseUnsupported } from './query.js';
import { compileSchema } from './schema.js';
import { type Doc, asText, toView, valuesAt } from './values.js';

/** What a failing document broke, in the shape of MongoDB's `errInfo.details`; undefined when it passes. */
type Validate = (doc: Doc) => Doc | undefined;

const LEVELS = new Set(['off', 'strict', 'moderate']);
const ACTIONS = new Set(['error', 'warn']);
// Query operators a validator may not hold, as MongoDB refuses them there.
const NOT_IN_VALIDATOR = ['$near', '$nearSphere', '$geoNear', '$text', '$where'];

/** MongoDB's reason for a query operator that did not match (the common ones; others say the expression did not match). */
const REASONS: Record<string, string> = {
  $eq: 'comparison failed',
  $ne: 'comparison succeeded',
  $gt: 'comparison failed',
  $gte: 'comparison failed',
  $lt: 'comparison failed',
  $lte: 'comparison failed',
  $in: 'no matching value found in array',
  $nin: 'matching value found in array',
  $exists: 'path does not exist',
  $type: 'type did not match',
  $regex: 'regular expression did not match',
};

function isPlain(v: unknown): v is Doc {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

function walkForbidden(value: unknown): void {
  if (Array.isArray(value)) return value.forEach(walkForbidden);
  if (!isPlain(value)) return;
  for (const [k, v] of Object.entries(value)) {
    if (NOT_IN_VALIDATOR.includes(k)) throw new MongoServerError('QueryFeatureNotAllowed', `${k} is not allowed in this context`);
    walkForbidden(v);
  }
}

/** One top-level clause of a validator: `$jsonSchema` checked on the typed document, anything else by mingo on its view. */
function clause(key: string, value: unknown): (doc: Doc, view: Doc) => Doc | undefined {
  if (key === '$jsonSchema') {
    const check = compileSchema(value);
    return (doc) => {
      const rules = check(doc);
      return rules.length === 0 ? undefined : { operatorName: '$jsonSchema', schemaRulesNotSatisfied: rules };
    };
  }
  const filter = toView({ [key]: value }) as Doc;
  refuseUnsupported(filter);
  const query = mingo(() => new Query(filter, { scriptEnabled: false, jsonSchemaValidator }));
  const ops = isPlain(value) && Object.keys(value).every((k) => k.startsWith('$')) ? Object.keys(value) : [];
  const operatorName = key.startsWith('$') ? key : ops.length === 1 ? ops[0]! : ops.length === 0 ? '$eq' : '$and';
  return (_doc, view) => {
    if (mingo(() => query.test(view))) return undefined;
    const details: Doc = { operatorName, specifiedAs: { [key]: value } };
    const reason = REASONS[operatorName];
    if (reason) details.reason = reason;
    if (!key.startsWith('$')) {
      const [found] = valuesAt(view, key);
      if (found !== undefined) details.consideredValue = found;
    }
    return details;
  };
}

/** Compiles a validator document: refuses what MongoDB refuses in one (its error codes), else answers the details of a failure. */
export function compileValidator(validator: unknown): Validate {
  if (!isPlain(validator)) throw new MongoServerError('TypeMismatch', "BSON field 'validator' is the wrong type, expected type 'object'");
  walkForbidden(validator);
  const clauses = Object.entries(validator).map(([k, v]) => clause(k, v));
  if (clauses.length === 0) return () => undefined;
  return (doc) => {
    const view = toView(doc) as Doc;
    const failing: Doc[] = [];
    clauses.forEach((check, index) => {
      const details = check(doc, view);
      if (details) failing.push({ index, details });
    });
    if (failing.length === 0) return undefined;
    return clauses.length === 1 ? (failing[0]!.details as Doc) : { operatorName: '$and', clausesNotSatisfied: failing };
  };
}

const compiled = new WeakMap<object, Validate>();

/** Checks a collection's validation options as `create` and `collMod` receive them (compiling the validator). */
export function checkValidationOptions(options: Doc): void {
  if (options.validator !== undefined) compileValidator(options.validator);
  const { validationLevel: level, validationAction: action } = options;
  if (level !== undefined && !LEVELS.has(level as string)) {
    throw badValue(`Enumeration value '${asText(level)}' for field 'validationLevel' is not a valid value.`);
  }
  if (action !== undefined && !ACTIONS.has(action as string)) {
    throw badValue(`Enumeration value '${asText(action)}' for field 'validationAction' is not a valid value.`);
  }
}

/**
 * The check a write runs before it stores `doc` in a collection with these options, or undefined
 * when there is none to run: no validator, `validationLevel: 'off'`, `validationAction: 'warn'`
 * (MongoDB then only logs; the store has nothing to log to) or `bypassDocumentValidation`. With
 * `moderate`, an update of a document that already failed the validator is let through. A failure
 * is `DocumentValidationFailure` (121) with `errInfo: { failingDocumentId, details }`.
 */
export function validatorFor(options: Doc, bypass: boolean): ((doc: Doc, before: Doc | undefined) => void) | undefined {
  const validator = options.validator;
  if (bypass || !isPlain(validator) || Object.keys(validator).length === 0) return undefined;
  const level = options.validationLevel ?? 'strict';
  if (level === 'off' || options.validationAction === 'warn') return undefined;
  let validate = compiled.get(validator);
  if (!validate) compiled.set(validator, (validate = compileValidator(validator)));
  return (doc, before) => {
    if (level === 'moderate' && before && validate(before)) return;
    const details = validate(doc);
    if (details) {
      throw new MongoServerError('DocumentValidationFailure', 'Document failed validation', { errInfo: { failingDocumentId: doc._id, details } });
    }
  };
}
