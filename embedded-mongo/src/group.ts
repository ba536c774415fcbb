import { type Doc } from './values.js';

/** Thrown when a path crosses an array (MongoDB then collects values): that pipeline goes to mingo. */
class NotPlain extends Error {}

/** Reads a path split into its parts; a path through an array is not for the fast path. */
function readParts(doc: unknown, parts: readonly string[]): unknown {
  let current = doc;
  for (let i = 0; i < parts.length; i++) {
    if (Array.isArray(current)) throw new NotPlain();
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Doc)[parts[i]!];
  }
  return current;
}

/** A reader of one dotted path, split once when the pipeline is compiled (a group reads every document). */
function pathReader(path: string): (doc: unknown) => unknown {
  const parts = path.split('.');
  return (doc) => readParts(doc, parts);
}

/**
 * A fast path for the commonest aggregation, run without mingo: an optional `$unwind` of a path
 * (string form) and one `$group` whose `_id` is a path or an object of paths, with `$sum` (of 1, a
 * path, `$cond: [{ $eq: [path, value] }, a, b]` or `$cond: [{ $eq: [{ $type: path }, name] }, a, b]`)
 * and `$avg` (of a path) accumulators. Anything else returns undefined and goes to mingo. Same results as MongoDB: non-numbers are left out of
 * sums and averages, an empty or missing unwound array drops the document.
 */
export function fastGroup(stages: Doc[], input: Doc[]): Doc[] | undefined {
  // (a missing `_id` path is null; in an `_id` object a missing field is left out, as in MongoDB)
  try {
    return group(stages, input);
  } catch (err) {
    if (err instanceof NotPlain) return undefined;
    throw err;
  }
}

function group(stages: Doc[], input: Doc[]): Doc[] | undefined {
  let docs = input;
  let i = 0;
  const unwind = stages[0]?.$unwind;
  if (stages[0] && Object.keys(stages[0]).length === 1 && typeof unwind === 'string' && unwind.startsWith('$')) {
    const parts = unwind.slice(1).split('.');
    docs = [];
    for (const doc of input) {
      const value = readParts(doc, parts);
      if (Array.isArray(value)) for (const item of value) docs.push(withPath(doc, parts, item));
      else if (value !== undefined && value !== null) docs.push(doc);
    }
    i = 1;
  }
  if (stages.length !== i + 1 || Object.keys(stages[i]!).length !== 1) return undefined;
  const group = stages[i]!.$group as Doc | undefined;
  if (!group || typeof group !== 'object') return undefined;
  const id = keyReader(group._id);
  if (!id) return undefined;
  const accumulators: [string, (doc: Doc) => number | undefined, 'sum' | 'avg'][] = [];
  for (const [name, spec] of Object.entries(group)) {
    if (name === '_id') continue;
    if (!spec || typeof spec !== 'object' || Object.keys(spec).length !== 1) return undefined;
    const [op, arg] = Object.entries(spec as Doc)[0]!;
    if (op !== '$sum' && op !== '$avg') return undefined;
    const read = numberReader(arg);
    if (!read) return undefined;
    accumulators.push([name, read, op === '$sum' ? 'sum' : 'avg']);
  }
  const groups = new Map<string, { _id: unknown; sums: number[]; counts: number[] }>();
  const n = accumulators.length;
  const readers = accumulators.map(([, read]) => read);
  for (const doc of docs) {
    const [key, hash] = id(doc);
    let g = groups.get(hash);
    if (!g) groups.set(hash, (g = { _id: key, sums: new Array<number>(n).fill(0), counts: new Array<number>(n).fill(0) }));
    for (let k = 0; k < n; k++) {
      const v = readers[k]!(doc);
      if (v !== undefined) {
        g.sums[k]! += v;
        g.counts[k]!++;
      }
    }
  }
  return [...groups.values()].map((g) => {
    const out: Doc = { _id: g._id };
    accumulators.forEach(([name, , kind], k) => (out[name] = kind === 'sum' ? g.sums[k]! : g.counts[k]! ? g.sums[k]! / g.counts[k] : null));
    return out;
  });
}

/** A copy of `doc` with the path of `parts` set to one unwound item. */
function withPath(doc: Doc, parts: readonly string[], item: unknown): Doc {
  const out: Doc = { ...doc };
  let cursor = out;
  for (let j = 0; j < parts.length - 1; j++) {
    const next = { ...(cursor[parts[j]!] as Doc) };
    cursor[parts[j]!] = next;
    cursor = next;
  }
  cursor[parts.at(-1)!] = item;
  return out;
}

/** Reads a group key: `'$path'`, an object of `'$path'`s, or a constant (`_id: 1`: one group, as `countDocuments` asks); undefined for anything else. */
function keyReader(spec: unknown): ((doc: Doc) => [unknown, string]) | undefined {
  if (spec === null || typeof spec === 'number' || typeof spec === 'boolean' || (typeof spec === 'string' && !spec.startsWith('$'))) {
    const key: [unknown, string] = [spec, hashOf(spec)];
    return () => key;
  }
  if (typeof spec === 'string' && spec.startsWith('$')) {
    const read = pathReader(spec.slice(1));
    return (doc) => {
      const v = read(doc) ?? null;
      return [v, hashOf(v)];
    };
  }
  if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
    const fields = Object.entries(spec as Doc);
    if (!fields.every(([, v]) => typeof v === 'string' && v.startsWith('$'))) return undefined;
    const paths = fields.map(([k, v]) => [k, pathReader((v as string).slice(1))] as const);
    return (doc) => {
      const key: Doc = {};
      let hash = '';
      // As MongoDB evaluates an expression object: a missing field is left out, a null kept.
      for (const [k, read] of paths) {
        const v = read(doc);
        if (v !== undefined) key[k] = v;
        hash += `${hashOf(v)}|`;
      }
      return [key, hash];
    };
  }
  return undefined;
}

/**
 * JSON identities of the arrays and objects of stored views: a view is never changed (an update
 * makes a new one), and a group reads the same arrays again (each unwound copy, each request).
 */
const HASHES = new WeakMap<object, string>();

/** A value's identity within a group key, without a JSON round trip for the common scalars. */
function hashOf(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return `s${v.length}:${v}`;
    case 'number':
      return `n${v}`;
    case 'boolean':
      return v ? 'T' : 'F';
    case 'undefined':
      return 'u';
    default: {
      if (v === null) return 'z';
      const o = v as object;
      let h = HASHES.get(o);
      if (h === undefined) HASHES.set(o, (h = `j${JSON.stringify(o)}`));
      return h;
    }
  }
}

/** Reads the number an accumulator adds: a constant, a path, or `$cond` on an `$eq` of a path and a value. */
function numberReader(arg: unknown): ((doc: Doc) => number | undefined) | undefined {
  if (typeof arg === 'number') return () => arg;
  if (typeof arg === 'string' && arg.startsWith('$')) {
    const read = pathReader(arg.slice(1));
    return (doc) => {
      const v = read(doc);
      return typeof v === 'number' ? v : undefined;
    };
  }
  const cond = (arg as Doc | undefined)?.$cond;
  if (Array.isArray(cond) && cond.length === 3 && typeof cond[1] === 'number' && typeof cond[2] === 'number') {
    const eq = (cond[0] as Doc | undefined)?.$eq;
    if (
      Array.isArray(eq) &&
      eq.length === 2 &&
      typeof eq[0] === 'string' &&
      eq[0].startsWith('$') &&
      (typeof eq[1] !== 'object' || eq[1] === null) &&
      !(typeof eq[1] === 'string' && eq[1].startsWith('$'))
    ) {
      const read = pathReader(eq[0].slice(1));
      const value: unknown = eq[1];
      const yes = cond[1];
      const no = cond[2];
      return (doc) => ((read(doc) ?? null) === value ? yes : no);
    }
    // `$eq: [{ $type: path }, name]` for the type names a view tells apart (numbers lose theirs).
    const pair: unknown[] = Array.isArray(eq) && eq.length === 2 ? eq : [];
    const [of, name] = pair;
    const type = (of as Doc | undefined)?.$type;
    if (typeof type === 'string' && type.startsWith('$') && typeof name === 'string' && VIEW_TYPES.has(name)) {
      const read = pathReader(type.slice(1));
      const [yes, no] = [cond[1], cond[2]];
      return (doc) => (viewType(read(doc)) === name ? yes : no);
    }
  }
  return undefined;
}

const VIEW_TYPES = new Set(['missing', 'null', 'date', 'string', 'bool']);

/** The `$type` name of a value of a view, among {@link VIEW_TYPES}; '' for every other type. */
function viewType(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  return Object.prototype.toString.call(v) === '[object Date]' ? 'date' : '';
}
