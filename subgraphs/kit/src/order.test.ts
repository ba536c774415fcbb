import { describe, expect, it } from 'vitest';
import { byCodeUnits, byNameThenId, byNorwegian } from './order.js';

describe('byCodeUnits', () => {
  it('orders by code units, whatever the locale: capitals before small letters, Å after Z', () => {
    expect(['b', 'Å', 'B', 'a', 'Z', '03', '15', '1'].sort(byCodeUnits)).toEqual(['03', '1', '15', 'B', 'Z', 'a', 'b', 'Å']);
    expect(byCodeUnits('x', 'x')).toBe(0);
  });
});

describe('byNorwegian', () => {
  it('orders names as the stores do with NB: Æ, Ø, Å after Z, in that order', () => {
    expect(['Åsnes', 'Ørland', 'Zeta', 'Ærø', 'Alta', 'bø'].sort(byNorwegian)).toEqual(['Alta', 'bø', 'Zeta', 'Ærø', 'Ørland', 'Åsnes']);
  });
});

describe('byNameThenId', () => {
  it("orders by name, then by id (the stores' { name: 1, _id: 1 })", () => {
    const rows = [
      { name: 'Øst', id: 'b' },
      { name: 'Vest', id: 'z' },
      { name: 'Øst', id: 'a' },
    ];
    expect(rows.sort(byNameThenId).map((r) => r.id)).toEqual(['z', 'a', 'b']);
  });
});
