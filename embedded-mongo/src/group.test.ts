import fc from 'fast-check';
import { Aggregator } from 'mingo';
import { describe, expect, it } from 'vitest';
import { fastGroup } from './group.js';
import { type Doc } from './values.js';

const value = fc.oneof(
  fc.constantFrom('x', 'y', 'ADMITTED'),
  fc.integer({ min: -3, max: 3 }),
  fc.double({ noNaN: true, min: -10, max: 10 }),
  fc.constant(null),
);
const doc = fc.record(
  {
    a: value,
    n: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant('7'), fc.constant(null)),
    b: fc.record({ c: value, d: fc.integer({ min: 0, max: 9 }) }, { requiredKeys: [] }),
    w: fc.oneof(fc.date({ noInvalidDate: true }), fc.constant(null), fc.constant('x'), fc.boolean(), fc.integer({ min: 0, max: 3 }), fc.record({ c: value })),
    t: fc.array(fc.record({ k: fc.constantFrom('p', 'q'), r: fc.integer({ min: 1, max: 5 }) }), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);
const PIPELINES: Doc[][] = [
  [{ $group: { _id: '$a', count: { $sum: 1 }, total: { $sum: '$n' } } }],
  [{ $group: { _id: { a: '$a', c: '$b.c' }, count: { $sum: 1 }, avg: { $avg: '$b.d' } } }],
  [{ $group: { _id: '$a', admitted: { $sum: { $cond: [{ $eq: ['$b.c', 'ADMITTED'] }, 1, 0] } }, n: { $sum: 1 } } }],
  [
    {
      $group: {
        _id: '$a',
        dated: { $sum: { $cond: [{ $eq: [{ $type: '$w' }, 'date'] }, 1, 0] } },
        missing: { $sum: { $cond: [{ $eq: [{ $type: '$w' }, 'missing'] }, 1, 0] } },
        nulls: { $sum: { $cond: [{ $eq: [{ $type: '$b.c' }, 'null'] }, 2, 0] } },
        text: { $sum: { $cond: [{ $eq: [{ $type: '$w' }, 'string'] }, 0, 1] } },
      },
    },
  ],
  [{ $unwind: '$t' }, { $group: { _id: { a: '$a', k: '$t.k' }, count: { $sum: 1 }, sum: { $sum: '$t.r' } } }],
  [{ $group: { _id: 1, n: { $sum: 1 } } }],
  [{ $group: { _id: null, total: { $sum: '$n' }, avg: { $avg: '$b.d' } } }],
  [{ $group: { _id: 'all', n: { $sum: 1 } } }],
];
const sorted = (docs: Doc[]) => [...docs].map((d) => JSON.stringify(d)).sort();

describe('fastGroup', () => {
  it('gives what mingo gives for the shapes it takes', () => {
    fc.assert(
      fc.property(fc.array(doc, { maxLength: 30 }), fc.constantFrom(...PIPELINES), (docs, pipeline) => {
        const fast = fastGroup(pipeline, docs);
        expect(fast).toBeDefined();
        const slow = new Aggregator(pipeline).run<Doc>(structuredClone(docs));
        expect(sorted(fast!)).toEqual(sorted(slow));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('leaves every other shape to mingo', () => {
    expect(fastGroup([{ $group: { _id: '$a', x: { $max: '$n' } } }], [])).toBeUndefined();
    expect(fastGroup([{ $sort: { a: 1 } }], [])).toBeUndefined();
    expect(fastGroup([{ $group: { _id: '$t.k', n: { $sum: 1 } } }], [{ t: [{ k: 'p' }] }])).toBeUndefined();
  });
});
