import { settableClock } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERGEN, OSLO, ROUND, UDF, UDIR, UIB, type Year, publishStudy, startYear, submitApplication, teacher } from './year-fixture.js';

// One application year through the gateway, deadline by deadline, on one injectable clock, in
// empty databases that hold only reference data (owners, teachers, institutions, subjects,
// unions). Every refusal is checked to leave every collection of all four databases as it was.
const clock = settableClock('2030-01-10T10:00:00Z');
const STUDY = 'K2ENG1510-2030';
let y: Year;
const as = (...args: Parameters<Year['as']>) => y.as(...args);
const ok = (...args: Parameters<Year['ok']>) => y.ok(...args);
const refused = (...args: Parameters<Year['refused']>) => y.refused(...args);

const figures = async (who = UDIR) =>
  (await as(who, `{ study(id: "${STUDY}") { places applicants admitted waitlisted vacantSeats approvedApplications rating { count average } } }`)).data.study;
const status = async (id: string, who: Parameters<Year['as']>[0]) => (await as(who, `{ application(id: "${id}") { status } }`)).data?.application?.status;

beforeAll(async () => {
  y = await startYear(clock, [
    ['t-anna', '4601'],
    ['t-bjorn', '4601'],
    ['t-cecilie', '0301'],
  ]);
}, 120_000);
afterAll(async () => {
  await y?.close();
});

describe('one application year through the gateway', () => {
  const apps: Record<string, string> = {};
  const submit = (study = STUDY) => submitApplication(study);

  it('Udir opens the round and publishes a study; bad rounds are refused', async () => {
    await refused(
      UDIR,
      `mutation { openRound(input: { year: 2030, opens: "2030-02-01", teacherDeadline: "2030-01-01", ownerDeadline: "2030-03-15",
      allocationDeadline: "2030-04-30", admissionDeadline: "2030-05-31", confirmationDeadline: "2030-09-01" }) { year } }`,
      'BAD_USER_INPUT',
      'input.teacherDeadline',
    );
    expect(await ok(UDIR, ROUND)).toEqual({ openRound: { year: 2030, teacherDeadline: '2030-03-01' } });
    await refused(UDIR, ROUND, 'CONFLICT', 'input.year');
    await refused(BERGEN, ROUND, 'FORBIDDEN');
    const publish = (campus: string) => publishStudy('K2ENG1510', 2, campus);
    await refused(UDIR, publish('Tromsø'), 'BAD_USER_INPUT', 'input.campus');
    expect(await ok(UDIR, publish('Bergen'))).toEqual({ publishStudy: { id: STUDY, status: 'OFFERED', places: 2 } });
    await refused(UDIR, publish('Bergen'), 'CONFLICT', 'input.code');
  });

  it('teachers apply from the opening through their deadline, once each', async () => {
    await refused(teacher('t-anna'), submit(), 'NOT_OPEN_YET', 'input.study');
    clock.set('2030-02-10T09:00:00Z');
    for (const t of ['t-anna', 't-bjorn', 't-cecilie']) {
      const data = await ok(teacher(t), submit());
      apps[t] = data.submitApplication.id;
      expect(data.submitApplication.status).toBe('SUBMITTED');
    }
    await refused(teacher('t-anna'), submit(), 'CONFLICT', 'input.study');
    await refused(teacher('t-anna'), submit('K2NOPE-2030'), 'BAD_USER_INPUT', 'input.study');
    expect(await figures()).toMatchObject({ applicants: 3, admitted: 0, vacantSeats: 2, approvedApplications: 0 });
  });

  it('owners decide their own teachers’ applications after the teachers’ deadline, with reasons, and rank them', async () => {
    const decide = (app: string, rest: string) => `mutation { decideApplication(application: "${app}", ${rest}) { outcome reason rank fundingScheme } }`;
    await refused(BERGEN, decide(apps['t-anna']!, 'outcome: APPROVED'), 'NOT_OPEN_YET', 'application');
    clock.set('2030-03-05T09:00:00Z');
    await refused(teacher('t-anna'), submit(), 'DEADLINE_PASSED', 'input.study');
    await refused(BERGEN, decide(apps['t-cecilie']!, 'outcome: APPROVED'), 'FORBIDDEN', 'application');
    await refused(OSLO, decide(apps['t-cecilie']!, 'outcome: REJECTED'), 'BAD_USER_INPUT', 'reason');
    expect((await ok(OSLO, decide(apps['t-cecilie']!, 'outcome: REJECTED, reason: COST'))).decideApplication).toEqual({
      outcome: 'REJECTED',
      reason: 'COST',
      rank: null,
      fundingScheme: null,
    });
    expect((await ok(BERGEN, decide(apps['t-anna']!, 'outcome: APPROVED'))).decideApplication).toMatchObject({
      outcome: 'APPROVED',
      rank: 1,
      fundingScheme: 'SUBSTITUTE',
    });
    expect((await ok(BERGEN, decide(apps['t-bjorn']!, 'outcome: APPROVED, fundingScheme: SCHOLARSHIP'))).decideApplication).toMatchObject({
      rank: 2,
      fundingScheme: 'SCHOLARSHIP',
    });
    await refused(BERGEN, `mutation { rankApplications(year: 2030, applications: ["${apps['t-bjorn']}"]) { rank } }`, 'BAD_USER_INPUT', 'applications');
    expect(
      (await ok(BERGEN, `mutation { rankApplications(year: 2030, applications: ["${apps['t-bjorn']}", "${apps['t-anna']}"]) { rank } }`)).rankApplications,
    ).toEqual([{ rank: 1 }, { rank: 2 }]);
    expect(await status(apps['t-anna']!, teacher('t-anna'))).toBe('OWNER_APPROVED');
    expect(await status(apps['t-cecilie']!, teacher('t-cecilie'))).toBe('OWNER_REJECTED');
    // The institution sees an application once its owner approved it, not before.
    expect(await status(apps['t-anna']!, UIB)).toBe('OWNER_APPROVED');
    expect((await as(UIB, `{ application(id: "${apps['t-cecilie']}") { id } }`)).errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(await figures()).toMatchObject({ approvedApplications: 2 });
  });

  it('Udir allocates approved applications between the owners’ and its own deadline', async () => {
    const allocate = (app: string, funded: boolean) => `mutation { allocateFunding(application: "${app}", funded: ${funded}) { funded scheme } }`;
    await refused(UDIR, allocate(apps['t-anna']!, true), 'NOT_OPEN_YET', 'application');
    clock.set('2030-04-10T09:00:00Z');
    await refused(UDIR, allocate(apps['t-cecilie']!, true), 'MISSING_DECISION', 'application');
    expect((await ok(UDIR, allocate(apps['t-anna']!, true))).allocateFunding).toEqual({ funded: true, scheme: 'SUBSTITUTE' });
    expect((await ok(UDIR, allocate(apps['t-bjorn']!, false))).allocateFunding).toEqual({ funded: false, scheme: null });
    expect(await status(apps['t-anna']!, BERGEN)).toBe('FUNDED');
    expect(await status(apps['t-bjorn']!, BERGEN)).toBe('NOT_FUNDED');
    expect(await figures()).toMatchObject({ applicants: 3, admitted: 0, vacantSeats: 2, approvedApplications: 2 });
  });

  it('the institution admits within the schemes only with approval and funding, outside them while places are left', async () => {
    const admit = (app: string, rest = '') =>
      `mutation { decideAdmission(application: "${app}", outcome: ADMITTED${rest}) { status admission { outcome outsideSchemes } } }`;
    await refused(UIB, admit(apps['t-anna']!), 'NOT_OPEN_YET', 'application');
    clock.set('2030-05-10T09:00:00Z');
    await refused(UIB, admit(apps['t-bjorn']!), 'MISSING_DECISION', 'application');
    // Udir's catalogue is down: admissions' own copy of the owner's approval and Udir's funding decides, so the admission stands.
    await y.h.stopSubgraph('catalogue');
    try {
      expect((await ok(UIB, admit(apps['t-anna']!).replace('{ status admission', '{ admission'))).decideAdmission).toEqual({
        admission: { outcome: 'ADMITTED', outsideSchemes: false },
      });
    } finally {
      await y.h.restartSubgraph('catalogue');
      await y.h.settle();
    }
    expect(await status(apps['t-anna']!, teacher('t-anna'))).toBe('ADMITTED');
    expect((await ok(UIB, admit(apps['t-bjorn']!, ', outsideSchemes: true'))).decideAdmission.admission).toEqual({ outcome: 'ADMITTED', outsideSchemes: true });
    await refused(UIB, admit(apps['t-anna']!), 'INVALID_STATE', 'application');
    expect(await figures()).toMatchObject({ applicants: 3, admitted: 2, waitlisted: 0, vacantSeats: 0 });
  });

  it('owners confirm participation; with the plans partner down a completion is still recorded; teachers complete', async () => {
    clock.set('2030-08-20T09:00:00Z');
    for (const t of ['t-anna', 't-bjorn']) {
      await ok(UIB, `mutation { recordEnrolment(application: "${apps[t]}") { id } }`);
    }
    const complete = `mutation { recordCompletion(application: "${apps['t-anna']}", credits: 30) { status creditsCompleted } }`;
    await refused(UIB, complete, 'MISSING_DECISION', 'application');
    await ok(BERGEN, `mutation { confirmParticipation(application: "${apps['t-anna']}") { participationConfirmed } }`);
    await refused(BERGEN, `mutation { confirmParticipation(application: "${apps['t-anna']}") { participationConfirmed } }`, 'INVALID_STATE', 'application');
    expect(await status(apps['t-anna']!, teacher('t-anna'))).toBe('PARTICIPATION_CONFIRMED');
    await refused(UIB, `mutation { recordCompletion(application: "${apps['t-anna']}", credits: 31) { status } }`, 'BAD_USER_INPUT', 'credits', 'plans');
    // The owner's confirmation is admissions' copy of plans' event: with plans down the completion is recorded.
    await y.h.stopSubgraph('plans');
    try {
      expect((await ok(UIB, complete.replace('{ status creditsCompleted }', '{ creditsCompleted }'))).recordCompletion).toEqual({ creditsCompleted: 30 });
    } finally {
      await y.h.restartSubgraph('plans');
      await y.h.settle();
    }
    expect(await status(apps['t-anna']!, teacher('t-anna'))).toBe('COMPLETED');
    clock.set('2030-09-02T09:00:00Z');
    await refused(BERGEN, `mutation { confirmParticipation(application: "${apps['t-bjorn']}") { participationConfirmed } }`, 'DEADLINE_PASSED', 'application');
  });

  it('only participants give feedback, once; unions publish statements in their own name', async () => {
    const give = (_teacher: string) =>
      `mutation { giveFeedback(input: { study: "${STUDY}", rating: 5, topics: [{ topic: QUALITY, rating: 4 }], union: "UDF" }) { rating year } }`;
    expect((await ok(teacher('t-anna'), give('t-anna'))).giveFeedback).toEqual({ rating: 5, year: 2030 });
    await refused(teacher('t-anna'), give('t-anna'), 'CONFLICT', 'input.study');
    await refused(teacher('t-cecilie'), give('t-cecilie'), 'MISSING_DECISION', 'input.study');
    const statement = 'mutation { publishStatement(input: { topic: COST, title: "Kostnader", body: "Eierne trenger mer." }) { union { id } title } }';
    expect((await ok(UDF, statement)).publishStatement).toEqual({ union: { id: 'UDF' }, title: 'Kostnader' });
    await refused({ role: 'union', org: 'NLL' }, statement, 'FORBIDDEN');
    expect(await figures()).toMatchObject({ applicants: 3, admitted: 2, vacantSeats: 0, rating: { count: 1, average: 5 } });
    // One answer is a figure about one person: the public sees it suppressed.
    expect((await y.h.query<any>(`{ study(id: "${STUDY}") { rating { count average } } }`)).data.study.rating).toEqual({ count: null, average: null });
  });

  it('leaves each partner an audit trail of its own slice, with pseudonymous ids only', async () => {
    const bergen = (await as(BERGEN, '{ plansAudit(first: 100) { action target org actorRole actorId details } }')).data.plansAudit;
    expect(bergen.map((l: any) => l.action).sort()).toEqual(['confirmParticipation', 'decideApplication', 'decideApplication', 'rankApplications']);
    expect(bergen.every((l: any) => l.org === '4601' && l.actorId === '4601')).toBe(true);
    const uib = (await as(UIB, '{ admissionsAudit(first: 100) { action actorRole } }')).data.admissionsAudit.map((l: any) => l.action);
    expect(uib).toEqual(expect.arrayContaining(['submitApplication', 'decideAdmission', 'recordEnrolment', 'recordCompletion']));
    const udir = (await as(UDIR, '{ catalogueAudit(first: 100) { action } }')).data.catalogueAudit.map((l: any) => l.action).sort();
    expect(udir).toEqual(['allocateFunding', 'allocateFunding', 'openRound', 'publishStudy']);
    expect((await as(OSLO, '{ catalogueAudit { action } }')).errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('erases a teacher on request: no trace of the id in any database, every figure as it was', async () => {
    const before = await figures();
    for (const m of ['eraseTeacherApplications', 'eraseTeacherRecord', 'eraseTeacherAllocations', 'eraseTeacherFeedback'])
      await ok(UDIR, `mutation { ${m}(teacher: "t-anna") { records } }`);
    expect(await y.snapshot()).not.toContain('t-anna');
    expect(await figures()).toEqual(before);
  });
});
