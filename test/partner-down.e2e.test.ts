import { readFileSync } from 'node:fs';
import { BSON } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// One partner down never takes the others' data with it: a GDPR erasure answers per partner, and
// the gateway's /ready names the partner it cannot reach.
const ERASE = readFileSync(new URL('../operations/erase-teacher.graphql', import.meta.url), 'utf8');
const PARTNERS = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
type Partner = (typeof PARTNERS)[number];
const FIELD: Record<Partner, string> = {
  admissions: 'eraseTeacherApplications',
  plans: 'eraseTeacherRecord',
  catalogue: 'eraseTeacherAllocations',
  feedback: 'eraseTeacherFeedback',
};

let h: Harness;
let udir: string;
/** A teacher for each partner to be down, with records in every partner (feedback given in beforeAll). */
const teachers = {} as Record<Partner, string>;
const feedbackIds = {} as Record<Partner, string>;

/** The records each partner links to the teacher of `down`. */
async function linked(down: Partner): Promise<Record<Partner, number>> {
  const teacher = teachers[down];
  const [applications, decisions, records, allocations, feedback] = await Promise.all([
    h.dbs.admissions.collection('applications').countDocuments({ teacher }),
    h.dbs.plans.collection('decisions').countDocuments({ teacher }),
    h.dbs.plans.collection('teachers').countDocuments({ _id: teacher as never }),
    h.dbs.catalogue.collection('allocations').countDocuments({ teacher }),
    h.dbs.feedback.collection('feedback').countDocuments({ _id: feedbackIds[down] as never, participant: { $type: 'string' } }),
  ]);
  return { admissions: applications, plans: decisions + records, catalogue: allocations, feedback };
}

/** Every document of every partner's database that holds the id anywhere (its audit lines, idempotency records...). */
async function traces(teacher: string): Promise<string[]> {
  const found: string[] = [];
  for (const partner of PARTNERS) {
    for (const { name } of await h.dbs[partner].listCollections().toArray()) {
      // The documents as the store sends them (raw BSON): the id is looked for in their bytes, every field and key at once.
      for (const raw of (await h.dbs[partner].collection(name).find({}, { raw: true }).toArray()) as unknown as Buffer[]) {
        if (raw.includes(teacher)) found.push(`${partner}.${name} ${String(BSON.deserialize(raw)._id)}`);
      }
    }
  }
  return found;
}

const ready = async () => {
  const res = await fetch(new URL('/ready', h.gateway.url));
  return { status: res.status, body: await res.json() };
};

beforeAll(async () => {
  h = await startHarness();
  udir = await h.token({ role: 'directorate' });
  // Teachers who took part in a study (so they can give feedback) and have a funding allocation and a record in plans.
  const enrolled = await h.dbs.admissions
    .collection('applications')
    .find({ enrolment: { $ne: null } })
    .sort({ _id: 1 })
    .toArray();
  const seen = new Set<string>();
  for (const app of enrolled) {
    const teacher = app.teacher as string;
    if (seen.has(teacher)) continue;
    seen.add(teacher);
    const allocations = await h.dbs.catalogue.collection('allocations').countDocuments({ teacher });
    const record = await h.dbs.plans.collection('teachers').countDocuments({ _id: teacher as never });
    if (allocations === 0 || record === 0) continue;
    const partner = PARTNERS[Object.keys(teachers).length]!;
    const res = await h.query<any>(
      'mutation($input: FeedbackInput!) { giveFeedback(input: $input) { id } }',
      { input: { study: app.study, rating: 4, union: 'UDF' } },
      { token: await h.token({ role: 'teacher', org: teacher }) },
    );
    expect(res.errors).toBeUndefined();
    teachers[partner] = teacher;
    feedbackIds[partner] = res.data.giveFeedback.id;
    if (Object.keys(teachers).length === PARTNERS.length) break;
  }
  expect(Object.keys(teachers)).toEqual([...PARTNERS]);
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('GDPR erasure with one partner down', () => {
  it.each(PARTNERS)(
    '%s down: the others erase and say so, its part null with an error naming it; after it returns a repeat erases the rest, no trace anywhere',
    async (down) => {
      const teacher = teachers[down];
      const before = await linked(down);
      for (const partner of PARTNERS) expect(before[partner], `${partner} holds records of the teacher`).toBeGreaterThan(0);

      await h.stopSubgraph(down);
      let partial;
      try {
        partial = await h.query<any>(ERASE, { teacher }, { token: udir });
      } finally {
        await h.restartSubgraph(down);
      }
      expect(partial.status).toBe(200);
      expect(partial.data).toEqual(Object.fromEntries(PARTNERS.map((p) => [FIELD[p], p === down ? null : { partner: p, records: before[p] }])));
      expect(partial.errors?.map((e) => ({ path: e.path, code: e.extensions?.code, partner: e.extensions?.partner }))).toEqual([
        { path: [FIELD[down]], code: 'SUBGRAPH_UNAVAILABLE', partner: down },
      ]);
      // What the answer says is what happened: the others erased, the partner down kept its records.
      expect(await linked(down)).toEqual(Object.fromEntries(PARTNERS.map((p) => [p, p === down ? before[p] : 0])));

      const again = await h.query<any>(ERASE, { teacher }, { token: udir });
      expect(again.errors).toBeUndefined();
      expect(again.data).toEqual(Object.fromEntries(PARTNERS.map((p) => [FIELD[p], { partner: p, records: p === down ? before[p] : 0 }])));
      expect(await linked(down)).toEqual({ catalogue: 0, admissions: 0, plans: 0, feedback: 0 });
      expect(await traces(teacher)).toEqual([]);
      expect(await h.dbs.feedback.collection('feedback').countDocuments({ _id: feedbackIds[down] as never })).toBe(1);
    },
  );
});

describe("the gateway's /ready", () => {
  it('names a partner it cannot reach, and stays ready: it still serves the others', async () => {
    const up = {
      status: 200,
      body: { status: 'ready', checks: { supergraph: true }, partners: { catalogue: 'up', admissions: 'up', plans: 'up', feedback: 'up' } },
    };
    await expect.poll(ready, { timeout: 10_000, interval: 250 }).toEqual(up);
    await h.stopSubgraph('plans');
    try {
      // Answers are reused for 2 s, so a load balancer's polling does not multiply into the partners.
      await expect
        .poll(ready, { timeout: 10_000, interval: 250 })
        .toEqual({ ...up, body: { ...up.body, partners: { ...up.body.partners, plans: 'unreachable' } } });
      const served = await h.query<any>('{ subjects { code } }', {});
      expect(served.data.subjects.length).toBeGreaterThan(0);
    } finally {
      await h.restartSubgraph('plans');
    }
    await expect.poll(ready, { timeout: 10_000, interval: 250 }).toEqual(up);
  });
});
