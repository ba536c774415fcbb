/**
 * The figures every partner maintains, against a full recount, after any sequence of the year's
 * mutations through the gateway: a property test. A seeded generator (the same sequence every run,
 * so a failure reproduces; `FIGURES_SEED=n` tries another) draws, window by window of one round,
 * mutations by every kind of caller over a few teachers and offers: many are refused (a wrong
 * state, a taken place, a double click), which must move no figure. After each window, and after
 * the directorate erases two teachers, every partner's figures equal a recount of its records, and
 * the per-study figures the API serves equal the documents counted by hand.
 */
import { settableClock } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFigures } from '../demo/figures.js';
import { BERGEN, HVL, OSLO, ROUND, UDF, UDIR, UIB, type Year, publishStudy, startYear, teacher } from './year-fixture.js';
import { seededRandom } from './store-client.js';

const clock = settableClock('2030-01-10T10:00:00Z');
let y: Year;
const SEED = Number(process.env.FIGURES_SEED ?? 19);
const rnd = seededRandom(SEED);
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
/** A teacher who applied, mostly; now and then one who did not (a refusal). */
const applicant = (): string => (rnd(10) === 0 || app.size === 0 ? pick(TEACHERS)[0] : pick([...app.keys()]));

const TEACHERS: [string, '4601' | '0301'][] = Array.from({ length: 12 }, (_, i) => [`t-${i}`, i % 3 === 2 ? '0301' : '4601']);
const ownerOf = (t: string) => (TEACHERS.find(([id]) => id === t)![1] === '4601' ? BERGEN : OSLO);
const STUDIES = ['K2ENG1510-2030', 'K2ENG1520-2030', 'K2ENG1530-2030'];
/** Each teacher's application, once submitted. */
const app = new Map<string, string>();
let accepted = 0;
let refused = 0;

/** Sends a mutation; counts whether it was accepted (a refusal is part of the property: it moves nothing). */
async function send(who: Parameters<Year['as']>[0], mutation: string): Promise<any> {
  const res = await y.as(who, mutation);
  if (res.errors) {
    refused++;
    // A refusal is the rules' (a code we give), never a crash.
    expect(
      res.errors.map((e) => e.extensions?.code),
      JSON.stringify(res.errors),
    ).not.toContain('INTERNAL_SERVER_ERROR');
    return undefined;
  }
  accepted++;
  await y.h.settle();
  return res.data;
}

/** Every partner's figures equal a recount of its records, and the API's per-study figures equal the documents counted by hand. */
async function figuresHold(when: string): Promise<void> {
  await y.h.settle();
  const reports = await checkFigures(y.h.dbs);
  expect(reports.length, when).toBeGreaterThan(3);
  expect(
    reports.flatMap((r) => r.differences.map((d) => ({ partner: r.partner, ...d }))),
    when,
  ).toEqual([]);
  const applications = await y.h.dbs.admissions.collection<{ study: string; admission: { outcome: string } | null }>('applications').find().toArray();
  const decisions = await y.h.dbs.plans.collection<{ study: string; owner: string; outcome: string }>('decisions').find().toArray();
  const feedback = await y.h.dbs.feedback.collection<{ study: string; rating: number }>('feedback').find().toArray();
  const served = (
    await y.as(
      UDIR,
      `{ ${STUDIES.map((s, i) => `s${i}: study(id: "${s}") { applicants admitted approvedApplications bergen: approvedApplications(owner: "4601") rating { count } }`).join(' ')} }`,
    )
  ).data;
  STUDIES.forEach((s, i) => {
    const mine = applications.filter((a) => a.study === s);
    const approved = decisions.filter((d) => d.study === s && d.outcome === 'APPROVED');
    expect(served[`s${i}`], `${when}: ${s}`).toEqual({
      applicants: mine.length,
      admitted: mine.filter((a) => a.admission?.outcome === 'ADMITTED').length,
      approvedApplications: approved.length,
      bergen: approved.filter((d) => d.owner === '4601').length,
      rating: { count: feedback.filter((f) => f.study === s).length },
    });
  });
}

beforeAll(async () => {
  y = await startYear(clock, TEACHERS);
  await y.ok(UDIR, ROUND);
}, 120_000);
afterAll(async () => {
  await y?.close();
});

describe(`figures after a random year (seed ${SEED})`, () => {
  it('offers: published, updated and cancelled (10 Jan)', async () => {
    for (const s of STUDIES) await send(UDIR, publishStudy(s.replace('-2030', ''), 1 + rnd(3)));
    for (let i = 0; i < 6; i++) {
      const s = pick(STUDIES);
      if (rnd(4) === 0 && s !== STUDIES[0]) await send(UDIR, `mutation { cancelStudy(id: "${s}") { status } }`);
      else await send(UDIR, `mutation { updateStudy(id: "${s}", input: { places: ${1 + rnd(4)} }) { places } }`);
    }
    await figuresHold('offers');
  });

  it('teachers apply and withdraw (10 Feb)', async () => {
    clock.set('2030-02-10T09:00:00Z');
    for (let i = 0; i < 30; i++) {
      const [t] = pick(TEACHERS);
      if (app.has(t) && rnd(5) === 0) {
        await send(teacher(t), `mutation { withdrawApplication(id: "${app.get(t)}") { status } }`);
        continue;
      }
      const single = rnd(2) === 0;
      const data = await send(
        teacher(t),
        `mutation { submitApplication(input: { study: "${pick(STUDIES)}", firstChoice: { campus: "Bergen", fundingScheme: ${pick(['SUBSTITUTE', 'SCHOLARSHIP'])} } ${single ? '' : 'secondChoice: { campus: "Bergen", fundingScheme: SUBSTITUTE }'} }) { id } }`,
      );
      if (data) app.set(t, data.submitApplication.id);
    }
    expect(app.size).toBeGreaterThan(4);
    await figuresHold('applications');
  });

  it('owners decide, change their minds, choose schemes and rank (5 Mar)', async () => {
    clock.set('2030-03-05T09:00:00Z');
    for (let i = 0; i < 40; i++) {
      const t = applicant();
      const id = app.get(t) ?? 'a-unknown';
      const owner = rnd(8) === 0 ? pick([BERGEN, OSLO]) : ownerOf(t);
      if (rnd(5) === 0)
        await send(owner, `mutation { chooseFundingScheme(application: "${id}", fundingScheme: ${pick(['SUBSTITUTE', 'SCHOLARSHIP'])}) { outcome } }`);
      else if (rnd(3) === 0)
        await send(
          owner,
          `mutation { decideApplication(application: "${id}", outcome: REJECTED, reason: ${pick(['COST', 'PRIORITIES', 'OTHER'])}) { outcome } }`,
        );
      else
        await send(
          owner,
          `mutation { decideApplication(application: "${id}", outcome: APPROVED, fundingScheme: ${pick(['SUBSTITUTE', 'SCHOLARSHIP'])}) { outcome } }`,
        );
    }
    for (const owner of [BERGEN, OSLO]) {
      const approved =
        (
          await y.as(
            owner,
            `{ applications(filter: { schoolOwner: "${owner.org}", year: 2030 }, first: 50) { edges { node { id ownerDecision { outcome } } } } }`,
          )
        ).data?.applications?.edges ?? [];
      const ids = approved.filter((e: any) => e.node.ownerDecision?.outcome === 'APPROVED').map((e: any) => e.node.id);
      if (ids.length) await send(owner, `mutation { rankApplications(year: 2030, applications: ${JSON.stringify([...ids].sort(() => rnd(3) - 1))}) { rank } }`);
    }
    await figuresHold('owners’ decisions');
  });

  it('Udir allocates (10 Apr) and institutions admit (10 May)', async () => {
    clock.set('2030-04-10T09:00:00Z');
    for (const [t] of TEACHERS)
      if (app.has(t) && rnd(4) !== 0) await send(UDIR, `mutation { allocateFunding(application: "${app.get(t)}", funded: ${rnd(3) !== 0}) { funded } }`);
    clock.set('2030-05-10T09:00:00Z');
    for (let i = 0; i < 30; i++) {
      const t = applicant();
      const outcome = pick(['ADMITTED', 'ADMITTED', 'WAITLISTED', 'REJECTED']);
      await send(
        rnd(10) === 0 ? HVL : UIB,
        `mutation { decideAdmission(application: "${app.get(t) ?? 'a-unknown'}", outcome: ${outcome}${outcome === 'ADMITTED' && rnd(3) === 0 ? ', outsideSchemes: true' : ''}) { status } }`,
      );
    }
    await figuresHold('admissions');
  });

  it('the study year: confirmations, enrolments, withdrawals, completions, feedback (20 Aug)', async () => {
    clock.set('2030-08-20T09:00:00Z');
    for (let i = 0; i < 50; i++) {
      const t = applicant();
      const id = app.get(t) ?? 'a-unknown';
      const step = rnd(6);
      if (step === 0) await send(ownerOf(t), `mutation { confirmParticipation(application: "${id}") { participationConfirmed } }`);
      else if (step === 1) await send(UIB, `mutation { recordEnrolment(application: "${id}") { id } }`);
      else if (step === 2) await send(UIB, `mutation { recordCompletion(application: "${id}", credits: ${1 + rnd(30)}) { creditsCompleted } }`);
      else if (step === 3 && rnd(3) === 0) await send(teacher(t), `mutation { withdrawApplication(id: "${id}") { status } }`);
      else {
        const topics =
          rnd(2) === 0 ? '' : `, topics: [{ topic: QUALITY, rating: ${1 + rnd(5)} }${rnd(2) === 0 ? `, { topic: RELEVANCE, rating: ${1 + rnd(5)} }` : ''}]`;
        await send(teacher(t), `mutation { giveFeedback(input: { study: "${pick(STUDIES)}", rating: ${1 + rnd(5)}, union: "UDF"${topics} }) { rating } }`);
      }
    }
    await send(UDF, 'mutation { publishStatement(input: { topic: OWN_TIME, title: "Egen tid", body: "25 % er for mye." }) { id } }');
    await figuresHold('the study year');
  });

  it('the directorate erases two teachers everywhere; every figure still equals a recount', async () => {
    const erase = (t: string) =>
      `mutation { a: eraseTeacherApplications(teacher: "${t}") { records } b: eraseTeacherRecord(teacher: "${t}") { records } c: eraseTeacherAllocations(teacher: "${t}") { records } d: eraseTeacherFeedback(teacher: "${t}") { records } }`;
    for (const t of [...app.keys()].slice(0, 2)) await send(UDIR, erase(t));
    await figuresHold('after erasure');
    // The sequence did both: writes that moved figures, and refusals that must not have.
    expect(accepted).toBeGreaterThan(40);
    expect(refused).toBeGreaterThan(10);
  });
});
