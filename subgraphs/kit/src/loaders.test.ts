import { describe, expect, it } from 'vitest';
import { createRowsLoader, createYearRowsLoader, groupByKey } from './loaders.js';

describe('groupByKey', () => {
  it('groups rows by key in one pass: key order, rows in their order, empty for a missing key, others left out', () => {
    const rows = [
      { year: 2025, n: 1 },
      { year: 2024, n: 2 },
      { year: 2025, n: 3 },
      { year: 2031, n: 4 },
    ];
    expect(groupByKey([2025, 2030, 2024], rows, (r) => r.year)).toEqual([[rows[0], rows[2]], [], [rows[1]]]);
  });

  it('gives a key asked twice the same rows', () => {
    const [a, b] = groupByKey(['x', 'x'], [{ k: 'x' }], (r) => r.k);
    expect(a).toEqual([{ k: 'x' }]);
    expect(b).toBe(a);
  });
});

describe('createYearRowsLoader', () => {
  const cells = [
    { year: 2024, owner: 'o1', n: 3 },
    { year: 2025, owner: 'o1', n: 5 },
    { year: 2024, owner: 'o2', n: 7 },
  ];

  it('reads once per batch, results in key order, an empty list for a year without rows', async () => {
    const loadCalls: number[][] = [];
    const loader = createYearRowsLoader(async (years) => {
      loadCalls.push(years);
      return cells.filter((c) => years.includes(c.year));
    });
    const loaded = await Promise.all([loader.load(2025), loader.load(2030), loader.load(2024)]);
    expect(loaded).toEqual([[cells[1]], [], [cells[0], cells[2]]]);
    expect(loadCalls).toEqual([[2025, 2030, 2024]]);
  });

  it('groups each list of a read that returns several, still one read per batch', async () => {
    const loadCalls: number[][] = [];
    const loader = createYearRowsLoader(async (years) => {
      loadCalls.push(years);
      return { offers: cells.filter((c) => years.includes(c.year)), allocations: [{ year: 2025, funded: true }] };
    });
    const [y2024, y2025] = await Promise.all([loader.load(2024), loader.load(2025)]);
    expect(y2024).toEqual({ offers: [cells[0], cells[2]], allocations: [] });
    expect(y2025).toEqual({ offers: [cells[1]], allocations: [{ year: 2025, funded: true }] });
    expect(loadCalls).toEqual([[2024, 2025]]);
  });
});

describe('createRowsLoader', () => {
  it("loads each key's rows with one fetch per batch (a teacher's applications)", async () => {
    const loadCalls: string[][] = [];
    const applications = [
      { id: 'a1', teacher: 't2' },
      { id: 'a2', teacher: 't1' },
      { id: 'a3', teacher: 't2' },
    ];
    const loader = createRowsLoader(
      async (teachers: string[]) => {
        loadCalls.push(teachers);
        return applications.filter((a) => teachers.includes(a.teacher));
      },
      (a) => a.teacher,
    );
    expect(await Promise.all(['t2', 't9', 't1'].map((t) => loader.load(t)))).toEqual([[applications[0], applications[2]], [], [applications[1]]]);
    expect(loadCalls).toEqual([['t2', 't9', 't1']]);
  });
});
