import { Query } from 'mingo';
import { type Doc, keyOf, toView, valuesAt } from './values.js';

/** One stored document: its typed BSON form, its query view and its natural-order position. */
export interface StoredRecord {
  readonly id: string;
  readonly doc: Doc;
  readonly view: Doc;
  readonly seq: number;
  readonly version: number;
}

/** The options of an index as `createIndexes` receives them. */
export interface IndexSpec {
  key: Doc;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Doc;
  expireAfterSeconds?: number;
}

/** A secondary (or `_id`) index: canonical key string to the ids of the documents holding it. */
export class Index {
  readonly spec: IndexSpec;
  readonly fields: string[];
  readonly entries = new Map<string, Set<string>>();
  /** For a compound index: the key of its first field alone to the ids holding it (a query on that field uses the index, as in MongoDB). */
  readonly prefixes = new Map<string, Set<string>>();
  /**
   * The collection's own `_id` index: its keys are the records' ids, so the collection's records
   * answer it (see Engine.lookup) and it keeps no entries of its own (a Set per document, for nothing).
   */
  readonly primary: boolean;
  readonly #partial: Query | undefined;
  /** Whether every field is a top-level one (no dot), which {@link keysFor} reads directly. */
  readonly #plain: boolean;

  constructor(spec: IndexSpec, primary = false) {
    this.spec = spec;
    this.fields = Object.keys(spec.key);
    this.#plain = this.fields.every((f) => !f.includes('.') && !(f in Object.prototype));
    this.primary = primary;
    this.#partial = spec.partialFilterExpression ? new Query(toView(spec.partialFilterExpression) as Doc) : undefined;
  }

  get name(): string {
    return this.spec.name;
  }

  get unique(): boolean {
    return this.spec.unique === true;
  }

  /** The keys a document has in this index; empty when the index does not cover it (partial, sparse). */
  keysFor(view: Doc): string[] {
    if (this.#partial && !this.#partial.test(view)) return [];
    if (this.#plain) {
      // Fields without dots holding no arrays (most documents): one key, without valuesAt's lists.
      let key = '';
      let present = false;
      let flat = true;
      for (const field of this.fields) {
        const v = view[field];
        if (Array.isArray(v)) {
          flat = false;
          break;
        }
        if (v !== undefined) present = true;
        key = key === '' ? keyOf(v) : `${key}|${keyOf(v)}`;
      }
      if (flat) return this.spec.sparse && !present ? [] : [key];
    }
    let keys = [''];
    let present = false;
    for (const field of this.fields) {
      const values = new Set<string>();
      for (const v of valuesAt(view, field)) {
        if (v !== undefined) present = true;
        if (Array.isArray(v) && v.length > 0) for (const item of v) values.add(keyOf(item));
        else values.add(keyOf(v));
      }
      const next: string[] = [];
      for (const k of keys) for (const v of values) next.push(k === '' ? v : `${k}|${v}`);
      keys = next;
    }
    if (this.spec.sparse && !present) return [];
    return keys;
  }

  /** The keys of a document's first indexed field alone (compound indexes; `keys`: its {@link keysFor}, when known); empty when the index does not cover it. */
  prefixKeysFor(view: Doc, keys?: string[]): string[] {
    if (this.fields.length < 2 || (keys ?? this.keysFor(view)).length === 0) return [];
    const values = new Set<string>();
    for (const v of valuesAt(view, this.fields[0]!)) {
      if (Array.isArray(v) && v.length > 0) for (const item of v) values.add(keyOf(item));
      else values.add(keyOf(v));
    }
    return [...values];
  }

  add(rec: StoredRecord): void {
    if (this.primary) return;
    const keys = this.keysFor(rec.view);
    for (const k of keys) {
      let ids = this.entries.get(k);
      if (!ids) this.entries.set(k, (ids = new Set()));
      ids.add(rec.id);
    }
    for (const k of this.prefixKeysFor(rec.view, keys)) {
      let ids = this.prefixes.get(k);
      if (!ids) this.prefixes.set(k, (ids = new Set()));
      ids.add(rec.id);
    }
  }

  remove(rec: StoredRecord): void {
    if (this.primary) return;
    const keys = this.keysFor(rec.view);
    for (const k of keys) {
      const ids = this.entries.get(k);
      if (!ids) continue;
      ids.delete(rec.id);
      if (ids.size === 0) this.entries.delete(k);
    }
    for (const k of this.prefixKeysFor(rec.view, keys)) {
      const ids = this.prefixes.get(k);
      if (!ids) continue;
      ids.delete(rec.id);
      if (ids.size === 0) this.prefixes.delete(k);
    }
  }

  /** The document as `listIndexes` shows it. */
  describe(): Doc {
    const { key, name, ...options } = this.spec;
    return { v: 2, key, name, ...options };
  }
}

/** The default name MongoDB gives an index: `a_1_b_-1`. */
export function defaultIndexName(key: Doc): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}_${String(v)}`)
    .join('_');
}

/** Whether two index specs describe the same index (key and the options that matter). */
export function sameIndex(a: IndexSpec, b: IndexSpec): boolean {
  return (
    keyOf(toView(a.key)) === keyOf(toView(b.key)) &&
    (a.unique ?? false) === (b.unique ?? false) &&
    (a.sparse ?? false) === (b.sparse ?? false) &&
    keyOf(toView(a.partialFilterExpression ?? null)) === keyOf(toView(b.partialFilterExpression ?? null)) &&
    a.expireAfterSeconds === b.expireAfterSeconds
  );
}
