import { type Identity, settableClock } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphQLResponse, type Harness, startHarness } from './harness.js';

// One application year through the gateway, deadline by deadline, on one injectable clock, in
// empty databases that hold only reference data (owners, teachers, institutions, subjects,
// unions). Every refusal is checked to leave every collection of all four databases as it was.
const clock = settableClock('2030-01-10T10:00:00Z');
let h: Harness;

const BERGEN: Identity = { role: 'school-owner', org: '4601' };
const OSLO: Identity = { role: 'school-owner', org: '0301' };
const UIB: Identity = { role: 'institution', org: '971035854' };
const UDIR: Identity = { role: 'directorate' };
const teacher = (id: string): Identity => ({ role: 'teacher', org: id });
const STUDY = 'K2ENG1510-2030';

async function as<T = any>(who: Identity, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> {
  return h.query<T>(query, variables, { token: await h.token(who) });
}

/** Every document of every collection of the four databases, as one string. */
async function snapshot(): Promise<string> {
  const parts: string[] = [];
  for (const [name, db] of Object.entries(h.dbs)) {
    for (const c of (await db.listCollections().toArray()).map((x) => x.name).sort()) {
      parts.push(`${name}.${c}:${JSON.stringify(await db.collection(c).find().sort({ _id: 1 }).toArray())}`);
    }
  }
  return parts.join('\n');
}

/** Runs a mutation that must be refused with `code` on `field`, and proves nothing changed anywhere. */
async function refused(who: Identity, mutation: string, code: string, field?: string): Promise<void> {
  const before = await snapshot();
  const res = await as(who, mutation);
  expect(res.errors?.map((e) => e.extensions?.code), JSON.stringify(res.errors)).toEqual([code]);
  if (field) expect(res.errors?.[0]?.extensions?.field).toBe(field);
  expect(await snapshot()).toBe(before);
}

async function ok<T = any>(who: Identity, mutation: string): Promise<T> {
  const res = await as<T>(who, mutation);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data as T;
}

const figures = async (who: Identity = UDIR) =>
  (await as(who, `{ study(id: "${STUDY}") { places applicants admitted waitlisted vacantSeats approvedApplications } }`)).data.study;
const status = async (id: string, who: Identity) => (await as(who, `{ application(id: "${id}") { status } }`)).data?.application?.status;

beforeAll(async () => {
  h = await startHarness({ seed: false, clock });
  await h.dbs.plans.collection('counties').insertMany([{ _id: '46', name: 'Vestland' }, { _id: '03', name: 'Oslo' }] as never[]);
  await h.dbs.plans.collection('owners').insertMany([
    { _id: '4601', name: 'Bergen', kind: 'MUNICIPALITY', county: '46', teacherFtes: 3000, teacherFtesSynthetic: false },
    { _id: '0301', name: 'Oslo', kind: 'MUNICIPALITY', county: '03', teacherFtes: 7000, teacherFtesSynthetic: false },
  ] as never[]);
  await h.dbs.plans.collection('teachers').insertMany([
    { _id: 't-anna', owner: '4601', county: '46', school: 'Nordnes skole', teaches: [], credits: [] },
    { _id: 't-bjorn', owner: '4601', county: '46', school: 'Nordnes skole', teaches: [], credits: [] },
    { _id: 't-cecilie', owner: '0301', county: '03', school: 'Sagene skole', teaches: [], credits: [] },
  ] as never[]);
  await h.dbs.admissions.collection('institutions').insertOne({ _id: '971035854', name: 'Universitetet i Bergen', shortName: 'UiB', campuses: ['Bergen'] } as never);
  await h.dbs.catalogue.collection('subjects').insertOne({ _id: 'ENG', name: 'Engelsk', priorityYears: [2030] } as never);
  await h.dbs.feedback.collection('unions').insertOne({ _id: 'UDF', name: 'Utdanningsforbundet' } as never);
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('one application year through the gateway', () => {
  const apps: Record<string, string> = {};
  const submit = (study = STUDY) => `mutation { submitApplication(input: { study: "${study}", firstChoice: { campus: "Bergen", fundingScheme: SUBSTITUTE },
    secondChoice: { campus: "Bergen", fundingScheme: SCHOLARSHIP } }) { id status } }`;

  it('Udir opens the round and publishes a study; bad rounds are refused', async () => {
    await refused(UDIR, `mutation { openRound(input: { year: 2030, opens: "2030-02-01", teacherDeadline: "2030-01-01", ownerDeadline: "2030-03-15",
      allocationDeadline: "2030-04-30", admissionDeadline: "2030-05-31", confirmationDeadline: "2030-09-01" }) { year } }`, 'BAD_USER_INPUT', 'input.teacherDeadline');
    const round = `mutation { openRound(input: { year: 2030, opens: "2030-02-01", teacherDeadline: "2030-03-01", ownerDeadline: "2030-03-15",
      allocationDeadline: "2030-04-30", admissionDeadline: "2030-05-31", confirmationDeadline: "2030-09-01" }) { year teacherDeadline } }`;
    expect(await ok(UDIR, round)).toEqual({ openRound: { year: 2030, teacherDeadline: '2030-03-01' } });
    await refused(UDIR, round, 'CONFLICT', 'input.year');
    await refused(BERGEN, round, 'FORBIDDEN');
    const publish = (campus: string) => `mutation { publishStudy(input: { code: "K2ENG1510", name: "Engelsk 1 for 5.-10. trinn", subject: "ENG", gradeBand: GRADES_5_10,
      credits: 30, level: BACHELOR, institution: "971035854", campus: "${campus}", delivery: MIXED, gatherings: 4, semesters: 2, year: 2030, places: 2 }) { id status places } }`;
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
    await refused(teacher('t-anna'), submit('K2NOPE-2030'), 'NOT_FOUND', 'input.study');
    expect(await figures()).toMatchObject({ applicants: 3, admitted: 0, vacantSeats: 2, approvedApplications: 0 });
  });

  it('owners decide their own teachers’ applications after the teachers’ deadline, with reasons, and rank them', async () => {
    const decide = (app: string, rest: string) => `mutation { decideApplication(application: "${app}", ${rest}) { outcome reason rank fundingScheme } }`;
    await refused(BERGEN, decide(apps['t-anna']!, 'outcome: APPROVED'), 'NOT_OPEN_YET', 'application');
    clock.set('2030-03-05T09:00:00Z');
    await refused(teacher('t-anna'), submit(), 'DEADLINE_PASSED', 'input.study');
    await refused(BERGEN, decide(apps['t-cecilie']!, 'outcome: APPROVED'), 'FORBIDDEN', 'application');
    await refused(OSLO, decide(apps['t-cecilie']!, 'outcome: REJECTED'), 'BAD_USER_INPUT', 'reason');
    expect((await ok(OSLO, decide(apps['t-cecilie']!, 'outcome: REJECTED, reason: COST'))).decideApplication).toEqual({ outcome: 'REJECTED', reason: 'COST', rank: null, fundingScheme: null });
    expect((await ok(BERGEN, decide(apps['t-anna']!, 'outcome: APPROVED'))).decideApplication).toMatchObject({ outcome: 'APPROVED', rank: 1, fundingScheme: 'SUBSTITUTE' });
    expect((await ok(BERGEN, decide(apps['t-bjorn']!, 'outcome: APPROVED, fundingScheme: SCHOLARSHIP'))).decideApplication).toMatchObject({ rank: 2, fundingScheme: 'SCHOLARSHIP' });
    await refused(BERGEN, `mutation { rankApplications(year: 2030, applications: ["${apps['t-bjorn']}"]) { rank } }`, 'BAD_USER_INPUT', 'applications');
    expect((await ok(BERGEN, `mutation { rankApplications(year: 2030, applications: ["${apps['t-bjorn']}", "${apps['t-anna']}"]) { rank } }`)).rankApplications).toEqual([{ rank: 1 }, { rank: 2 }]);
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
  });

  it('the institution admits within the schemes only with approval and funding, outside them while places are left', async () => {
    const admit = (app: string, rest = '') => `mutation { decideAdmission(application: "${app}", outcome: ADMITTED${rest}) { status admission { outcome outsideSchemes } } }`;
    await refused(UIB, admit(apps['t-anna']!), 'NOT_OPEN_YET', 'application');
    clock.set('2030-05-10T09:00:00Z');
    await refused(UIB, admit(apps['t-bjorn']!), 'MISSING_DECISION', 'application');
    // Udir's catalogue is down: the rule cannot be checked, so nothing happens.
    await h.stopSubgraph('catalogue');
    try {
      await refused(UIB, admit(apps['t-anna']!), 'SUBGRAPH_UNAVAILABLE');
    } finally {
      await h.restartSubgraph('catalogue');
    }
    expect((await ok(UIB, admit(apps['t-anna']!))).decideAdmission).toEqual({ status: 'ADMITTED', admission: { outcome: 'ADMITTED', outsideSchemes: false } });
    expect((await ok(UIB, admit(apps['t-bjorn']!, ', outsideSchemes: true'))).decideAdmission.admission).toEqual({ outcome: 'ADMITTED', outsideSchemes: true });
    await refused(UIB, admit(apps['t-anna']!), 'INVALID_STATE', 'application');
    expect(await figures()).toMatchObject({ applicants: 3, admitted: 2, waitlisted: 0, vacantSeats: 0 });
  });

  it('owners confirm participation; the plans partner down stops a completion; teachers complete', async () => {
    clock.set('2030-08-20T09:00:00Z');
    for (const t of ['t-anna', 't-bjorn']) {
      await ok(UIB, `mutation { recordEnrolment(application: "${apps[t]}") { id } }`);
    }
    const complete = `mutation { recordCompletion(application: "${apps['t-anna']}", credits: 30) { status creditsCompleted } }`;
    await refused(UIB, complete, 'MISSING_DECISION', 'application');
    await ok(BERGEN, `mutation { confirmParticipation(application: "${apps['t-anna']}") { participationConfirmed } }`);
    await refused(BERGEN, `mutation { confirmParticipation(application: "${apps['t-anna']}") { participationConfirmed } }`, 'INVALID_STATE', 'application');
    expect(await status(apps['t-anna']!, teacher('t-anna'))).toBe('PARTICIPATION_CONFIRMED');
    await h.stopSubgraph('plans');
    try {
      await refused(UIB, complete, 'SUBGRAPH_UNAVAILABLE');
    } finally {
      await h.restartSubgraph('plans');
    }
    await refused(UIB, `mutation { recordCompletion(application: "${apps['t-anna']}", credits: 31) { status } }`, 'BAD_USER_INPUT', 'credits');
    expect((await ok(UIB, complete)).recordCompletion).toEqual({ status: 'COMPLETED', creditsCompleted: 30 });
    clock.set('2030-09-02T09:00:00Z');
    await refused(BERGEN, `mutation { confirmParticipation(application: "${apps['t-bjorn']}") { participationConfirmed } }`, 'DEADLINE_PASSED', 'application');
  });

  it('only participants give feedback, once; unions publish statements in their own name', async () => {
    const give = (t: string) => `mutation { giveFeedback(input: { study: "${STUDY}", rating: 5, topics: [{ topic: QUALITY, rating: 4 }], union: "UDF" }) { rating year } }`;
    expect((await ok(teacher('t-anna'), give('t-anna'))).giveFeedback).toEqual({ rating: 5, year: 2030 });
    await refused(teacher('t-anna'), give('t-anna'), 'CONFLICT', 'input.study');
    await refused(teacher('t-cecilie'), give('t-cecilie'), 'MISSING_DECISION', 'input.study');
    const statement = 'mutation { publishStatement(input: { topic: COST, title: "Kostnader", body: "Eierne trenger mer." }) { union { id } title } }';
    expect((await ok({ role: 'union', org: 'UDF' }, statement)).publishStatement).toEqual({ union: { id: 'UDF' }, title: 'Kostnader' });
    await refused({ role: 'union', org: 'NLL' }, statement, 'FORBIDDEN');
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
});
