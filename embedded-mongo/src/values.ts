import { Decimal128, Double, Int32, Long } from 'bson';

/** A document as it travels on the wire and sits in storage: BSON numeric types kept as wrappers. */
export type Doc = Record<string, unknown>;

const NUMERIC = new Set(['Int32', 'Double', 'Long', 'Decimal128']);

/** The BSON type name of a numeric wrapper, or undefined for anything else. */
export function numericType(v: unknown): 'Int32' | 'Double' | 'Long' | 'Decimal128' | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const t = (v as { _bsontype?: string })._bsontype;
  return t !== undefined && NUMERIC.has(t) ? (t as 'Int32' | 'Double' | 'Long' | 'Decimal128') : undefined;
}

/** The JS number a BSON numeric wrapper stands for (Long and Decimal128 beyond 2^53 lose precision). */
export function toNumber(v: unknown): number {
  switch (numericType(v)) {
    case 'Int32':
    case 'Double':
      return (v as Int32 | Double).value;
    case 'Long':
      return (v as Long).toNumber();
    case 'Decimal128':
      return Number((v as Decimal128).toString());
    default:
      return v as number;
  }
}

function isPlainObject(v: unknown): v is Doc {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

/**
 * The query view of a value: every BSON number becomes a JS number so that mingo compares,
 * sorts and sums across numeric types by value (mingo compares wrapper objects by their text).
 */
export function toView(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toView);
  if (numericType(v)) return toNumber(v);
  if (isPlainObject(v)) {
    const out: Doc = {};
    for (const k of Object.keys(v)) out[k] = toView(v[k]);
    return out;
  }
  return v;
}

/** Encodes a computed JS number the way MongoDB would type it: Int32, Long past 32 bits, else Double. */
function typeComputed(n: number): unknown {
  if (Number.isInteger(n)) {
    if (n >= -2147483648 && n <= 2147483647) return new Int32(n);
    if (Number.isSafeInteger(n)) return Long.fromNumber(n);
  }
  return new Double(n);
}

/** Casts a computed number to the BSON type a field had before (an `$inc` on a Long stays a Long). */
export function castLike(n: number, like: unknown): unknown {
  switch (numericType(like)) {
    case 'Int32':
      return n >= -2147483648 && n <= 2147483647 && Number.isInteger(n) ? new Int32(n) : typeComputed(n);
    case 'Long':
      return Number.isInteger(n) ? Long.fromNumber(n) : new Double(n);
    case 'Double':
      return new Double(n);
    case 'Decimal128':
      return Decimal128.fromString(String(n));
    default:
      return typeComputed(n);
  }
}

/**
 * Turns a view back into typed BSON. Each number keeps the type of the value it came from when
 * the value is unchanged (`sources` are typed documents at the same path, tried in order);
 * a changed number takes the type its field had, and a new one is typed as MongoDB would.
 */
export function retype(view: unknown, sources: unknown[]): unknown {
  if (typeof view === 'number') {
    for (const s of sources) {
      if (numericType(s) && toNumber(s) === view) return s;
      if (typeof s === 'number' && s === view) return s;
    }
    const typed = sources.find((s) => numericType(s) !== undefined);
    return typed !== undefined ? castLike(view, typed) : typeComputed(view);
  }
  if (Array.isArray(view)) {
    return view.map((item, i) =>
      retype(
        item,
        sources.map((s) => (Array.isArray(s) ? (s as unknown[])[i] : undefined)).filter((s) => s !== undefined),
      ),
    );
  }
  if (isPlainObject(view)) {
    const out: Doc = {};
    for (const k of Object.keys(view)) {
      out[k] = retype(
        view[k],
        sources.map((s) => (isPlainObject(s) ? s[k] : undefined)).filter((s) => s !== undefined),
      );
    }
    return out;
  }
  return view;
}

/** Reads a dotted path from a view document, collecting values through arrays (as MongoDB does). */
export function valuesAt(doc: unknown, path: string): unknown[] {
  const parts = path.split('.');
  let current: unknown[] = [doc];
  for (const part of parts) {
    const next: unknown[] = [];
    for (const c of current) {
      if (Array.isArray(c)) {
        if (/^\d+$/.test(part)) next.push(c[Number(part)]);
        else for (const item of c) if (isPlainObject(item)) next.push(item[part]);
      } else if (isPlainObject(c)) {
        next.push(c[part]);
      } else {
        next.push(undefined);
      }
    }
    current = next;
  }
  return current;
}

/**
 * A value as `String()` writes it, whatever its type: a client's value quoted in an error message
 * (a value of the wrong type may be an object), and the key of a value of no kind the store knows.
 */
export const asText = (value: unknown): string => String(value);

/** A canonical string for an index key value: equal by MongoDB's rules (1 == 1.0 == Long 1) means equal key. */
export function keyOf(v: unknown): string {
  if (v === undefined || v === null) return 'z';
  switch (typeof v) {
    case 'number':
      return `n${Object.is(v, -0) ? 0 : v}`;
    case 'string':
      return `s${v}`;
    case 'boolean':
      return v ? 'bt' : 'bf';
    default:
      break;
  }
  if (numericType(v)) return keyOf(toNumber(v));
  if (v instanceof Date) return `d${v.getTime()}`;
  if (Array.isArray(v)) return `a[${v.map(keyOf).join(',')}]`;
  const bsonType = (v as { _bsontype?: string })._bsontype;
  if (bsonType === 'ObjectId') return `o${(v as { toHexString(): string }).toHexString()}`;
  if (bsonType !== undefined) return `x${bsonType}:${String((v as { toString(): string }).toString())}`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}:${keyOf(v[k])}`)
      .join(',')}}`;
  }
  return `?${asText(v)}`;
}
