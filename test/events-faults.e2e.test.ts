import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { settableClock } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeadlineSeed, DEADLINE_DAY, LAST_YEAR, YEAR, seedDeadline } from '../bench/deadline-seed.js';
import { type Harness, startHarness } from './harness.js';

// Events between partners under faults: teachers submit and owners decide while each partner in
// turn is stopped and started again; afterwards every projection matches its owner's records
// (reconcile, and `npm run reconcile` through npm), and `--repair` mends one that was damaged.
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);
const NAMES = ['catalogue', 'admissions', 'plans', 'feedback'] as const;

let h: Harness;
let seed: DeadlineSeed;
const tokens = new Map<string, string>();

beforeAll(async () => {
  h = await startHarness({ seed: false, clock: settableClock(DEADLINE_DAY) });
  seed = await seedDeadline(h.dbs, { teachers: 24, unemployed: 0, lastYear: 16 });
  for (const t of seed.teachers) tokens.set(t.id, await h.token({ role: 'teacher', org: t.id }));
  for (const o of seed.owners) tokens.set(o, await h.token({ role: 'school-owner', org: o }));
}, 60_000);

afterAll(async () => {
  await h?.close();
});

/** Sends until the service answers (a stopped partner is waited for, as a client retries), with the same idempotency key. */
async function untilAnswered(token: string, query: string, variables: Record<string, unknown>) {
  for (let i = 0; ; i++) {
    const res = await fetch(h.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: Record<string, any> | null; errors?: { extensions?: { code?: string } }[] };
    if (body.errors?.[0]?.extensions?.code !== 'SUBGRAPH_UNAVAILABLE') return body;
    if (i > 200) throw new Error('a partner stayed down');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SUBMIT = 'mutation ($input: ApplicationInput!, $key: ID) { submitApplication(input: $input, idempotencyKey: $key) { id year } }';
const DECIDE = 'mutation ($application: ID!) { decideApplication(application: $application, outcome: APPROVED) { id outcome } }';

/** The database prefix of the harness's four databases (`e2e_xxxx_`). */
const prefix = () => h.dbs.plans.databaseName.replace(/plans$/, '');
/** The store the harness uses, as a connection string for a child process. */
const uri = () => process.env.MONGODB_URI ?? `mongodb://${h.dbs.plans.client.options.hosts[0]!.toString()}/`;
const reconcileScript = (args: string[] = []) =>
  run('npm', ['run', '-s', 'reconcile', '--', '--prefix', prefix(), ...args], { cwd: ROOT, env: { ...process.env, MONGODB_URI: uri() } }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
  );

describe('events under faults', () => {
  it('keeps every projection right while each partner is stopped and started again during writes', async () => {
    const submitted = new Map<string, string>();
    const writes = (async () => {
      await Promise.all([
        ...seed.teachers.map(async (t, i) => {
          await new Promise((r) => setTimeout(r, i * 60));
          const offer = seed.offers[i % seed.offers.length]!;
          const body = await untilAnswered(tokens.get(t.id)!, SUBMIT, {
            input: { study: offer.id, firstChoice: { campus: offer.campus, fundingScheme: 'SUBSTITUTE' } },
            key: randomUUID(),
          });
          expect(body.errors, JSON.stringify(body)).toBeUndefined();
          expect(body.data?.submitApplication?.year).toBe(YEAR);
          submitted.set(t.id, body.data!.submitApplication.id);
        }),
        ...seed.lastYear.map(async (a, i) => {
          await new Promise((r) => setTimeout(r, i * 90));
          const body = await untilAnswered(tokens.get(a.owner)!, DECIDE, { application: a.id });
          expect(body, JSON.stringify(body)).toEqual({ data: { decideApplication: { id: a.id, outcome: 'APPROVED' } } });
        }),
      ]);
    })();
    // Each partner in turn, while the writes go on.
    for (const name of NAMES) {
      await new Promise((r) => setTimeout(r, 200));
      await h.stopSubgraph(name);
      await new Promise((r) => setTimeout(r, 150));
      await h.restartSubgraph(name);
    }
    await writes;
    await h.settle(30_000);

    expect(await h.dbs.admissions.collection('applications').countDocuments({ year: YEAR })).toBe(seed.teachers.length);
    expect(await h.dbs.plans.collection('decisions').countDocuments({ year: LAST_YEAR, outcome: 'APPROVED' })).toBe(seed.lastYear.length);
    // The owners' approvals reached admissions (its own copy), and every application reached plans.
    expect(await h.dbs.admissions.collection('applications').countDocuments({ year: LAST_YEAR, ownerApproved: true })).toBe(seed.lastYear.length);
    expect(await h.dbs.plans.collection('projections').countDocuments({ kind: 'application', 'data.year': YEAR })).toBe(seed.teachers.length);
    const { reconcile } = await import('../demo/projections.js');
    expect((await reconcile(h.dbs)).differences).toEqual([]);
  }, 60_000);

  it('npm run reconcile prints what it checked per consumer and kind, and differences 0', async () => {
    const { code, stdout } = await reconcileScript();
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/^plans ← admissions application +checked \d+, differences 0$/m);
    expect(stdout).toMatch(/^admissions ← plans ownerApproved +checked \d+, differences 0$/m);
    expect(stdout.trim().split('\n').at(-1)).toBe('differences 0');
  }, 30_000);

  it("npm run reconcile finds a damaged projection (exit 1), and --repair rebuilds it from the owners' records", async () => {
    const plansRows = h.dbs.plans.collection<{ _id: string; data: Record<string, unknown> }>('projections');
    const [gone, changed] = await plansRows.find({ kind: 'application' }).limit(2).toArray();
    await plansRows.deleteOne({ _id: gone!._id });
    await plansRows.updateOne({ _id: changed!._id }, { $set: { 'data.owner': '9999' } });
    await h.dbs.admissions.collection('applications').updateOne({ year: LAST_YEAR }, { $set: { ownerApproved: false } });
    // And two maintained figures: a study's applicants counted once too many, another study's cell gone.
    const cells = h.dbs.admissions.collection<{ _id: string }>('figures');
    const [inflated, lost] = await cells.find({ set: 'studyFigures' }).limit(2).toArray();
    await cells.updateOne({ _id: inflated!._id }, { $inc: { applicants: 1 } });
    await cells.deleteOne({ _id: lost!._id });

    const found = await reconcileScript();
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/^plans ← admissions application +checked \d+, differences 2$/m);
    expect(found.stdout).toContain(`  missing ${gone!._id.replace('application|', '')}: expected {`);
    expect(found.stdout).toContain(`  different ${changed!._id.replace('application|', '')}: owner expected "${changed!.data.owner as string}", kept "9999"\n`);
    expect(found.stdout).toMatch(/^ {2}different a-\w+: expected true, kept false$/m);
    expect(found.stdout).toMatch(/^admissions ← plans ownerApproved +checked \d+, differences 1$/m);
    expect(found.stdout).toMatch(/^admissions figures studyFigures +cells [\d,]+, differences 2$/m);
    expect(found.stdout).toContain(`  different ${inflated!._id}: applicants expected `);
    expect(found.stdout).toContain(`  missing ${lost!._id}: expected {`);
    expect(found.stdout).toMatch(/^plans figures approvedByStudy +cells [\d,]+, differences 0$/m);
    expect(found.stdout.trim().split('\n').at(-1)).toBe('differences 5');

    const repaired = await reconcileScript(['--repair']);
    expect(repaired.code, repaired.stdout).toBe(0);
    expect(repaired.stdout).toMatch(
      /^repair: rebuilt every projection from the owners' records \([\d,]+ rows; cursors at the sources' heads\) and every partner's figures from its records \([\d,]+ cells\), repaired 5 of 5 differences \(plans ← admissions application 2, admissions ← plans ownerApproved 1, admissions figures studyFigures 2\)$/m,
    );
    expect(repaired.stdout.trim().split('\n').at(-1)).toBe('differences 0');
    expect((await reconcileScript()).code).toBe(0);
  }, 60_000);
});
