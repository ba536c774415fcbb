import { type Identity } from '@partnerskap/kit';
import { describe, expect, it } from 'vitest';
import { NO_APPLICATIONS, rollUp, seatCells, shownCell, shownStudiesCell, shownTotalCell } from './insights.js';
import { type FunnelCounts } from './store.js';

const PUBLIC: Identity = { role: 'public' };
const DIRECTORATE: Identity = { role: 'directorate' };
const counts = (c: Partial<FunnelCounts>): FunnelCounts => ({ ...NO_APPLICATIONS, ...c });

describe('rollUp', () => {
  it('adds the grouped cells up per key and sorts the keys in string order', () => {
    const cells = [
      { owner: '4601', county: '46', ...counts({ applications: 3, admitted: 1, credits: 30, credited: 1 }) },
      { owner: '0301', county: '03', ...counts({ applications: 7, withdrawn: 2 }) },
      { owner: '4601', county: '15', ...counts({ applications: 4, admitted: 2, credits: 15, credited: 1 }) },
    ];
    expect(rollUp(cells, (c) => c.owner)).toEqual([
      ['0301', counts({ applications: 7, withdrawn: 2 })],
      ['4601', counts({ applications: 7, admitted: 3, credits: 45, credited: 2 })],
    ]);
    expect(rollUp(cells, (c) => c.county).map(([k]) => k)).toEqual(['03', '15', '46']);
  });
});

describe('shownCell', () => {
  const c = counts({ applications: 12, admitted: 3, waitlisted: 0, rejected: 7, withdrawn: 1, completed: 4, credits: 135, credited: 5 });

  it('shows the directorate and an owner its own figures exactly', () => {
    const exact = { key: 'k', applications: 12, admitted: 3, waitlisted: 0, rejected: 7, withdrawn: 1, completed: 4, credits: 135 };
    expect(shownCell(DIRECTORATE, 'k', c)).toEqual(exact);
    expect(shownCell({ role: 'school-owner', org: '4601' }, 'k', c, true)).toEqual(exact);
  });

  it('hides 1 to 4 from others and rounds the rest to the nearest 5; credits go with the persons who earned them', () => {
    expect(shownCell(PUBLIC, 'k', c)).toEqual({
      key: 'k',
      applications: 10,
      admitted: null,
      waitlisted: 0,
      rejected: 5,
      withdrawn: null,
      completed: null,
      credits: 135,
    });
    expect(shownCell(PUBLIC, 'k', counts({ applications: 6, completed: 2, credits: 60, credited: 2 })).credits).toBeNull();
    expect(shownCell(PUBLIC, 'k', counts({ applications: 6, credits: 92, credited: 6 })).credits).toBe(90);
  });
});

describe('shownTotalCell', () => {
  // Two counties; the same applications per subject (one study each): ENG 13, MAT 3.
  const counties = [counts({ applications: 8, admitted: 8, credits: 90, credited: 6 }), counts({ applications: 8, admitted: 2, credits: 30, credited: 1 })];
  const subjects = [counts({ applications: 13, admitted: 7, credits: 100, credited: 5 }), counts({ applications: 3, admitted: 3, credits: 20, credited: 2 })];

  it('is the exact sum for the directorate', () => {
    expect(shownTotalCell(DIRECTORATE, '2024', subjects, [counties, subjects])).toEqual({
      key: '2024',
      applications: 16,
      admitted: 10,
      waitlisted: 0,
      rejected: 0,
      withdrawn: 0,
      completed: 0,
      credits: 120,
    });
  });

  it('is null for others as soon as a cell of any partition beside it is hidden, so that no hidden cell can be subtracted out', () => {
    // Counties' admitted are shown as 10 and null: a total of 10 would give the hidden 2 away (10 - 8);
    // subjects' applications show 15 and null: a total of 15 would pin the hidden 3 to 1..4 and narrow it.
    expect(shownTotalCell(PUBLIC, '2024', subjects, [counties, subjects])).toEqual({
      key: '2024',
      applications: null,
      admitted: null,
      waitlisted: 0,
      rejected: 0,
      withdrawn: 0,
      completed: 0,
      credits: null,
    });
    // With no hidden cell anywhere, it is the sum of the cells as shown (8 + 8 as 10 + 10), not 16 rounded.
    expect(shownTotalCell(PUBLIC, '2024', counties, [counties]).applications).toBe(20);
    expect(shownTotalCell(PUBLIC, '2024', counties, [counties]).rejected).toBe(0);
  });
});

describe('shownStudiesCell', () => {
  it('adds a subject up from its studies as shown, hidden with any of them, so that it tells nothing they do not', () => {
    const studies = [7, 7, 7, 7].map((n) => counts({ applications: n, admitted: n }));
    const subject = counts({ applications: 28, admitted: 28, rejected: 3 });
    // 28 rounded would be 30, and with four studies shown 5 each it could only be 7 + 7 + 7 + 7.
    expect(shownStudiesCell(PUBLIC, 'MAT', subject, studies)).toEqual({
      key: 'MAT',
      applications: 20,
      admitted: 20,
      waitlisted: 0,
      rejected: null,
      withdrawn: 0,
      completed: 0,
      credits: 0,
    });
    const hidden = [counts({ applications: 5 }), counts({ applications: 1 }), counts({ applications: 1 })];
    expect(shownStudiesCell(PUBLIC, 'MAT', counts({ applications: 7 }), hidden).applications).toBeNull();
    expect(shownStudiesCell(DIRECTORATE, 'MAT', counts({ applications: 7 }), hidden).applications).toBe(7);
  });
});

describe('seatCells', () => {
  it('sums the offers’ places per subject and subtracts the admitted count as shown, never below 0', () => {
    const offers = [
      { subject: 'MAT', places: 30 },
      { subject: 'ENG', places: 20 },
      { subject: 'ENG', places: 25 },
      { subject: 'NOR', places: 10 },
      { subject: 'SAM', places: null },
      { subject: 'SAM', places: 5 },
    ];
    // Admitted per study of each subject.
    const admitted = new Map([
      ['ENG', [20, 23]],
      ['MAT', [3]],
      ['NOR', [12]],
      ['SAM', [6]],
      ['KRO', [7]],
    ]);
    expect(seatCells(DIRECTORATE, offers, admitted)).toEqual([
      { subject: 'ENG', places: 45, admitted: 43, vacant: 2 },
      // Admitted with no offer in the catalogue (outside it): no places, nothing vacant.
      { subject: 'KRO', places: 0, admitted: 7, vacant: 0 },
      { subject: 'MAT', places: 30, admitted: 3, vacant: 27 },
      { subject: 'NOR', places: 10, admitted: 12, vacant: 0 },
      { subject: 'SAM', places: null, admitted: 6, vacant: null },
    ]);
    expect(seatCells(PUBLIC, offers, admitted)).toEqual([
      // 45 - 45 (20 + 25, its studies as shown): vacant follows the admitted count shown, never the hidden exact one.
      { subject: 'ENG', places: 45, admitted: 45, vacant: 0 },
      { subject: 'KRO', places: 0, admitted: 5, vacant: 0 },
      { subject: 'MAT', places: 30, admitted: null, vacant: null },
      { subject: 'NOR', places: 10, admitted: 10, vacant: 0 },
      { subject: 'SAM', places: null, admitted: 5, vacant: null },
    ]);
  });
});
