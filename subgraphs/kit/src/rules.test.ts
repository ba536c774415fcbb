import { describe, expect, it } from 'vitest';
import { type Identity } from './identity.js';
import { shownAverage, shownCount, shownTotal, shownTotalOver } from './rules.js';

const publicCaller = { role: 'public' } as Identity;
const shown = (n: number) => shownCount(publicCaller, n);

describe('disclosure control for callers who may not see persons', () => {
  it('hides counts of 1 to 4, keeps 0, rounds the rest to base 5, and shows the directorate everything', () => {
    expect([0, 1, 4, 5, 7, 8, 12, 13, 100].map(shown)).toEqual([0, null, null, 5, 5, 10, 10, 15, 100]);
    expect(shownCount({ role: 'directorate' } as Identity, 3)).toBe(3);
  });

  it('shows a total as the sum of its cells as shown, hides it when a cell of any partition is hidden, and shows the directorate the sum', () => {
    expect(shownTotal(publicCaller, [8, 8, 0])).toBe(20);
    expect(shownTotal(publicCaller, [7, 7, 7, 7])).toBe(20);
    expect(shownTotal(publicCaller, [8, 8, 1])).toBeNull();
    expect(shownTotalOver(publicCaller, [[8, 8], [15, 1]])).toBeNull();
    expect(shownTotal({ role: 'directorate' } as Identity, [8, 8, 1])).toBe(17);
  });

  /**
   * The attack, by brute force: enumerate every table of three cells, group the tables by what
   * the caller sees in one answer (the total and every cell), and a cell that is 1 to 4 in some
   * table must take more than one value across its group, so that no answer pins it. Rounding
   * the total instead of hiding it fails this (8 + 8 + 1 shows as 15 | 10 | 10 | null).
   */
  it('never lets a total minus the shown cells pin a hidden cell', () => {
    const LIMIT = 40;
    const groups = new Map<string, number[][]>();
    for (let a = 0; a <= LIMIT + 10; a++) {
      for (let b = 0; b <= LIMIT + 10; b++) {
        for (let c = 0; c <= 12; c++) {
          const key = JSON.stringify([shownTotal(publicCaller, [a, b, c]), shown(a), shown(b), shown(c)]);
          groups.set(key, [...(groups.get(key) ?? []), [a, b, c]]);
        }
      }
    }
    const pinned: string[] = [];
    let checked = 0;
    for (const [key, tables] of groups) {
      if ((JSON.parse(key) as (number | null)[]).some((v) => v !== null && v > LIMIT)) continue; // bound effects
      checked++;
      for (let i = 0; i < 3; i++) {
        const values = new Set(tables.map((t) => t[i]!));
        const [only] = values;
        if (values.size === 1 && only! >= 1 && only! <= 4) pinned.push(`${key} pins cell ${i} = ${only}`);
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(pinned).toEqual([]);
  });

  it('bands averages to 0.5 over 5 or more answers, exact to two decimals for whoever sees the answers', () => {
    expect(shownAverage(17, 4, false)).toBeNull();
    expect(shownAverage(0, 0, true)).toBeNull();
    expect([shownAverage(21, 5, false), shownAverage(22, 5, false), shownAverage(43, 10, false)]).toEqual([4, 4.5, 4.5]);
    expect(shownAverage(43, 10, true)).toBe(4.3);
  });

  /**
   * The count-and-average attack, by brute force: for every shown count and banded average, every
   * count the rounded count allows (5 or more) must fit some whole rating sum, so that the
   * average rules none out. To one decimal it fails (the exact count comes back).
   */
  it('never lets a banded average rule out a count the rounded count allows', () => {
    const fits = (n: number, average: number, show: (s: number, n: number) => number | null) => {
      for (let sum = n; sum <= 5 * n; sum++) if (show(sum, n) === average) return true;
      return false;
    };
    const oneDecimal = (sum: number, n: number) => Math.round((sum / n) * 10) / 10;
    let narrowed = 0;
    let narrowedOld = 0;
    for (let n = 5; n <= 60; n++) {
      const allowed = [-2, -1, 0, 1, 2].map((d) => shown(n)! + d).filter((m) => m >= 5);
      for (let sum = n; sum <= 5 * n; sum++) {
        if (allowed.some((m) => !fits(m, shownAverage(sum, n, false)!, (s, k) => shownAverage(s, k, false)))) narrowed++;
        if (allowed.some((m) => !fits(m, oneDecimal(sum, n), oneDecimal))) narrowedOld++;
      }
    }
    expect(narrowed).toBe(0);
    expect(narrowedOld).toBeGreaterThan(0);
  });
});
