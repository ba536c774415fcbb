import { type Identity } from '@partnerskap/kit';
import { describe, expect, it } from 'vitest';
import {
  type OwnerCell,
  type TopicCell,
  competenceFromCells,
  decisionTotal,
  ownerPartitions,
  requirementRules,
  rulesKey,
  shownCompetence,
  topicPartitions,
} from './insights.js';

const publicCaller = { role: 'public' } as Identity;
const directorate = { role: 'directorate' } as Identity;
const owner = (o: string, county: string, approved: number, refused: number, confirmed = 0): OwnerCell => ({
  year: 2024,
  owner: o,
  county,
  approved,
  refused,
  confirmed,
});
/** A topic cell of the one study of its subject and grade band. */
const topic = (subject: string, gradeBand: string, reason: string | null, approved: number, refused: number): TopicCell => ({
  year: 2024,
  subject,
  gradeBand,
  study: `${subject}-${gradeBand}`,
  reason,
  approved,
  refused,
  confirmed: 0,
});

describe('the competence rule', () => {
  const ENG_RULES = [
    { subject: 'ENG', gradeBand: 'GRADES_8_13', credits: 60 },
    { subject: 'ENG', gradeBand: 'GRADES_1_7', credits: 30 },
    { subject: 'ENG', gradeBand: 'GRADES_5_10', credits: 60 },
    { subject: 'NOR', gradeBand: 'GRADES_1_7', credits: 0 },
  ];
  const held = (credits: number) => [{ subject: 'ENG', credits }];

  it('asks 30 credits for years 1-7 and 60 for 8-10 and upper secondary, the highest of the levels taught', () => {
    const cells = [
      // years 5-7 fall under the 1-7 rule only: 30 is enough
      { subject: 'ENG', levels: [5, 6, 7], credits: held(30), teachers: 7 },
      // years 7-9 touch the 5-10 rule (8-10): 60 needed
      { subject: 'ENG', levels: [7, 8, 9], credits: held(30), teachers: 5 },
      { subject: 'ENG', levels: [11, 12, 13], credits: held(60), teachers: 40 },
      // no credits held in the subject is 0
      { subject: 'ENG', levels: [1, 2], credits: [{ subject: 'MAT', credits: 60 }], teachers: 2 },
    ];
    expect(competenceFromCells(ENG_RULES, cells)).toEqual([{ subject: 'ENG', teachers: 54, below: 7 }]);
  });

  it('has a row only for subjects with teachers where a rule applies; rules of 0 credits bind nobody', () => {
    const cells = [
      { subject: 'NOR', levels: [1, 2, 3], credits: [], teachers: 9 },
      { subject: 'NOR', levels: [11], credits: [], teachers: 4 },
      { subject: 'MAT', levels: [1, 2, 3], credits: [], teachers: 9 },
    ];
    expect(competenceFromCells(ENG_RULES, cells)).toEqual([{ subject: 'NOR', teachers: 9, below: 0 }]);
  });

  it('shows the public rounded counts and a share of them; the directorate exact ones', () => {
    const rows = [
      { subject: 'ENG', teachers: 12, below: 3 },
      { subject: 'MAT', teachers: 23, below: 8 },
    ];
    expect(shownCompetence(publicCaller, rows)).toEqual([
      { subject: 'ENG', teachers: 10, below: null, share: null },
      { subject: 'MAT', teachers: 25, below: 10, share: 0.4 },
    ]);
    expect(shownCompetence(directorate, rows)).toEqual([
      { subject: 'ENG', teachers: 12, below: 3, share: 0.25 },
      { subject: 'MAT', teachers: 23, below: 8, share: 0.35 },
    ]);
  });

  it('refuses malformed rules, and keys the same rules in any order alike', () => {
    expect(() => requirementRules([{ subject: 'ENG', gradeBand: 'GRADES_2_4', credits: 30 }])).toThrow();
    expect(() => requirementRules([{ subject: { $ne: null }, gradeBand: 'GRADES_1_7', credits: 30 }])).toThrow();
    expect(() => requirementRules([{ subject: 'ENG', gradeBand: 'GRADES_1_7', credits: -1 }])).toThrow();
    expect(() => requirementRules(null)).toThrow();
    const a = { subject: 'ENG', gradeBand: 'GRADES_1_7', credits: 30 };
    const b = { subject: 'MAT', gradeBand: 'GRADES_8_13', credits: 60 };
    expect(rulesKey([a, b])).toBe(rulesKey([b, a]));
    expect(rulesKey([a])).not.toBe(rulesKey([{ ...a, credits: 60 }]));
  });
});

describe('decision figures as the public sees them', () => {
  it('shows a county as a cell of its own: hidden or rounded on its sum, whatever its owners’ counts', () => {
    const owners = [owner('4601', '46', 8, 8), owner('4602', '46', 9, 1), owner('03', '03', 12, 3)];
    const { byCounty, byOwner } = ownerPartitions(publicCaller, owners);
    // 46: 17 approved and 9 refused (4602's 1 is not hidden on its own: its row is the directorate's only).
    expect(byCounty.map((c) => [c.key, c.approved, c.refused, c.refusalRate])).toEqual([
      ['03', 10, null, null],
      ['46', 15, 10, 0.4],
    ]);
    // Should the owners' rows ever be computed for such a caller, they are hidden or rounded too.
    expect(byOwner.map((c) => [c.key, c.approved, c.refused])).toEqual([
      ['03', 10, null],
      ['4601', 10, 10],
      ['4602', 10, null],
    ]);
    const exact = ownerPartitions(directorate, owners);
    expect(exact.byCounty.map((c) => [c.key, c.approved, c.refused, c.refusalRate])).toEqual([
      ['03', 12, 3, 0.2],
      ['46', 17, 9, 0.35],
    ]);
    expect(exact.byOwner.map((c) => [c.key, c.approved, c.refused])).toEqual([
      ['03', 12, 3],
      ['4601', 8, 8],
      ['4602', 9, 1],
    ]);
  });

  it('hides a count of the total when a county, subject or grade band cell has it at 1 to 4, never for an owner’s alone; else adds cells up as shown', () => {
    // Subjects ENG 11 / MAT 12 approved, 10 / 12 refused, all for cost; two grade bands alike.
    const topics = [
      topic('ENG', 'GRADES_1_7', null, 11, 0),
      topic('MAT', 'GRADES_8_13', null, 12, 0),
      topic('ENG', 'GRADES_1_7', 'COST', 0, 10),
      topic('MAT', 'GRADES_8_13', 'COST', 0, 12),
    ];
    // Owners of 46 with 2 and 3 approvals: the county's 5 shows, and with it the total: approvals the
    // studies' as shown (11 + 12 as 10 + 10, not 23 rounded), refusals the counties' (16 + 6 as 15 + 5).
    const owners = [owner('4601', '46', 2, 10), owner('4602', '46', 3, 6), owner('03', '03', 18, 6)];
    expect(decisionTotal(publicCaller, 2024, owners, topics)).toEqual({ key: '2024', approved: 20, refused: 20, refusalRate: 0.5, confirmed: 0 });
    expect(decisionTotal(directorate, 2024, owners, topics)).toEqual({ key: '2024', approved: 23, refused: 22, refusalRate: 0.49, confirmed: 0 });
    // County 03 with 3 approvals hides the approvals' total, not the refusals'.
    const hiddenCounty = [owner('4601', '46', 20, 10), owner('03', '03', 3, 12)];
    expect(decisionTotal(publicCaller, 2024, hiddenCounty, topics)).toEqual({ key: '2024', approved: null, refused: 20, refusalRate: null, confirmed: 0 });
    expect(decisionTotal(directorate, 2024, hiddenCounty, topics)).toMatchObject({ approved: 23, refused: 22 });
    // MAT with 2 approvals (grade band 1-7 with all 23) hides it as well.
    const hiddenSubject = [
      topic('ENG', 'GRADES_1_7', null, 21, 0),
      topic('MAT', 'GRADES_1_7', null, 2, 0),
      topic('ENG', 'GRADES_1_7', 'COST', 0, 10),
      topic('MAT', 'GRADES_1_7', 'COST', 0, 12),
    ];
    expect(decisionTotal(publicCaller, 2024, owners, hiddenSubject)).toMatchObject({ approved: null, refused: 20 });
    // And grades 8-13 with 3 approvals (ENG with all 23).
    const hiddenBand = [topic('ENG', 'GRADES_1_7', null, 20, 0), topic('ENG', 'GRADES_8_13', null, 3, 0), topic('ENG', 'GRADES_1_7', 'COST', 0, 22)];
    expect(decisionTotal(publicCaller, 2024, owners, hiddenBand)).toMatchObject({ approved: null, refused: 20 });
    // Confirmed participations follow the same rule: 4 in county 03 hide their total; 2 and 3 in one county do not.
    const confirmed = (c03: number) => [owner('4601', '46', 17, 10, 2), owner('4602', '46', 3, 0, 3), owner('03', '03', 3, 12, c03)];
    expect(decisionTotal(publicCaller, 2024, confirmed(4), topics).confirmed).toBeNull();
    expect(decisionTotal(publicCaller, 2024, confirmed(6), topics).confirmed).toBe(10);
  });

  it('hides the total of a count when a cell of any partition adding up to it is hidden', () => {
    const owners = [owner('4601', '46', 20, 10), owner('03', '03', 20, 10)];
    // Owners all show, but MAT's refusals are 3: the total minus ENG's would narrow them down.
    const topics = [
      topic('ENG', 'GRADES_1_7', null, 20, 0),
      topic('MAT', 'GRADES_1_7', null, 20, 0),
      topic('ENG', 'GRADES_1_7', 'COST', 0, 17),
      topic('MAT', 'GRADES_1_7', 'COST', 0, 3),
    ];
    expect(decisionTotal(publicCaller, 2024, owners, topics)).toEqual({ key: '2024', approved: 40, refused: null, refusalRate: null, confirmed: 0 });
    expect(decisionTotal(directorate, 2024, owners, topics)).toEqual({ key: '2024', approved: 40, refused: 20, refusalRate: 0.33, confirmed: 0 });
    // A hidden reason hides the refusals' total too, not the approvals'.
    const byReason = [topic('ENG', 'GRADES_1_7', null, 40, 0), topic('ENG', 'GRADES_1_7', 'COST', 0, 18), topic('ENG', 'GRADES_1_7', 'OTHER', 0, 2)];
    expect(decisionTotal(publicCaller, 2024, owners, byReason)).toMatchObject({ approved: 40, refused: null });
    expect(decisionTotal(publicCaller, 2024, owners, [topic('ENG', 'GRADES_1_7', null, 40, 0), topic('ENG', 'GRADES_1_7', 'COST', 0, 20)])).toMatchObject({
      approved: 40,
      refused: 20,
      refusalRate: 0.33,
    });
  });

  it('rolls topics up per subject, grade band and reason, in key order', () => {
    const topics = [
      topic('MAT', 'GRADES_8_13', null, 6, 0),
      topic('ENG', 'GRADES_1_7', 'PRIORITIES', 0, 7),
      topic('ENG', 'GRADES_8_13', 'COST', 0, 2),
      topic('ENG', 'GRADES_8_13', null, 5, 0),
    ];
    const exact = topicPartitions(directorate, topics);
    expect(exact.bySubject.map((c) => [c.key, c.approved, c.refused])).toEqual([
      ['ENG', 5, 9],
      ['MAT', 6, 0],
    ]);
    expect(exact.byGradeBand.map((c) => [c.key, c.approved, c.refused])).toEqual([
      ['GRADES_1_7', 0, 7],
      ['GRADES_8_13', 11, 2],
    ]);
    expect(exact.reasons).toEqual([
      { reason: 'COST', count: 2 },
      { reason: 'PRIORITIES', count: 7 },
    ]);
    expect(topicPartitions(publicCaller, topics).reasons).toEqual([
      { reason: 'COST', count: null },
      { reason: 'PRIORITIES', count: 5 },
    ]);
  });
});

describe('approvals per subject as the public sees them', () => {
  it('adds a subject’s approvals up from its studies as shown, hidden with any of them', () => {
    const study = (id: string, approved: number): TopicCell => ({
      year: 2024,
      subject: 'MAT',
      gradeBand: 'GRADES_1_7',
      study: id,
      reason: null,
      approved,
      refused: 0,
      confirmed: 0,
    });
    // Four studies of 7 (each shown 5): 28 rounded would be 30 and pin every study to 7.
    expect(
      topicPartitions(
        publicCaller,
        ['a', 'b', 'c', 'd'].map((id) => study(id, 7)),
      ).bySubject,
    ).toEqual([{ key: 'MAT', approved: 20, refused: 0, refusalRate: 0, confirmed: 0 }]);
    expect(topicPartitions(publicCaller, [study('a', 5), study('b', 1), study('c', 1)]).bySubject[0]!.approved).toBeNull();
    expect(topicPartitions(directorate, [study('a', 5), study('b', 1), study('c', 1)]).bySubject[0]!.approved).toBe(7);
  });
});
