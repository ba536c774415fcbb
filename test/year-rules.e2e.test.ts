import { settableClock } from '@partnerskap/kit';
import { reconcile } from '../demo/projections.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERGEN, HVL, OSLO, ROUND, UDF, UDIR, UIB, type Year, publishStudy, startYear, submitApplication, teacher } from './year-fixture.js';

// Every mutation of the year: its happy path and each refusal that applies to it (wrong state,
// deadline not open or passed, another partner's decision missing, bad input, another
// organisation), each asserting the code, the field, and that every collection of all four
// databases is exactly as before. One clock moves through the round's windows. Every rule that
// needs another partner's decision reads this partner's projection of it (kept from the other's
// events): with that partner down, the write is accepted or refused exactly as with it up.
const clock = settableClock('2030-01-10T10:00:00Z');
let y: Year;
const S1 = 'K2ENG1510-2030'; // 1 place
const S2 = 'K2ENG1520-2030'; // 4 places
const S3 = 'K2ENG1530-2030'; // cancelled
const app: Record<string, string> = {};
/** A school-owner token for an organisation plans has no owner for. */
const NO_OWNER = { role: 'school-owner', org: '9999' } as const;

beforeAll(async () => {
  y = await startYear(clock, [
    ['t-anna', '4601'],
    ['t-bjorn', '4601'],
    ['t-cecilie', '0301'],
    ['t-dag', '4601'],
    ['t-eva', '4601'],
  ]);
  await y.ok(UDIR, ROUND);
}, 120_000);
afterAll(async () => {
  await y?.close();
});

const decide = (id: string, rest: string) => `mutation { decideApplication(application: "${id}", ${rest}) { outcome rank fundingScheme } }`;
const admit = (id: string, outcome = 'ADMITTED', rest = '') =>
  `mutation { decideAdmission(application: "${id}", outcome: ${outcome}${rest}) { status admission { outcome outsideSchemes } } }`;
const allocate = (id: string, funded = true) => `mutation { allocateFunding(application: "${id}", funded: ${funded}) { funded scheme } }`;
/** A mutation that must succeed with the given partners down (its rules read projections only); they are back, and caught up, after. */
async function okDown<T = any>(down: ('catalogue' | 'admissions' | 'plans' | 'feedback')[], who: Parameters<Year['ok']>[0], mutation: string): Promise<T> {
  for (const d of down) await y.h.stopSubgraph(d);
  try {
    return await y.ok<T>(who, mutation);
  } finally {
    for (const d of down) await y.h.restartSubgraph(d);
    await y.h.settle();
  }
}
const confirm = (id: string) => `mutation { confirmParticipation(application: "${id}") { participationConfirmed } }`;
const complete = (id: string, credits = 30) => `mutation { recordCompletion(application: "${id}", credits: ${credits}) { status creditsCompleted } }`;
const status = async (id: string) => (await y.as(UDIR, `{ application(id: "${id}") { status } }`)).data.application.status;

describe('before the round opens (10 Jan)', () => {
  it('publishStudy: publishes; refuses an unknown subject or institution, and with admissions down', async () => {
    expect((await y.ok(UDIR, publishStudy('K2ENG1510', 1))).publishStudy).toEqual({ id: S1, status: 'OFFERED', places: 1 });
    expect((await y.ok(UDIR, publishStudy('K2ENG1520', 5))).publishStudy.id).toBe(S2);
    expect((await y.ok(UDIR, publishStudy('K2ENG1530', 5))).publishStudy.id).toBe(S3);
    await y.refused(UDIR, publishStudy('K2ENG1540', 5).replace('"ENG"', '"XYZ"'), 'BAD_USER_INPUT', 'input.subject');
    await y.refused(UDIR, publishStudy('K2ENG1540', 5).replace('"971035854"', '"999999999"'), 'BAD_USER_INPUT', 'input.institution');
    await y.refused(UDIR, publishStudy('K2ENG1540', 5).replace('places: 5', 'places: 0'), 'BAD_USER_INPUT', 'input.places');
    // The institution's campuses are the catalogue's projection of admissions' institutions: checked with admissions down.
    await y.refused(UDIR, publishStudy('K2ENG1540', 5, 'Tromsø'), 'BAD_USER_INPUT', 'input.campus', 'admissions');
  });

  it('updateStudy: changes places; refuses an unknown offer, an empty change, a campus change with admissions down', async () => {
    expect((await y.ok(UDIR, `mutation { updateStudy(id: "${S2}", input: { places: 4 }) { places } }`)).updateStudy).toEqual({ places: 4 });
    await y.refused(UDIR, 'mutation { updateStudy(id: "K2NOPE-2030", input: { places: 4 }) { places } }', 'NOT_FOUND', 'id');
    await y.refused(UDIR, `mutation { updateStudy(id: "${S2}", input: {}) { places } }`, 'BAD_USER_INPUT', 'input');
    await y.refused(UDIR, `mutation { updateStudy(id: "${S2}", input: { campus: "Tromsø" }) { places } }`, 'BAD_USER_INPUT', 'input.campus', 'admissions');
  });

  it('cancelStudy: cancels; refuses twice; a cancelled offer takes no change and no application', async () => {
    expect((await y.ok(UDIR, `mutation { cancelStudy(id: "${S3}") { status } }`)).cancelStudy).toEqual({ status: 'CANCELLED' });
    await y.refused(UDIR, `mutation { cancelStudy(id: "${S3}") { status } }`, 'INVALID_STATE', 'id');
    await y.refused(UDIR, `mutation { updateStudy(id: "${S3}", input: { places: 9 }) { places } }`, 'INVALID_STATE', 'id');
  });

  it('openRound: refuses dates out of order or in the wrong year', async () => {
    await y.refused(
      UDIR,
      ROUND.replace('2030, opens: "2030-02-01"', '2031, opens: "2030-02-01"').replace('"2030-03-15"', '"2030-02-15"'),
      'BAD_USER_INPUT',
      'input.ownerDeadline',
    );
    await y.refused(UDIR, ROUND.replace('year: 2030', 'year: 2032'), 'BAD_USER_INPUT', 'input.opens');
  });

  it('submitApplication: not before the round opens', async () => {
    await y.refused(teacher('t-anna'), submitApplication(S1), 'NOT_OPEN_YET', 'input.study');
  });
});

describe('teachers apply (10 Feb)', () => {
  it('submitApplication: applies; refuses a second application, a campus not taught, a cancelled or unknown offer, a teacher no owner employs, partners down', async () => {
    clock.set('2030-02-10T09:00:00Z');
    for (const [t, s, single] of [
      ['t-anna', S1, false],
      ['t-bjorn', S1, false],
      ['t-cecilie', S1, false],
      ['t-dag', S2, true],
    ] as const) {
      app[t] = (await y.ok(teacher(t), submitApplication(s, single))).submitApplication.id;
    }
    // With the catalogue and plans both down, a teacher still applies: admissions asks neither.
    // (Its status is planned from their decisions: the answer selects admissions' own fields.)
    app['t-eva'] = (await okDown(['catalogue', 'plans'], teacher('t-eva'), submitApplication(S2).replace('{ id status }', '{ id }'))).submitApplication.id;
    await y.refused(teacher('t-anna'), submitApplication(S2), 'CONFLICT', 'input.study');
    await y.refused(
      teacher('t-eva'),
      submitApplication(S1).replace('"Bergen", fundingScheme: SUBSTITUTE', '"Tromsø", fundingScheme: SUBSTITUTE'),
      'BAD_USER_INPUT',
      'input.firstChoice.campus',
    );
    await y.refused(teacher('t-fred'), submitApplication(S3), 'INVALID_STATE', 'input.study');
    await y.refused(teacher('t-fred'), submitApplication(S1), 'FORBIDDEN', 'input.study');
    await y.refused(teacher('t-fred'), submitApplication(S1), 'FORBIDDEN', 'input.study', 'catalogue');
    // A study no offer has is refused before it is stored: one the catalogue does not know, and one of no offer's shape (without asking it).
    await y.refused(teacher('t-fred'), submitApplication('K2NOPE-2030'), 'BAD_USER_INPUT', 'input.study');
    await y.refused(teacher('t-fred'), submitApplication('K2ENG1510'), 'BAD_USER_INPUT', 'input.study', 'catalogue');
    await y.refused(teacher('t-fred'), submitApplication(S1), 'FORBIDDEN', 'input.study', 'plans');
  });

  it('withdrawApplication: withdraws; refuses twice and another teacher', async () => {
    expect((await y.ok(teacher('t-eva'), `mutation { withdrawApplication(id: "${app['t-eva']}") { status withdrawnAt } }`)).withdrawApplication).toEqual({
      status: 'WITHDRAWN',
      withdrawnAt: '2030-02-10T09:00:00.000Z',
    });
    await y.refused(teacher('t-eva'), `mutation { withdrawApplication(id: "${app['t-eva']}") { id } }`, 'INVALID_STATE', 'id');
    await y.refused(teacher('t-anna'), `mutation { withdrawApplication(id: "${app['t-bjorn']}") { id } }`, 'FORBIDDEN', 'id');
  });

  it('decideApplication: not before the teachers’ deadline', async () => {
    await y.refused(BERGEN, decide(app['t-anna']!, 'outcome: APPROVED'), 'NOT_OPEN_YET', 'application');
  });
});

describe('owners decide (5 Mar)', () => {
  it('decideApplication: approves, rejects, changes its mind; refuses a withdrawn or unknown application, a scheme not chosen, an unknown owner, partners down', async () => {
    clock.set('2030-03-05T09:00:00Z');
    await y.refused(UDIR, publishStudy('K2ENG1540', 5), 'DEADLINE_PASSED', 'input.year');
    await y.refused(UDIR, `mutation { updateStudy(id: "${S2}", input: { places: 3 }) { places } }`, 'DEADLINE_PASSED', 'id');
    expect((await y.ok(BERGEN, decide(app['t-anna']!, 'outcome: APPROVED'))).decideApplication).toEqual({
      outcome: 'APPROVED',
      rank: 1,
      fundingScheme: 'SUBSTITUTE',
    });
    expect((await y.ok(BERGEN, decide(app['t-bjorn']!, 'outcome: REJECTED, reason: PRIORITIES'))).decideApplication.outcome).toBe('REJECTED');
    expect((await y.ok(BERGEN, decide(app['t-bjorn']!, 'outcome: APPROVED'))).decideApplication).toMatchObject({ outcome: 'APPROVED', rank: 2 });
    expect((await y.ok(OSLO, decide(app['t-cecilie']!, 'outcome: REJECTED, reason: COST'))).decideApplication.outcome).toBe('REJECTED');
    await y.refused(BERGEN, decide(app['t-eva']!, 'outcome: APPROVED'), 'INVALID_STATE', 'application');
    await y.refused(BERGEN, decide(app['t-dag']!, 'outcome: APPROVED, fundingScheme: SCHOLARSHIP'), 'BAD_USER_INPUT', 'fundingScheme');
    await y.refused(BERGEN, decide(app['t-dag']!, 'outcome: APPROVED, reason: COST'), 'BAD_USER_INPUT', 'reason');
    // The teacher's schemes and withdrawal are plans' projection of admissions' application: checked with either partner down.
    await y.refused(BERGEN, decide(app['t-dag']!, 'outcome: APPROVED, fundingScheme: SCHOLARSHIP'), 'BAD_USER_INPUT', 'fundingScheme', 'admissions');
    await y.refused(BERGEN, decide(app['t-eva']!, 'outcome: APPROVED'), 'INVALID_STATE', 'application', 'catalogue');
    // A decision on no application, or by an owner plans does not know (refused locally, without asking admissions), is never stored.
    await y.refused(BERGEN, decide('a-nope', 'outcome: APPROVED'), 'BAD_USER_INPUT', 'application');
    await y.refused(NO_OWNER, decide(app['t-dag']!, 'outcome: APPROVED'), 'FORBIDDEN', 'application', 'admissions');
    expect((await okDown(['admissions', 'catalogue'], BERGEN, decide(app['t-dag']!, 'outcome: APPROVED'))).decideApplication).toMatchObject({ rank: 3 });
    // The institution sees approved applications only (admissions learns of an approval from plans' event).
    expect((await y.as(UIB, `{ application(id: "${app['t-cecilie']}") { id } }`)).errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect((await y.as(UIB, `{ application(id: "${app['t-anna']}") { id } }`)).data.application).toEqual({ id: app['t-anna'] });
  });

  it('chooseFundingScheme: switches to the teacher’s other choice; refuses a rejected application, a scheme not chosen, admissions down', async () => {
    expect(
      (await y.ok(BERGEN, `mutation { chooseFundingScheme(application: "${app['t-anna']}", fundingScheme: SCHOLARSHIP) { fundingScheme } }`))
        .chooseFundingScheme,
    ).toEqual({ fundingScheme: 'SCHOLARSHIP' });
    await y.refused(
      OSLO,
      `mutation { chooseFundingScheme(application: "${app['t-cecilie']}", fundingScheme: SUBSTITUTE) { fundingScheme } }`,
      'INVALID_STATE',
      'application',
    );
    await y.refused(
      BERGEN,
      `mutation { chooseFundingScheme(application: "${app['t-dag']}", fundingScheme: SCHOLARSHIP) { fundingScheme } }`,
      'BAD_USER_INPUT',
      'fundingScheme',
    );
    await y.refused(
      BERGEN,
      `mutation { chooseFundingScheme(application: "${app['t-dag']}", fundingScheme: SCHOLARSHIP) { fundingScheme } }`,
      'BAD_USER_INPUT',
      'fundingScheme',
      'admissions',
    );
  });

  it('rankApplications: ranks all approved ones; refuses a repeat, an incomplete list, another owner’s or no application, an unknown owner, catalogue down', async () => {
    const rank = (ids: string[]) => `mutation { rankApplications(year: 2030, applications: ${JSON.stringify(ids)}) { rank } }`;
    expect((await okDown(['catalogue'], BERGEN, rank([app['t-dag']!, app['t-anna']!, app['t-bjorn']!]))).rankApplications).toEqual([
      { rank: 1 },
      { rank: 2 },
      { rank: 3 },
    ]);
    await y.refused(BERGEN, rank([app['t-dag']!, app['t-dag']!, app['t-anna']!]), 'BAD_USER_INPUT', 'applications');
    await y.refused(BERGEN, rank([app['t-dag']!, app['t-anna']!]), 'BAD_USER_INPUT', 'applications');
    await y.refused(BERGEN, rank([app['t-dag']!, app['t-anna']!, app['t-cecilie']!]), 'BAD_USER_INPUT', 'applications.2');
    await y.refused(BERGEN, rank([app['t-dag']!, 'a-nope', app['t-bjorn']!]), 'BAD_USER_INPUT', 'applications.1');
    // An owner plans does not know ranks nothing, not even an empty list (no audit line in its name).
    await y.refused(NO_OWNER, rank([]), 'FORBIDDEN', 'year');
    await y.refused(BERGEN, rank([app['t-anna']!, app['t-dag']!]), 'BAD_USER_INPUT', 'applications', 'catalogue');
  });

  it('saveCompetencePlan: saves and replaces; refuses a repeated priority and a negative budget', async () => {
    const plan = (budget: number, priorities: string) =>
      `mutation { saveCompetencePlan(year: 2030, input: { budgetNok: ${budget}, priorities: [${priorities}] }) { year budgetNok priorities { subject { code } targetTeachers } } }`;
    const eng = '{ subject: "ENG", gradeBand: GRADES_5_10, targetTeachers: 12 }';
    expect((await y.ok(BERGEN, plan(2_000_000, eng))).saveCompetencePlan).toEqual({
      year: 2030,
      budgetNok: 2_000_000,
      priorities: [{ subject: { code: 'ENG' }, targetTeachers: 12 }],
    });
    expect((await y.ok(BERGEN, plan(2_500_000, eng))).saveCompetencePlan.budgetNok).toBe(2_500_000);
    await y.refused(BERGEN, plan(1, `${eng}, ${eng}`), 'BAD_USER_INPUT', 'input.priorities.1');
    await y.refused(BERGEN, plan(-1, eng), 'BAD_USER_INPUT', 'input.budgetNok');
    // A reference to a subject no partner knows is refused before it is stored.
    await y.refused(BERGEN, plan(1, `${eng}, { subject: "XYZ", gradeBand: GRADES_5_10, targetTeachers: 1 }`), 'BAD_USER_INPUT', 'input.priorities.1.subject');
  });

  it('allocateFunding: not before the owners’ deadline', async () => {
    await y.refused(UDIR, allocate(app['t-anna']!), 'NOT_OPEN_YET', 'application');
  });
});

describe('Udir allocates (10 Apr)', () => {
  it('allocateFunding: funds under the owner’s scheme or refuses funding; refuses an owner-rejected, a withdrawn, an unknown application, plans down', async () => {
    clock.set('2030-04-10T09:00:00Z');
    await y.refused(BERGEN, decide(app['t-anna']!, 'outcome: APPROVED'), 'DEADLINE_PASSED', 'application');
    await y.refused(BERGEN, `mutation { rankApplications(year: 2030, applications: ["${app['t-dag']}"]) { rank } }`, 'BAD_USER_INPUT', 'applications');
    expect((await y.ok(UDIR, allocate(app['t-anna']!))).allocateFunding).toEqual({ funded: true, scheme: 'SCHOLARSHIP' });
    expect((await y.ok(UDIR, allocate(app['t-bjorn']!))).allocateFunding).toEqual({ funded: true, scheme: 'SUBSTITUTE' });
    expect((await okDown(['admissions', 'plans'], UDIR, allocate(app['t-dag']!, false))).allocateFunding).toEqual({ funded: false, scheme: null });
    await y.refused(UDIR, allocate(app['t-cecilie']!), 'MISSING_DECISION', 'application');
    await y.refused(UDIR, allocate(app['t-eva']!), 'INVALID_STATE', 'application');
    await y.refused(UDIR, allocate('a-nope'), 'BAD_USER_INPUT', 'application');
    await y.refused(UDIR, allocate(app['t-cecilie']!), 'MISSING_DECISION', 'application', 'plans');
  });

  it('decideAdmission: not before Udir’s deadline', async () => {
    await y.refused(UIB, admit(app['t-anna']!), 'NOT_OPEN_YET', 'application');
  });
});

describe('institutions admit (10 May)', () => {
  it('decideAdmission: waitlists, admits within and outside the schemes; refuses without funding, without places, twice, for another institution, plans down', async () => {
    clock.set('2030-05-10T09:00:00Z');
    await y.refused(UDIR, allocate(app['t-dag']!), 'DEADLINE_PASSED', 'application');
    expect((await y.ok(UIB, admit(app['t-bjorn']!, 'WAITLISTED'))).decideAdmission.status).toBe('WAITLISTED');
    expect((await y.ok(UIB, admit(app['t-anna']!))).decideAdmission).toEqual({ status: 'ADMITTED', admission: { outcome: 'ADMITTED', outsideSchemes: false } });
    await y.refused(UIB, admit(app['t-bjorn']!), 'INVALID_STATE', 'outcome'); // the one place is taken
    expect((await y.ok(UIB, admit(app['t-bjorn']!, 'REJECTED'))).decideAdmission.status).toBe('REJECTED_BY_INSTITUTION');
    await y.refused(UIB, admit(app['t-bjorn']!), 'INVALID_STATE', 'application');
    await y.refused(UIB, admit(app['t-dag']!), 'MISSING_DECISION', 'application');
    await y.refused(UIB, admit(app['t-dag']!, 'WAITLISTED', ', outsideSchemes: true'), 'BAD_USER_INPUT', 'outsideSchemes');
    await y.refused(HVL, admit(app['t-dag']!), 'FORBIDDEN', 'application');
    await y.refused(UIB, admit(app['t-dag']!), 'MISSING_DECISION', 'application', 'plans');
    const admitOutside = admit(app['t-dag']!, 'ADMITTED', ', outsideSchemes: true').replace('{ status admission', '{ admission');
    expect((await okDown(['plans', 'catalogue'], UIB, admitOutside)).decideAdmission.admission).toEqual({ outcome: 'ADMITTED', outsideSchemes: true });
    const figures = (await y.as(UDIR, `{ a: study(id: "${S1}") { applicants admitted vacantSeats } b: study(id: "${S2}") { admitted vacantSeats } }`)).data;
    expect(figures).toEqual({ a: { applicants: 3, admitted: 1, vacantSeats: 0 }, b: { admitted: 1, vacantSeats: 3 } });
  });

  it('confirmParticipation and recordEnrolment: refuse a teacher the institution rejected', async () => {
    await y.refused(BERGEN, confirm(app['t-bjorn']!), 'MISSING_DECISION', 'application');
    await y.refused(UIB, `mutation { recordEnrolment(application: "${app['t-bjorn']}") { id } }`, 'INVALID_STATE', 'application');
  });
});

describe('the study year (20 Aug)', () => {
  it('confirmParticipation: confirms; refuses twice, another owner, admissions down', async () => {
    clock.set('2030-08-20T09:00:00Z');
    await y.refused(UIB, admit(app['t-bjorn']!, 'REJECTED'), 'INVALID_STATE', 'application');
    await y.refused(UDIR, `mutation { cancelStudy(id: "${S2}") { status } }`, 'DEADLINE_PASSED', 'id');
    await y.refused(OSLO, confirm(app['t-anna']!), 'FORBIDDEN', 'application');
    await y.refused(BERGEN, confirm(app['t-bjorn']!), 'MISSING_DECISION', 'application', 'admissions');
    expect((await okDown(['admissions'], BERGEN, confirm(app['t-anna']!))).confirmParticipation).toEqual({ participationConfirmed: true });
    expect((await y.ok(BERGEN, confirm(app['t-dag']!))).confirmParticipation).toEqual({ participationConfirmed: true });
    await y.refused(BERGEN, confirm(app['t-anna']!), 'INVALID_STATE', 'application');
  });

  it('recordEnrolment and recordCompletion: enrol, complete; refuse twice, bad credits, the catalogue down, after a withdrawal', async () => {
    for (const t of ['t-anna', 't-dag']) await y.ok(UIB, `mutation { recordEnrolment(application: "${app[t]}") { id } }`);
    await y.refused(UIB, `mutation { recordEnrolment(application: "${app['t-anna']}") { id } }`, 'INVALID_STATE', 'application');
    await y.refused(UIB, complete(app['t-anna']!, 0), 'BAD_USER_INPUT', 'credits');
    // The offer's credits bound the credits: the study as admissions keeps it, with the catalogue down.
    await y.refused(UIB, complete(app['t-anna']!, 45), 'BAD_USER_INPUT', 'credits', 'catalogue');
    expect(
      (await okDown(['catalogue', 'plans'], UIB, complete(app['t-anna']!).replace('{ status creditsCompleted }', '{ creditsCompleted }'))).recordCompletion,
    ).toEqual({ creditsCompleted: 30 });
    expect(await status(app['t-anna']!)).toBe('COMPLETED');
    await y.refused(UIB, complete(app['t-anna']!), 'INVALID_STATE', 'application');
    await y.refused(teacher('t-anna'), `mutation { withdrawApplication(id: "${app['t-anna']}") { id } }`, 'INVALID_STATE', 'id');
    expect(
      (await y.ok(teacher('t-dag'), `mutation { withdrawApplication(id: "${app['t-dag']}") { status enrolment { withdrawnAt } } }`)).withdrawApplication,
    ).toEqual({
      status: 'WITHDRAWN',
      enrolment: { withdrawnAt: '2030-08-20T09:00:00.000Z' },
    });
    await y.refused(UIB, complete(app['t-dag']!), 'INVALID_STATE', 'application');
  });

  it('giveFeedback: participants once; refuses others, bad ratings, an unknown union, a study of no offer’s shape, admissions down', async () => {
    const give = (rest = '') => `mutation { giveFeedback(input: { study: "${S1}", rating: 4, union: "UDF"${rest} }) { rating } }`;
    await y.refused(teacher('t-bjorn'), give(), 'MISSING_DECISION', 'input.study', 'admissions');
    await y.refused(teacher('t-anna'), give().replace('rating: 4', 'rating: 6'), 'BAD_USER_INPUT', 'input.rating');
    await y.refused(
      teacher('t-anna'),
      give(', topics: [{ topic: QUALITY, rating: 4 }, { topic: QUALITY, rating: 5 }]'),
      'BAD_USER_INPUT',
      'input.topics.1.topic',
    );
    await y.refused(teacher('t-anna'), give().replace('"UDF"', '"NOPE"'), 'BAD_USER_INPUT', 'input.union');
    // A study of no offer's shape is refused without asking admissions; a well-shaped one the teacher did not take part in
    // cannot be told from an unknown one without asking the catalogue, and is refused as not taken part in.
    await y.refused(teacher('t-anna'), give().replace(S1, 'K2ENG1510'), 'BAD_USER_INPUT', 'input.study', 'admissions');
    await y.refused(teacher('t-anna'), give().replace(S1, 'K2NOPE-2030'), 'MISSING_DECISION', 'input.study');
    expect((await okDown(['admissions'], teacher('t-anna'), give())).giveFeedback).toEqual({ rating: 4 });
    await y.refused(teacher('t-anna'), give(), 'CONFLICT', 'input.study');
    await y.refused(teacher('t-bjorn'), give(), 'MISSING_DECISION', 'input.study');
  });

  it('publishStatement: publishes in the union’s name; refuses a short title and a union the partnership does not have', async () => {
    expect(
      (await y.ok(UDF, 'mutation { publishStatement(input: { topic: OWN_TIME, title: "Egen tid", body: "25 % er for mye." }) { union { id } topic } }'))
        .publishStatement,
    ).toEqual({
      union: { id: 'UDF' },
      topic: 'OWN_TIME',
    });
    await y.refused(UDF, 'mutation { publishStatement(input: { topic: COST, title: "X", body: "Y" }) { id } }', 'BAD_USER_INPUT', 'input.title');
    // The statement's union is the caller: one the partnership does not have publishes nothing.
    const statement = 'mutation { publishStatement(input: { topic: COST, title: "Egen tid", body: "Y" }) { id } }';
    await y.refused({ role: 'union', org: 'NOPE' }, statement, 'FORBIDDEN', 'input');
  });

  it('events: the feeds are for services only; at the year’s end every partner’s projections equal the owners’ records', async () => {
    for (const who of [UDIR, BERGEN, UIB, teacher('t-anna')]) {
      expect((await y.as(who, '{ admissionsEvents { cursor } }')).errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    }
    const feed = (await y.as({ role: 'service' }, '{ plansEvents(kinds: ["decision"], first: 100) { cursor events { type subject data } } }')).data.plansEvents;
    expect(feed.events.map((e: { type: string }) => e.type)).toContain('decision.participation-confirmed');
    // An owner's reason for rejecting stays with plans: the event carries the decision, not why.
    expect(feed.events.every((e: { data: string }) => !JSON.parse(e.data).reason)).toBe(true);
    expect(await status(app['t-anna']!)).toBe('COMPLETED');
    expect((await reconcile(y.h.dbs)).differences).toEqual([]);
  });
});
