import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { rebuildFigures } from '../demo/figures.js';

// The tiny population the audit guards (kit's protectPartitions): a year whose three studies have
// 1, 1 and 5 applications, all from one county. Shown as it once was, the county's 7 (shown 5)
// beside the studies (hidden, hidden, 5) pins both hidden studies at 1: the county is at most 7,
// the shown study at least 5, each hidden one at least 1. Through the gateway, as the public.
const YEAR = 2033;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
  await h.dbs.catalogue.collection('rounds').insertOne({
    _id: YEAR,
    opens: `${YEAR - 1}-02-01`,
    teacherDeadline: `${YEAR - 1}-03-01`,
    ownerDeadline: `${YEAR - 1}-03-15`,
    allocationDeadline: `${YEAR - 1}-04-30`,
    admissionDeadline: `${YEAR - 1}-05-31`,
    confirmationDeadline: `${YEAR - 1}-09-01`,
  } as never);
  let n = 0;
  const applications = (count: number, subject: string) =>
    Array.from({ length: count }, () => ({
      _id: `tiny-${++n}`,
      teacher: `t-tiny-${n}`,
      study: `S-TINY-${subject}-${YEAR}`,
      year: YEAR,
      subject,
      gradeBand: 'GRADES_8_13',
      institution: 'inst-tiny',
      owner: '4601',
      county: '46',
      ownerApproved: true,
      firstChoice: { campus: 'Tiny', fundingScheme: 'STIPEND' },
      secondChoice: null,
      submittedAt: new Date(`${YEAR - 1}-03-01T10:00:00Z`),
      admission: null,
      enrolment: null,
      creditsCompleted: 0,
      completedAt: null,
      withdrawnAt: null,
    }));
  await h.dbs.admissions.collection('applications').insertMany([...applications(1, 'ENG'), ...applications(1, 'MAT'), ...applications(5, 'NOR')] as never[]);
  // Written around the subgraph: its figures are counted from the records again, as a bulk load does.
  await rebuildFigures(h.dbs, ['admissions']);
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('a tiny year through the gateway, as the public', () => {
  it('hides the county beside the studies it would pin, and every figure left leaves the hidden studies open', async () => {
    const res = await h.query<any>(
      `{ insights(year: ${YEAR}) { applications { total { applications } bySubject { key applications } byCounty { key applications } } } }`,
    );
    expect(res.errors).toBeUndefined();
    const { total, bySubject, byCounty } = res.data.insights.applications;
    expect(bySubject).toEqual([
      { key: 'ENG', applications: null },
      { key: 'MAT', applications: null },
      { key: 'NOR', applications: 5 },
    ]);
    // Shown, the county (7, as 5) would say ENG + MAT + NOR <= 7 with NOR >= 5: ENG = MAT = 1.
    expect(byCounty).toEqual([{ key: '46', applications: null }]);
    expect(total.applications).toBeNull();
    // What is left: ENG and MAT each 1 to 4, NOR 5 to 7, nothing tying them: none pinned.
  });

  it('the directorate still sees every figure exactly', async () => {
    const res = await h.query<any>(
      `{ insights(year: ${YEAR}) { applications { total { applications } byCounty { key applications } } } }`,
      {},
      { token: await h.token({ role: 'directorate' }) },
    );
    expect(res.data.insights.applications).toEqual({ total: { applications: 7 }, byCounty: [{ key: '46', applications: 7 }] });
  });
});
