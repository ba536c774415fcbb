import { readFileSync } from 'node:fs';
import { type Identity } from '@partnerskap/kit';
import { Kind, parse } from 'graphql';
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
    for (const identity of [{ role: 'teacher', org: 't-someone-else' }, { role: 'union', org: 'UDF' }] as Identity[]) {
      const res = await h.query<any>(operation('teacher-data.graphql'), { teacher }, { token: await h.token(identity) });
      expect(res.data?.teacher ?? null).toBeNull();
      expect(new Set(res.errors?.map((e) => e.extensions?.code))).toEqual(new Set(['FORBIDDEN']));
    }
  });
});

// Every mutation in the SDL, for every kind of caller that may not run it: refused, nothing changed.
const mutations: { subgraph: string; field: string }[] = [];
for (const subgraph of ['catalogue', 'admissions', 'plans', 'feedback']) {
  const doc = parse(readFileSync(new URL(`../schema/${subgraph}.graphql`, import.meta.url), 'utf8'));
  for (const def of doc.definitions) {
    if (def.kind === Kind.OBJECT_TYPE_DEFINITION && def.name.value === 'Mutation') for (const f of def.fields ?? []) mutations.push({ subgraph, field: f.name.value });
  }
}
const REFUSED: [string, () => Identity][] = [
  ['the teacher', () => ({ role: 'teacher', org: teacher })],
  ['their owner', () => ({ role: 'school-owner', org: owner })],
  ['the institution', () => ({ role: 'institution', org: institution })],
  ['a union', () => ({ role: 'union', org: 'UDF' })],
  ['a service', () => ({ role: 'service' })],
  ['anonymous', () => ({ role: 'public' })],
];

describe('mutations', () => {
  it('are derived from the SDL', () => {
    expect(mutations.map((m) => m.field).sort()).toEqual(['eraseTeacherAllocations', 'eraseTeacherApplications', 'eraseTeacherRecord']);
  });

  it.each(mutations.flatMap((m) => REFUSED.map(([name, who]) => ({ ...m, name, who }))))(
    '$subgraph $field refuses $name and changes nothing',
    async ({ subgraph, field, who }) => {
      const identity = who();
      const before = await linkedRecords(teacher);
      const mutation = `mutation($t: ID!) { ${field}(teacher: $t) }`;
      const token = identity.role === 'public' ? undefined : await h.token(identity);
      const viaGateway = await h.query(mutation, { t: teacher }, token ? { token } : {});
      const direct = await h.querySubgraph(subgraph as 'plans', mutation, { t: teacher }, { as: identity });
      const code = identity.role === 'public' ? 'UNAUTHENTICATED' : 'FORBIDDEN';
      expect(viaGateway.errors?.map((e) => e.extensions?.code)).toEqual([code]);
      expect(direct.errors?.map((e) => e.extensions?.code)).toEqual([code]);
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
    const { eraseTeacherApplications, eraseTeacherRecord, eraseTeacherAllocations } = res.data;
    expect(eraseTeacherApplications + eraseTeacherRecord + eraseTeacherAllocations).toBe(linked);

    expect(await linkedRecords(teacher)).toBe(0);
    expect(await snapshot()).toEqual(before);
    const gone = await h.query<any>('query($t: ID!) { teacher(id: $t) { id } }', { t: teacher }, { token: directorate });
    expect(gone.data.teacher).toBeNull();
    const erased = await h.dbs.plans.collection('teachers').find({ _id: { $regex: /^erased-/ } as never }).toArray();
    expect(erased.map((t) => t.school)).toEqual([null]);

    const again = await h.query<any>(operation('erase-teacher.graphql'), { teacher }, { token: directorate });
    expect(again.data).toEqual({ eraseTeacherApplications: 0, eraseTeacherRecord: 0, eraseTeacherAllocations: 0 });
  });
});
