import { readFileSync } from 'node:fs';
import { type Identity } from '@partnerskap/kit';
import { Kind, parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

const operation = (file: string) => readFileSync(new URL(`../operations/${file}`, import.meta.url), 'utf8');
let h: Harness;
let teacher: string;
let owner: string;
let institution: string;

/** Every record that links to a teacher, in every partner's database. */
async function linkedRecords(id: string): Promise<number> {
  const counts = await Promise.all([
    h.dbs.admissions.collection('applications').countDocuments({ teacher: id }),
    h.dbs.plans.collection('decisions').countDocuments({ teacher: id }),
    h.dbs.plans.collection('teachers').countDocuments({ _id: id as never }),
    h.dbs.catalogue.collection('allocations').countDocuments({ teacher: id }),
  ]);
  return counts.reduce((a, b) => a + b, 0);
}

beforeAll(async () => {
  h = await startHarness();
  const app = (await h.dbs.admissions.collection('applications').findOne({ ownerApproved: true }))!;
  teacher = app.teacher as string;
  owner = app.owner as string;
  institution = app.institution as string;
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('GDPR access', () => {
  it('gives a teacher everything held about them across the subgraphs in one query', async () => {
    const res = await h.query<any>(operation('teacher-data.graphql'), { teacher }, { token: await h.token({ role: 'teacher', org: teacher }) });
    expect(res.errors).toBeUndefined();
    const apps = await h.dbs.admissions.collection('applications').find({ teacher }).toArray();
    const t = res.data.teacher;
    expect(t.id).toBe(teacher);
    expect(t.employer.id).toBe(owner);
    expect(t.applications.map((a: any) => a.id).sort()).toEqual(apps.map((a) => a._id).sort());
    for (const a of t.applications) expect(a.ownerDecision).not.toBeNull();
    expect(t.applications.some((a: any) => a.funding !== null)).toBe(true);
  });

  it('refuses the same query to another teacher and to a union', async () => {
    for (const identity of [
      { role: 'teacher', org: 't-someone-else' },
      { role: 'union', org: 'UDF' },
    ] as Identity[]) {
      const res = await h.query<any>(operation('teacher-data.graphql'), { teacher }, { token: await h.token(identity) });
      expect(res.data?.teacher ?? null).toBeNull();
      expect(new Set(res.errors?.map((e) => e.extensions?.code))).toEqual(new Set(['FORBIDDEN']));
    }
  });
});

// Every mutation in the SDL, for every kind of caller its @requiresScopes leaves out: refused
// before any resolver, and not one write command reaches a database.
const mutations: { subgraph: string; field: string; roles: string[] }[] = [];
for (const subgraph of ['catalogue', 'admissions', 'plans', 'feedback']) {
  const doc = parse(readFileSync(new URL(`../schema/${subgraph}.graphql`, import.meta.url), 'utf8'));
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION || def.name.value !== 'Mutation') continue;
    for (const f of def.fields ?? []) {
      const scopes = f.directives?.find((d) => d.name.value === 'requiresScopes');
      const roles = scopes ? [...print(scopes).matchAll(/role:([a-z-]+)/g)].map((m) => m[1]!) : [];
      mutations.push({ subgraph, field: f.name.value, roles });
    }
  }
}
/** Arguments of the right shape for each mutation (the guard refuses before they are looked at). */
const ARGS: Record<string, string> = {
  publishStudy:
    'input: { code: "K2X1", name: "X", subject: "ENG", gradeBand: GRADES_1_7, credits: 30, level: BACHELOR, institution: "971035854", campus: "Bergen", delivery: ONLINE, semesters: 2, year: 2030, places: 10 }',
  updateStudy: 'id: "K2ENG51001-2024", input: { places: 1 }',
  cancelStudy: 'id: "K2ENG51001-2024"',
  openRound:
    'input: { year: 2030, opens: "2030-02-01", teacherDeadline: "2030-03-01", ownerDeadline: "2030-03-15", allocationDeadline: "2030-04-30", admissionDeadline: "2030-05-31", confirmationDeadline: "2030-09-01" }',
  allocateFunding: 'application: "a-x", funded: true',
  submitApplication: 'input: { study: "K2ENG51001-2024", firstChoice: { campus: "Bergen", fundingScheme: SUBSTITUTE } }',
  withdrawApplication: 'id: "a-x"',
  decideAdmission: 'application: "a-x", outcome: ADMITTED',
  recordEnrolment: 'application: "a-x"',
  recordCompletion: 'application: "a-x", credits: 30',
  decideApplication: 'application: "a-x", outcome: APPROVED',
  rankApplications: 'year: 2024, applications: ["a-x"]',
  chooseFundingScheme: 'application: "a-x", fundingScheme: SUBSTITUTE',
  confirmParticipation: 'application: "a-x"',
  saveCompetencePlan: 'year: 2030, input: { budgetNok: 1, priorities: [] }',
  giveFeedback: 'input: { study: "K2ENG51001-2024", rating: 5, union: "UDF" }',
  publishStatement: 'input: { topic: COST, title: "Cost", body: "Too high" }',
  eraseTeacherAllocations: 'teacher: "t-x"',
  eraseTeacherApplications: 'teacher: "t-x"',
  eraseTeacherRecord: 'teacher: "t-x"',
  eraseTeacherFeedback: 'teacher: "t-x"',
  registerWebhook: 'input: { url: "https://hooks.example.org/partnerskap", eventTypes: ["application.*"] }',
  removeWebhook: 'id: "w-x"',
  replayDeadLetters: 'ids: ["d-x"]',
};
const SELECTION: Record<string, string> = {
  submitApplication: '{ id }',
  withdrawApplication: '{ id }',
  decideAdmission: '{ id }',
  recordEnrolment: '{ id }',
  recordCompletion: '{ id }',
  publishStudy: '{ id }',
  updateStudy: '{ id }',
  cancelStudy: '{ id }',
  openRound: '{ year }',
  allocateFunding: '{ funded }',
  decideApplication: '{ outcome }',
  rankApplications: '{ rank }',
  chooseFundingScheme: '{ outcome }',
  confirmParticipation: '{ outcome }',
  saveCompetencePlan: '{ year }',
  giveFeedback: '{ id }',
  publishStatement: '{ id }',
  eraseTeacherAllocations: '{ records }',
  eraseTeacherApplications: '{ records }',
  eraseTeacherRecord: '{ records }',
  eraseTeacherFeedback: '{ records }',
  registerWebhook: '{ id }',
  removeWebhook: '{ id }',
  replayDeadLetters: '{ id }',
};
const CALLERS: [string, () => Identity][] = [
  ['the teacher', () => ({ role: 'teacher', org: teacher })],
  ['their owner', () => ({ role: 'school-owner', org: owner })],
  ['the institution', () => ({ role: 'institution', org: institution })],
  ['a union', () => ({ role: 'union', org: 'UDF' })],
  ['the directorate', () => ({ role: 'directorate' })],
  ['a service', () => ({ role: 'service' })],
  ['anonymous', () => ({ role: 'public' })],
];
const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify', 'createIndexes', 'drop', 'dropDatabase']);

describe('mutations', () => {
  it('are derived from the SDL, each with its roles and sample arguments', () => {
    expect(mutations.length).toBeGreaterThanOrEqual(21);
    for (const m of mutations) {
      expect(ARGS[m.field], m.field).toBeDefined();
      expect(m.roles.length, `${m.field} names who may run it`).toBeGreaterThan(0);
    }
  });

  it.each(mutations.flatMap((m) => CALLERS.filter(([, who]) => !m.roles.includes(who().role)).map(([name, who]) => ({ ...m, name, who }))))(
    '$subgraph $field refuses $name with no write',
    async ({ subgraph, field, who }) => {
      const identity = who();
      const before = await linkedRecords(teacher);
      const mutation = `mutation { ${field}(${ARGS[field]}) ${SELECTION[field] ?? ''} }`;
      const token = identity.role === 'public' ? undefined : await h.token(identity);
      h.takeCommands();
      const viaGateway = await h.query(mutation, {}, token ? { token } : {});
      const direct = await h.querySubgraph(subgraph as 'plans', mutation, {}, { as: identity });
      const code = identity.role === 'public' ? 'UNAUTHENTICATED' : 'FORBIDDEN';
      expect(viaGateway.errors?.map((e) => e.extensions?.code)).toEqual([code]);
      expect(direct.errors?.map((e) => e.extensions?.code)).toEqual([code]);
      expect(h.takeCommands().filter((c) => WRITES.has(c.command))).toEqual([]);
      expect(await linkedRecords(teacher)).toBe(before);
    },
  );
});

describe('GDPR erasure', () => {
  it('lets the directorate erase a teacher everywhere in one operation while every figure stays right', async () => {
    const directorate = await h.token({ role: 'directorate' });
    const studies = (await h.dbs.admissions.collection('applications').find({ teacher }).toArray()).map((a) => a.study as string);
    const snapshot = async () => {
      const q = `{ ${studies.map((id, i) => `s${i}: study(id: "${id}") { applicants admitted waitlisted vacantSeats approvedApplications }`).join(' ')} }`;
      return (await h.query<any>(q, {}, { token: directorate })).data;
    };
    const before = await snapshot();
    const linked = await linkedRecords(teacher);
    expect(linked).toBeGreaterThan(1);

    const res = await h.query<any>(operation('erase-teacher.graphql'), { teacher }, { token: directorate });
    expect(res.errors).toBeUndefined();
    const { eraseTeacherApplications, eraseTeacherRecord, eraseTeacherAllocations, eraseTeacherFeedback } = res.data;
    expect([eraseTeacherApplications, eraseTeacherRecord, eraseTeacherAllocations, eraseTeacherFeedback].map((e) => e.partner)).toEqual([
      'admissions',
      'plans',
      'catalogue',
      'feedback',
    ]);
    expect(eraseTeacherApplications.records + eraseTeacherRecord.records + eraseTeacherAllocations.records).toBe(linked);

    expect(await linkedRecords(teacher)).toBe(0);
    expect(await snapshot()).toEqual(before);
    const gone = await h.query<any>('query($t: ID!) { teacher(id: $t) { id } }', { t: teacher }, { token: directorate });
    expect(gone.data.teacher).toBeNull();
    const erased = await h.dbs.plans
      .collection('teachers')
      .find({ _id: { $regex: /^erased-/ } as never })
      .toArray();
    expect(erased.map((t) => t.school)).toEqual([null]);

    const again = await h.query<any>(operation('erase-teacher.graphql'), { teacher }, { token: directorate });
    expect(again).toMatchObject({
      data: {
        eraseTeacherApplications: { partner: 'admissions', records: 0 },
        eraseTeacherRecord: { partner: 'plans', records: 0 },
        eraseTeacherAllocations: { partner: 'catalogue', records: 0 },
        eraseTeacherFeedback: { partner: 'feedback', records: 0 },
      },
    });
    expect(again.errors).toBeUndefined();
  });
});
