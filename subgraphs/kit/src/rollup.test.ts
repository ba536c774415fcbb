import { describe, expect, it } from 'vitest';
import { rollUp, total, totals } from './rollup.js';

describe('total', () => {
  it('adds numbers, or an amount of each row; 0 over none', () => {
    expect(total([1, 2, 3])).toBe(6);
    expect(total([{ n: 2 }, { n: 5 }], (r) => r.n)).toBe(7);
    expect(total([])).toBe(0);
  });
});

describe('totals', () => {
  it('sums the named counts; each 0 over no rows', () => {
    const summaries = [
      { topic: 'x', count: 2, sum: 7 },
      { topic: 'y', count: 1, sum: 4 },
    ];
    expect(totals(summaries, ['count', 'sum'])).toEqual({ count: 3, sum: 11 });
    expect(totals([], ['count', 'sum'])).toEqual({ count: 0, sum: 0 });
  });
});

describe('rollUp', () => {
  it('adds rows up per key, keys once each in code-unit order, only the named counts', () => {
    const cells = [
      { county: '46', approved: 3, refused: 1 },
      { county: '03', approved: 2, refused: 0 },
      { county: '46', approved: 5, refused: 2 },
      { county: 'Ø', approved: 1, refused: 1 },
      { county: 'B', approved: 1, refused: 0 },
    ];
    expect(rollUp(cells, (c) => c.county, ['approved', 'refused'])).toEqual([
      { key: '03', sums: { approved: 2, refused: 0 } },
      { key: '46', sums: { approved: 8, refused: 3 } },
      { key: 'B', sums: { approved: 1, refused: 0 } },
      { key: 'Ø', sums: { approved: 1, refused: 1 } },
    ]);
    expect(rollUp([], (c: { k: string; n: number }) => c.k, ['n'])).toEqual([]);
  });
});
