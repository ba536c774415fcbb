import { describe, expect, it } from 'vitest';
import { DEFAULT_INSIGHTS, type Identity, loadSubgraphConfig } from '@partnerskap/kit';
import { fundingFigures, offerCells, requirementRules, scholarshipSplit, substituteSplit } from './insights.js';
import { type AllocationGroup } from './store.js';

const UDIR: Identity = { role: 'directorate' };
const PUBLIC: Identity = { role: 'public' };
const settings = { nokPerFte: 850_000, scholarshipNok: 120_000 };

describe('the funding rules', () => {
  it('splits the substitute scheme 75/0/25 for maths and science and 60/15/25 for other subjects', () => {
    // 8 maths participants release 3 FTEs: the state pays 2.25, the teachers give 0.75.
    expect(substituteSplit(8, 0, settings)).toEqual({
      scheme: 'SUBSTITUTE',
      participants: 8,
      stateNok: 1_912_500,
      ownerNok: 0,
      teacherNok: 637_500,
      stateFtes: 2.25,
      ownerFtes: 0,
      teacherFtes: 0.75,
    });
    // 8 participants in other subjects: state 1.8, owner 0.45, teacher 0.75 FTEs.
    expect(substituteSplit(0, 8, settings)).toEqual({
      scheme: 'SUBSTITUTE',
      participants: 8,
      stateNok: 1_530_000,
      ownerNok: 382_500,
      teacherNok: 637_500,
      stateFtes: 1.8,
      ownerFtes: 0.45,
      teacherFtes: 0.75,
    });
    // One maths participant: 0.28125 FTE for the state, NOK 239,062.5 rounded half up, FTEs to two decimals.
    expect(substituteSplit(1, 0, settings)).toMatchObject({ stateNok: 239_063, stateFtes: 0.28, teacherNok: 79_688, teacherFtes: 0.09 });
  });

  it("pays the scholarship from the state and values the teacher's own time at 0.375 FTE", () => {
    expect(scholarshipSplit(10, settings)).toEqual({
      scheme: 'SCHOLARSHIP',
      participants: 10,
      stateNok: 1_200_000,
      ownerNok: 0,
      teacherNok: 3_187_500,
      stateFtes: 1.41,
      ownerFtes: 0,
      teacherFtes: 3.75,
    });
    expect(scholarshipSplit(10, { nokPerFte: 1_000_000, scholarshipNok: 100_000 })).toMatchObject({ stateNok: 1_000_000, stateFtes: 1, teacherNok: 3_750_000 });
  });

  it('derives nothing from a hidden count', () => {
    const none = { participants: null, stateNok: null, ownerNok: null, teacherNok: null, stateFtes: null, ownerFtes: null, teacherFtes: null };
    expect(substituteSplit(null, 40, settings)).toEqual({ scheme: 'SUBSTITUTE', ...none });
    expect(substituteSplit(40, null, settings)).toEqual({ scheme: 'SUBSTITUTE', ...none });
    expect(scholarshipSplit(null, settings)).toEqual({ scheme: 'SCHOLARSHIP', ...none });
  });
});

describe('fundingFigures', () => {
  const g = (county: string, subject: string, funded: boolean, scheme: string | null, n: number): AllocationGroup => ({
    year: 2024,
    subject,
    gradeBand: 'GRADES_1_7',
    county,
    funded,
    scheme,
    n,
  });
  const groups = [
    g('46', 'MAT', true, 'SUBSTITUTE', 12),
    g('46', 'ENG', true, 'SUBSTITUTE', 12),
    g('03', 'ENG', true, 'SCHOLARSHIP', 3),
    g('03', 'ENG', false, null, 20),
  ];

  it('shows the directorate every count exactly', () => {
    const f = fundingFigures(groups, UDIR, settings);
    expect(f).toMatchObject({
      funded: 27,
      notFunded: 20,
      byCounty: [
        { key: '03', funded: 3, notFunded: 20 },
        { key: '46', funded: 24, notFunded: 0 },
      ],
    });
    expect(f.bySubject).toEqual([
      { key: 'ENG', funded: 15, notFunded: 20 },
      { key: 'MAT', funded: 12, notFunded: 0 },
    ]);
    expect(f.split.map((s) => s.participants)).toEqual([24, 3]);
  });

  it('hides a total as soon as a county cell is hidden, and derives the split from shown counts', () => {
    const f = fundingFigures(groups, PUBLIC, settings);
    expect(f).toMatchObject({
      funded: null,
      notFunded: 20,
      byCounty: [
        { key: '03', funded: null, notFunded: 20 },
        { key: '46', funded: 25, notFunded: 0 },
      ],
    });
    // 12 maths and 12 other substitute participants are shown as 10 and 10.
    expect(f.split[0]).toEqual(substituteSplit(10, 10, settings));
    expect(f.split[1]!.participants).toBeNull();
  });
});

describe('offerCells and requirementRules', () => {
  it('counts every status, the cancelled ones, and the places of those offered this year', () => {
    const o = (status: string, offers: number, places: number) => ({ year: 2024, subject: 'MAT', gradeBand: 'GRADES_5_10', status, offers, places });
    const groups = [o('OFFERED', 9, 400), o('CANCELLED', 2, 60), o('NOT_OFFERED', 1, 30)];
    // Exact for everyone: offers are not persons, and the catalogue lists them all publicly.
    expect(offerCells(groups)).toEqual([{ subject: 'MAT', gradeBand: 'GRADES_5_10', offers: 12, cancelled: 2, places: 400 }]);
  });

  it("keeps the requirements in force when the year's studies start", () => {
    const r = (subject: string, gradeBand: string, inForceFrom: string) => ({ id: `${subject}-${gradeBand}`, subject, gradeBand, credits: 30, inForceFrom });
    const reqs = [r('NOR', 'GRADES_1_7', '2014-01-01'), r('ENG', 'GRADES_8_13', '2014-01-01'), r('MAT', 'GRADES_1_7', '2026-08-01')];
    expect(requirementRules(reqs, 2024).map((x) => x.subject)).toEqual(['ENG', 'NOR']);
    expect(requirementRules(reqs, 2026).map((x) => x.subject)).toEqual(['ENG', 'MAT', 'NOR']);
  });
});

describe('the insights configuration', () => {
  it('defaults to NOK 850,000 per FTE and a NOK 120,000 scholarship, and reads both from the environment', () => {
    expect(loadSubgraphConfig({ GATEWAY_SECRET: 'x'.repeat(32) }, 'catalogue', 4001).insights).toEqual(DEFAULT_INSIGHTS);
    expect(DEFAULT_INSIGHTS).toEqual({ nokPerFte: 850_000, scholarshipNok: 120_000 });
    expect(
      loadSubgraphConfig({ GATEWAY_SECRET: 'x'.repeat(32), INSIGHTS_NOK_PER_FTE: '900000', INSIGHTS_SCHOLARSHIP_NOK: '110000' }, 'catalogue', 4001).insights,
    ).toEqual({ nokPerFte: 900_000, scholarshipNok: 110_000 });
  });

  it('refuses malformed values, listing both', () => {
    expect(() => loadSubgraphConfig({ INSIGHTS_NOK_PER_FTE: '850k', INSIGHTS_SCHOLARSHIP_NOK: '-1' }, 'catalogue', 4001)).toThrow(
      /INSIGHTS_NOK_PER_FTE[\s\S]*INSIGHTS_SCHOLARSHIP_NOK/,
    );
    expect(() => loadSubgraphConfig({ INSIGHTS_NOK_PER_FTE: '0' }, 'catalogue', 4001)).toThrow(/INSIGHTS_NOK_PER_FTE/);
  });
});
