import { MongoServerError, badValue } from './errors.js';
import { type Doc } from './values.js';

// What MongoDB 7.0 lets a document hold when it is stored: the `_id` rules (insert's own wording,
// and the update path's) and the dots-and-dollars rules of 5.0+ (dotted and `$`-prefixed field
// names are data, except a `$`-prefixed one inside `_id` or at the top of an update's replacement).

function isRegex(v: unknown): boolean {
  return v instanceof RegExp || (v as { _bsontype?: string } | null)?._bsontype === 'BSONRegExp';
}

function isPlain(v: unknown): v is Doc {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

/** MongoDB's `storageValidEmbedded`: the first `$`-prefixed name inside `_id` (a DBRef's `$ref`, `$id`, `$db` pass), or undefined. */
function dollarField(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = dollarField(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isPlain(value)) return undefined;
  const keys = Object.keys(value);
  const dbRef = keys[0] === '$ref' && typeof value.$ref === 'string' && keys[1] === '$id';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k.startsWith('$') && !(dbRef && (i < 2 || (i === 2 && k === '$db' && typeof value.$db === 'string')))) return k;
    const found = dollarField(value[k]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Refuses an inserted document's `_id` as MongoDB's insert does (`BadValue`, or 52 for a `$`-prefixed name inside it). */
export function checkInsertId(id: unknown): void {
  if (id === undefined || id === null || typeof id !== 'object') return;
  if (isRegex(id)) throw badValue("can't use a regex for _id");
  if (Array.isArray(id)) throw badValue("can't use an array for _id");
  const dollar = dollarField(id);
  if (dollar !== undefined) throw new MongoServerError('DollarPrefixedFieldName', `${dollar} is not valid for storage.`);
}

/** Refuses the `_id` of a document an update writes (an upsert's, a replacement's) as MongoDB's update path does. */
export function checkUpdatedId(id: unknown): void {
  if (id === undefined || id === null || typeof id !== 'object') return;
  if (isRegex(id)) throw new MongoServerError('InvalidIdField', "The '_id' value cannot be of type regex");
  if (Array.isArray(id)) throw new MongoServerError('InvalidIdField', "The '_id' value cannot be of type array");
  const dollar = dollarField(id);
  if (dollar !== undefined) {
    throw new MongoServerError('DollarPrefixedFieldName', `_id fields may not contain '$'-prefixed fields: ${dollar} is not valid for storage.`);
  }
}

/** Refuses a `$`-prefixed top-level field in a replacement of a stored document (MongoDB 5.0+ allows it nested, and in an upsert's insert). */
export function checkReplacementFields(replacement: Doc): void {
  for (const key of Object.keys(replacement)) {
    if (key.startsWith('$')) {
      throw new MongoServerError(
        'DollarPrefixedFieldName',
        `The dollar ($) prefixed field '${key}' in '${key}' is not allowed in the context of an update's replacement document. ` +
          'Consider using an aggregation pipeline with $replaceWith.',
      );
    }
  }
}
