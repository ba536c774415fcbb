import { readFileSync } from 'node:fs';
import { type Identity, maySeeApplication } from '@partnerskap/kit';
import { Kind, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GraphQLResponse, type Harness, startHarness } from './harness.js';

// The personal-data fields come from the SDL: every field of every type that carries a
// type-level @policy, in every subgraph. A new field on such a type joins the matrix by itself.
const SUBGRAPHS = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
type SubgraphName = (typeof SUBGRAPHS)[number];
interface PersonalField {
  subgraph: SubgraphName;
  type: string;
  field: string;
  selection: string;
}
const personal: PersonalField[] = [];
const objectTypes = new Set<string>();
const leafTypes = new Set<string>(['ID', 'String', 'Int', 'Float', 'Boolean']);
for (const subgraph of SUBGRAPHS) {
  const doc = parse(readFileSync(new URL(`../schema/${subgraph}.graphql`, import.meta.url), 'utf8'));
  for (const def of doc.definitions) if (def.kind === Kind.OBJECT_TYPE_DEFINITION) objectTypes.add(def.name.value);
  for (const def of doc.definitions) if (def.kind === Kind.ENUM_TYPE_DEFINITION || def.kind === Kind.SCALAR_TYPE_DEFINITION) leafTypes.add(def.name.value);
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION || !(def.directives ?? []).some((d) => d.name.value === 'policy')) continue;
    for (const f of def.fields ?? []) {
      // An @external field is another subgraph's: it is in the matrix there.
      if (f.directives?.some((d) => d.name.value === 'external')) continue;
      let t = f.type;
      while (t.kind !== Kind.NAMED_TYPE) t = t.type;
      personal.push({
        subgraph,
        type: def.name.value,
        field: f.name.value,
        selection: leafTypes.has(t.name.value) ? f.name.value : `${f.name.value} { __typename }`,
      });
    }
  }
}

let h: Harness;
let subjects: {
  approved: { id: string; teacher: string; owner: string; institution: string };
  refused: { id: string; teacher: string; owner: string; institution: string };
  otherTeacher: string;
  otherOwner: string;
  otherInstitution: string;
};
const CALLERS = [
  'the teacher',
  'another teacher',
  'their owner',
  'another owner',
  'the institution',
  'another institution',
  'a union',
  'the directorate',
  'a service',
  'anonymous',
] as const;
type Caller = (typeof CALLERS)[number];

function identityOf(caller: Caller, app: { teacher: string; owner: string; institution: string }): Identity {
  switch (caller) {
    case 'the teacher':
      return { role: 'teacher', org: app.teacher };
    case 'another teacher':
      return { role: 'teacher', org: subjects.otherTeacher };
    case 'their owner':
      return { role: 'school-owner', org: app.owner };
    case 'another owner':
      return { role: 'school-owner', org: subjects.otherOwner };
    case 'the institution':
      return { role: 'institution', org: app.institution };
    case 'another institution':
      return { role: 'institution', org: subjects.otherInstitution };
    case 'a union':
      return { role: 'union', org: 'UDF' };
    case 'the directorate':
      return { role: 'directorate' };
    case 'a service':
      return { role: 'service' };
    case 'anonymous':
      return { role: 'public' };
  }
}

/** What the rules say a caller gets for a subject: the data, or the code of the denial. */
function expected(
  subgraph: SubgraphName,
  type: string,
  identity: Identity,
  app: { teacher: string; owner: string; institution: string; ownerApproved: boolean },
): 'data' | 'FORBIDDEN' | 'UNAUTHENTICATED' {
  if (identity.role === 'public') return 'UNAUTHENTICATED';
  // Udir allocates only approved applications: of a refused one the catalogue holds nothing personal.
  if (subgraph === 'catalogue' && !app.ownerApproved) return 'data';
  if (type === 'Application') return maySeeApplication(identity, app) ? 'data' : 'FORBIDDEN';
  // Teacher: themself, their owner, the directorate, an institution they were approved to study at.
  const ok =
    identity.role === 'directorate' ||
    // A service is a rule of one of our subgraphs linking records (an application needs the teacher's employer).
    identity.role === 'service' ||
    (identity.role === 'teacher' && identity.org === app.teacher) ||
    (identity.role === 'school-owner' && identity.org === app.owner) ||
    (identity.role === 'institution' && identity.org === app.institution && app.ownerApproved);
  return ok ? 'data' : 'FORBIDDEN';
}

/** `data`, `missing`, or the errors' codes (`FORBIDDEN`, `UNAUTHENTICATED`, ...). */
function outcome(res: GraphQLResponse, path: string[]): string {
  if (res.errors && res.errors.length > 0) {
    const codes = [...new Set(res.errors.map((e) => String(e.extensions?.code)))];
    return codes.length === 1 ? codes[0]! : codes.join(',');
  }
  let value: unknown = res.data;
  for (const p of path) value = (value as Record<string, unknown> | null)?.[p];
  return value === undefined ? 'missing' : 'data';
}

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
  const decisions = h.dbs.plans.collection('decisions');
  const approved = (await decisions.findOne({ outcome: 'APPROVED', year: 2024 }))!;
  const refused = (await decisions.findOne({ outcome: 'REJECTED', year: 2024, teacher: { $ne: approved.teacher } }))!;
  const otherTeacher = (await h.dbs.plans.collection('teachers').findOne({ _id: { $nin: [approved.teacher, refused.teacher] } }))!;
  const otherOwner = (await h.dbs.plans.collection('owners').findOne({ _id: { $nin: [approved.owner, refused.owner] } }))!;
  // Another institution: one the approved application's teacher has no approved application to.
  const teacherInstitutions = (await decisions.find({ teacher: approved.teacher, outcome: 'APPROVED' }).toArray()).map((d) => d.institution);
  const otherInstitution = (await h.dbs.admissions.collection('institutions').findOne({ _id: { $nin: [...teacherInstitutions, refused.institution] } }))!;
  const facts = (d: typeof approved) => ({ id: d._id as unknown as string, teacher: d.teacher, owner: d.owner, institution: d.institution });
  subjects = {
    approved: facts(approved),
    refused: facts(refused),
    otherTeacher: otherTeacher._id as unknown as string,
    otherOwner: otherOwner._id as unknown as string,
    otherInstitution: otherInstitution._id as unknown as string,
  };
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('the personal-data fields the SDL guards', () => {
  it('are derived from the schema and cover applications and teachers in every subgraph that holds them', () => {
    const byType = (type: string) => personal.filter((p) => p.type === type).map((p) => `${p.subgraph}:${p.field}`);
    expect(byType('Application')).toEqual(expect.arrayContaining(['admissions:teacher', 'admissions:admission', 'plans:ownerDecision', 'catalogue:funding']));
    expect(byType('Teacher')).toEqual(expect.arrayContaining(['plans:school', 'plans:credits', 'plans:employer']));
    expect(new Set(personal.map((p) => p.type))).toEqual(new Set(['Application', 'Teacher']));
  });
});

const cases = personal.flatMap((p) =>
  (['approved', 'refused'] as const).flatMap((which) =>
    CALLERS.map((caller) => ({ ...p, which, caller, name: `${p.subgraph} ${p.type}.${p.field} of the ${which} application, as ${caller}` })),
  ),
);

describe('authorization matrix', () => {
  it.each(cases)('$name', async ({ subgraph, type, field, selection, which, caller }) => {
    const app = subjects[which];
    const identity = identityOf(caller, app);
    const facts = { ...app, ownerApproved: which === 'approved' };
    const want = expected(subgraph, type, identity, facts);
    // Through the gateway the object is first reached from its root field's subgraph, whose rule applies first.
    const rootWant = expected(type === 'Teacher' ? 'plans' : 'admissions', type, identity, facts);
    const wantViaGateway = rootWant === 'data' ? want : rootWant;
    const id = type === 'Teacher' ? app.teacher : app.id;

    // Directly against the subgraph that owns the field, with the credential the gateway would sign.
    const direct = await h.querySubgraph(
      subgraph,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${type} { ${selection} } } }`,
      // A @requires field gets its inputs in the representation, as the gateway sends them.
      { r: [{ __typename: type, id, ...(field === 'status' ? { ownerDecision: null, funding: null } : {}) }] },
      { as: identity },
    );
    expect(outcome(direct, ['_entities', '0', field])).toBe(want);

    // Through the gateway, as a client with a token (or none).
    const root = type === 'Teacher' ? 'teacher' : 'application';
    const token = identity.role === 'public' ? undefined : await h.token(identity);
    const viaGateway = await h.query(`query($id: ID!) { ${root}(id: $id) { ${selection} } }`, { id }, token ? { token } : {});
    expect(outcome(viaGateway, [root, field])).toBe(wantViaGateway);
  });
});

describe('lists of personal data', () => {
  it.each(CALLERS)('applications lists only what %s may see', async (caller) => {
    const identity = identityOf(caller, subjects.approved);
    const token = identity.role === 'public' ? undefined : await h.token(identity);
    const res = await h.query<any>('{ applications(first: 100) { totalCount edges { node { id year } } } }', {}, token ? { token } : {});
    if (identity.role === 'public') return expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    if (identity.role === 'union') return expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(res.errors).toBeUndefined();
    const filter: Record<string, unknown> =
      identity.role === 'teacher'
        ? { teacher: identity.org }
        : identity.role === 'school-owner'
          ? { owner: identity.org }
          : identity.role === 'institution'
            ? { institution: identity.org, ownerApproved: true }
            : {};
    expect(res.data.applications.totalCount).toBe(await h.dbs.admissions.collection('applications').countDocuments(filter));
  });

  it('shows an owner’s teachers to the owner and the directorate only', async () => {
    const q = '{ schoolOwner(id: "0301") { teachers(first: 1) { totalCount } } }';
    const own = await h.query<any>(q, {}, { token: await h.token({ role: 'school-owner', org: '0301' }) });
    expect(own.data.schoolOwner.teachers.totalCount).toBe(await h.dbs.plans.collection('teachers').countDocuments({ owner: '0301' }));
    const other = await h.query<any>(q, {}, { token: await h.token({ role: 'school-owner', org: '4601' }) });
    expect(other.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(other.data.schoolOwner).toEqual({ teachers: null });
  });

  it('shows raw feedback comments to unions and the directorate only', async () => {
    const q = '{ study(id: "K2MAT51001-2023") { feedback(first: 1) { edges { node { comment } } } } }';
    const union = await h.query<any>(q, {}, { token: await h.token({ role: 'union', org: 'UDF' }) });
    expect(union.errors).toBeUndefined();
    const owner = await h.query<any>(q, {}, { token: await h.token({ role: 'school-owner', org: '0301' }) });
    const edges = union.data.study?.feedback.edges ?? [];
    if (edges.length > 0) expect(owner.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });
});

describe('small-number suppression', () => {
  const Q = `{ studies(filter: { year: 2023 }, first: 100) { edges { node {
    applicants admitted waitlisted vacantSeats approvedApplications
    rating { count average byTopic { count average } } } } }
    subjects { code rating { count average byTopic { count average } } } }`;

  it.each(['anonymous', 'another owner', 'the institution'] as const)(
    'never shows %s a figure about 1 to 4 persons, nor one that reveals it',
    async (caller) => {
      const identity = identityOf(caller, subjects.approved);
      const token = identity.role === 'public' ? undefined : await h.token(identity);
      const res = await h.query<any>(Q, {}, token ? { token } : {});
      expect(res.errors).toBeUndefined();
      const counts: (number | null)[] = [];
      let suppressed = 0;
      for (const { node } of res.data.studies.edges) {
        counts.push(
          node.applicants,
          node.admitted,
          node.waitlisted,
          node.approvedApplications,
          node.rating.count,
          ...node.rating.byTopic.map((t: any) => t.count),
        );
        if (node.admitted === null) expect(node.vacantSeats).toBeNull();
        if (node.rating.count === null) expect(node.rating.average).toBeNull();
        suppressed += [node.applicants, node.admitted, node.waitlisted, node.approvedApplications].filter((v) => v === null).length;
      }
      for (const s of res.data.subjects) counts.push(s.rating.count, ...s.rating.byTopic.map((t: any) => t.count));
      expect(counts.filter((n) => n !== null && n > 0 && n < 5)).toEqual([]);
      // Every shown count is a multiple of 5, so no difference of shown counts pins a hidden one.
      expect(counts.filter((n) => n !== null && n % 5 !== 0)).toEqual([]);
      expect(suppressed).toBeGreaterThan(0);
    },
  );

  it('shows a subject’s answer count only when none of its studies’ counts is hidden', async () => {
    const feedback = await h.dbs.feedback
      .collection('feedback')
      .find({}, { projection: { study: 1, subject: 1 } })
      .toArray();
    const perStudy = new Map<string, Map<string, number>>();
    for (const f of feedback) {
      const studies = perStudy.get(f.subject) ?? new Map<string, number>();
      studies.set(f.study, (studies.get(f.study) ?? 0) + 1);
      perStudy.set(f.subject, studies);
    }
    const res = await h.query<any>('{ subjects { code rating { count average } } }');
    expect(res.errors).toBeUndefined();
    const shown = new Map<string, { count: number | null; average: number | null }>(res.data.subjects.map((s: any) => [s.code, s.rating]));
    let hidden = 0;
    [...perStudy.keys()].forEach((code) => {
      const cells = [...perStudy.get(code)!.values()];
      const total = cells.reduce((a, b) => a + b, 0);
      const expected = cells.some((n) => n > 0 && n < 5) ? null : Math.round(total / 5) * 5;
      if (expected === null) hidden++;
      expect(shown.get(code)?.count, code).toBe(expected);
      // The average over 5 or more answers stays: with every count rounded it pins nobody's rating.
      expect(shown.get(code)?.average === null, code).toBe(total < 5);
    });
    expect(hidden).toBeGreaterThan(0);
  });

  it('shows the directorate every figure', async () => {
    const res = await h.query<any>(Q, {}, { token: await h.token({ role: 'directorate' }) });
    const values = res.data.studies.edges.flatMap(({ node }: any) => [
      node.applicants,
      node.admitted,
      node.waitlisted,
      node.vacantSeats,
      node.approvedApplications,
    ]);
    expect(values.every((v: unknown) => typeof v === 'number')).toBe(true);
    expect(values.some((v: number) => v > 0 && v < 5)).toBe(true);
  });
});

describe('the gateway refuses before planning', () => {
  it.each([
    ['anonymous', null, '{ applications(first: 1) { totalCount } }', 401, 'UNAUTHENTICATED'],
    [
      'anonymous, through a fragment',
      null,
      'query { ...F } fragment F on Query { studies(first: 1) { edges { node { id } } } teacher(id: "t-x") { id } }',
      401,
      'UNAUTHENTICATED',
    ],
    ['a union running an erasure', { role: 'union', org: 'UDF' }, 'mutation { eraseTeacherRecord(teacher: "t-x") { records } }', 403, 'FORBIDDEN'],
    [
      'an owner reading raw comments',
      { role: 'school-owner', org: '0301' },
      '{ study(id: "K2MAT51001-2023") { feedback(first: 1) { totalCount } } }',
      403,
      'FORBIDDEN',
    ],
  ] as const)('%s: the whole operation, with no database command', async (_name, identity, query, status, code) => {
    h.takeCommands();
    const token = identity ? await h.token(identity) : undefined;
    const res = await h.query(query, {}, token ? { token } : {});
    expect(res.status).toBe(status);
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual([code]);
    expect(h.takeCommands()).toEqual([]);
  });
});
