import fc from 'fast-check';
import { Double, Int32, Long } from 'bson';
import { Aggregator } from 'mingo';
import { describe, expect, it } from 'vitest';
import { parseCollation } from './collation.js';
import { Engine, Transaction, idKeyOf } from './engine.js';
import { applyUpdate, match, sortRecords } from './query.js';
import { type Doc, toView } from './values.js';

// Strings equal by the nb collator but not in binary ('å' and its decomposed form; cases at strength 1).
const scalar = fc.oneof(fc.constantFrom('å', 'a\u030a', 'Å', 'aa', 'x', 'X', ''), fc.integer({ min: -2, max: 2 }), fc.constantFrom(0.5, -0, true, false));
const value = fc.oneof(
  scalar,
  fc.constant(null),
  fc.array(scalar, { maxLength: 3 }),
  fc.record({ k: scalar }).map((r) => ({ ...r })),
);
// Plain objects, as BSON gives them (fast-check's records have no prototype).
const doc = fc.record({ a: value, b: value, c: scalar }, { requiredKeys: [] }).map((r) => ({ ...r }));
const condition = fc.oneof(
  scalar,
  fc.constant(null),
  scalar.map(($eq) => ({ $eq })),
  fc.array(fc.oneof(scalar, fc.constant(null)), { maxLength: 12 }).map(($in) => ({ $in })),
  scalar.map(($gt) => ({ $gt })),
  fc.record({ k: scalar }).map((r) => ({ ...r })),
);
const filter = fc.record({ a: condition, b: condition, c: condition }, { requiredKeys: [] }).map((r) => ({ ...r }));
const COLLATIONS = [undefined, { locale: 'nb' }, { locale: 'nb', strength: 1 }, { locale: 'nb', strength: 2 }];

describe('match', () => {
  it('finds through its indexes and its own test what mingo finds testing every document, in and out of a transaction', () => {
    fc.assert(
      fc.property(
        fc.array(doc, { minLength: 1, maxLength: 25 }),
        fc.array(fc.tuple(fc.nat(30), fc.option(doc)), { maxLength: 6 }),
        filter,
        fc.constantFrom(...COLLATIONS),
        fc.boolean(),
        (docs, changes, f, rawCollation, inTxn) => {
          const engine = new Engine();
          const coll = engine.ensureCollection('d', 'c');
          for (const [name, key] of [
            ['a', { a: 1 }],
            ['b', { b: 1 }],
            ['ab', { a: 1, b: 1 }],
            ['bc', { b: 1, c: 1 }],
          ] as const) {
            engine.createIndex(coll, { key, name });
          }
          docs.forEach((d, i) => engine.write(coll, undefined, idKeyOf({ _id: i }), { _id: i, ...d }));
          const txn = inTxn ? engine.begin(new Transaction(1)) : undefined;
          // Changes made after the snapshot: some by the transaction itself, some committed by others.
          changes.forEach(([i, d], n) => {
            const id = idKeyOf({ _id: i });
            const writer = txn && n % 2 === 0 ? txn : undefined;
            if (writer === undefined && txn && coll.locks.get(id) === txn) return;
            try {
              engine.write(coll, writer, id, d ? { _id: i, ...d } : null);
            } catch (err) {
              // The transaction writing what another committed after its snapshot: not a change it can make.
              if ((err as { codeName?: string }).codeName !== 'WriteConflict') throw err;
            }
          });
          const ctx = { engine, txn, collation: parseCollation(rawCollation) };
          const found = match(coll, f as Doc, ctx).map((r) => r.doc._id);
          // `$and` hides the filter from the indexes and from the simple test: every record through mingo.
          const tested = match(coll, Object.keys(f).length > 0 ? { $and: [f] } : {}, ctx).map((r) => r.doc._id);
          expect(found).toEqual(tested);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('sortRecords', () => {
  it("orders records as mingo's $sort orders their views", () => {
    const key = fc.constantFrom('a', 'b', 'c', '_id');
    const sort = fc
      .uniqueArray(fc.tuple(key, fc.constantFrom(1, -1)), { minLength: 1, maxLength: 3, selector: ([k]) => k })
      .map((pairs) => Object.fromEntries(pairs));
    fc.assert(
      fc.property(fc.array(doc, { maxLength: 25 }), sort, fc.constantFrom(...COLLATIONS), (docs, spec, rawCollation) => {
        const engine = new Engine();
        const coll = engine.ensureCollection('d', 'c');
        docs.forEach((d, i) => engine.write(coll, undefined, idKeyOf({ _id: i }), { _id: i, ...d }));
        const collation = parseCollation(rawCollation);
        const records = engine.scan(coll, undefined);
        const views = records.map((r) => r.view);
        const expected = new Aggregator([{ $sort: toView(spec) }], (collation ? { collation } : {}) as never).run<Doc>(views).map((v) => v._id);
        expect(sortRecords(records, spec, { engine, txn: undefined, collation }).map((r) => r.doc._id)).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('applyUpdate', () => {
  it('applies $set, $inc and $unset of top-level fields as mingo applies them', () => {
    const typed = fc.oneof(
      scalar,
      fc.constant(null),
      fc.integer({ min: -3, max: 3 }).map((n) => new Int32(n)),
      fc.constantFrom(new Double(1.5), Long.fromNumber(7)),
    );
    const stored = fc.record({ a: typed, b: typed, c: typed }, { requiredKeys: [] }).map((r) => ({ _id: 1, ...r }));
    const field = fc.constantFrom('a', 'b', 'c', 'd', '_id');
    const fields = (v: fc.Arbitrary<unknown>) => fc.dictionary(field, v, { maxKeys: 2 }).map((r) => ({ ...r }));
    const amount = fc.oneof(
      fc.integer({ min: -2, max: 2 }),
      fc.constant(0.5),
      fc.constant('x'),
      fc.integer({ min: 0, max: 2 }).map((n) => new Int32(n)),
    );
    const update = fc
      .record({ $set: fields(typed), $inc: fields(amount), $unset: fields(fc.constant('')), $setOnInsert: fields(typed) }, { requiredKeys: [] })
      .filter((u) => Object.keys(u).length > 0)
      .map((u) => ({ ...u }));
    const condition = fc.oneof(
      fc.constant(undefined),
      fc.constant({ _id: 1 }),
      fc.record({ a: scalar }).map((r) => ({ ...r })),
      fc.constant({ a: { $gt: 0 } }),
    );
    const outcome = (run: () => Doc) => {
      try {
        return { doc: run() };
      } catch (err) {
        return { error: (err as Error).message };
      }
    };
    fc.assert(
      fc.property(stored, update, condition, fc.boolean(), fc.constantFrom(...COLLATIONS), (doc, u, filter, insert, rawCollation) => {
        const collation = parseCollation(rawCollation);
        const base = insert ? { _id: 1 } : doc;
        // arrayFilters (none) take mingo's path: the reference.
        const expected = outcome(() => applyUpdate(base, { u, collation, arrayFilters: [] }, filter, insert));
        expect(outcome(() => applyUpdate(base, { u, collation }, filter, insert))).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
