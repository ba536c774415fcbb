import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { type EmbeddedMongo, startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDev, processesUnder, startDev } from '../launcher/dev.js';
import { partnerDbs } from '../demo/seed.js';
import { type DeadlineSeed, DEADLINE_DAY, seedDeadline } from '../bench/deadline-seed.js';
import { readRegistry } from '../tools/schema/compose.js';

// `npm run dev` when a subgraph's process dies (SIGKILL of the node process listening on its port,
// as an OOM killer or an operator does): its supervisor starts it again and says so, backing off when
// it keeps dying; and the events flow between the separate processes through the gateway (a
// submission in admissions reaches plans' projection), before and after such a kill.
let store: EmbeddedMongo | undefined;
let client: MongoClient;
let dev: RunningDev | undefined;
let seed: DeadlineSeed;
let teacherToken: (id: string) => Promise<string>;
const prefix = `devsup_${randomBytes(4).toString('hex')}_`;
const lines: string[] = [];

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  const mongodbUri = process.env.MONGODB_URI ?? (store = await startEmbeddedMongo({ port: 0, log: () => undefined })).uri;
  client = await MongoClient.connect(mongodbUri);
  seed = await seedDeadline(partnerDbs(client, prefix), { teachers: 8, unemployed: 0, lastYear: 0 });
  const { publicKey, privateKey } = await generateKeyPair('EdDSA');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'devsup', alg: 'EdDSA' };
  teacherToken = (id) =>
    new SignJWT({ role: 'teacher', org: id })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'devsup' })
      .setIssuer('https://idp.test/dev')
      .setAudience('dev')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
  const ports = Object.fromEntries(await Promise.all(readRegistry().map(async (s) => [s.name, await freePort()] as const)));
  dev = await startDev({
    mongodbUri,
    ports,
    gatewayPort: await freePort(),
    prefix,
    env: { PARTNERSKAP_NOW: DEADLINE_DAY },
    auth: { jwks: { keys: [jwk] }, issuer: 'https://idp.test/dev', audience: 'dev' },
    print: (line) => lines.push(line),
  });
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  await Promise.all(Object.values(partnerDbs(client, prefix)).map((db) => db.dropDatabase().catch(() => undefined)));
  await client?.close();
  await store?.close();
});

/** The node process under a subgraph's `tsx watch`: the one listening on its port. */
const listener = async (name: string) => (await processesUnder(dev!.subgraphs[name]!.pid))![0]!;
const healthy = (name: string) =>
  fetch(new URL('/health', dev!.subgraphs[name]!.url), { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.ok,
    () => false,
  );
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${lines.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Submits teacher `i`'s application through the gateway and waits until plans' projection (another process) has it. */
async function submitAndSeeInPlans(i: number): Promise<void> {
  const teacher = seed.teachers[i]!;
  const offer = seed.offers[i % seed.offers.length]!;
  const res = await fetch(dev!.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await teacherToken(teacher.id)}` },
    body: JSON.stringify({
      query: 'mutation ($input: ApplicationInput!, $key: ID) { submitApplication(input: $input, idempotencyKey: $key) { id year } }',
      variables: { input: { study: offer.id, firstChoice: { campus: offer.campus, fundingScheme: 'SUBSTITUTE' } }, key: randomUUID() },
    }),
  });
  const body = (await res.json()) as { data?: { submitApplication: { id: string; year: number } } };
  expect(body).toEqual({ data: { submitApplication: { id: expect.stringMatching(/^a-[0-9a-f]{16}$/), year: 2030 } } });
  const projections = client.db(`${prefix}plans`).collection('projections');
  await until(
    'plans keeps the application',
    async () => (await projections.countDocuments({ _id: `application|${body.data!.submitApplication.id}` } as never)) === 1,
    15_000,
  );
}

describe('npm run dev supervises its subgraphs', () => {
  it("carries events between the separate processes: a submission reaches plans' projection", async () => {
    await submitAndSeeInPlans(0);
  }, 30_000);

  it('starts a subgraph killed with SIGKILL again, says so, and events flow from it again', async () => {
    const before = dev!.subgraphs.admissions!.pid;
    process.kill(await listener('admissions'), 'SIGKILL');
    await until('admissions down', async () => !(await healthy('admissions')), 5000);
    await until('admissions back', () => healthy('admissions'));
    expect(lines).toContainEqual(expect.stringMatching(/^admissions +│ ✗ admissions stopped unexpectedly \(its process is gone\): starting it again$/));
    await until('the supervisor saw it back', async () => lines.some((l) => /^admissions +│ ✓ admissions is up again \([\d.]+ s after it stopped\)$/.test(l)));
    // A new tsx watch (the old one's group went with its child).
    expect(dev!.subgraphs.admissions!.pid).not.toBe(before);
    expect(() => process.kill(before, 0)).toThrow(/ESRCH/);
    await submitAndSeeInPlans(1);
  }, 60_000);

  it('backs off when a subgraph keeps dying', async () => {
    process.kill(await listener('feedback'), 'SIGKILL');
    await until('the first restart', async () => lines.some((l) => /^feedback +│ ✗ feedback stopped unexpectedly .*: starting it again$/.test(l)));
    await until('feedback back', () => healthy('feedback'));
    process.kill(await listener('feedback'), 'SIGKILL');
    await until('the second restart, after a pause', async () =>
      lines.some((l) =>
        /^feedback +│ ✗ feedback stopped unexpectedly \(its process is gone\): starting it again in 1 s \(2 times in the last minute\)$/.test(l),
      ),
    );
    await until('feedback back again', () => healthy('feedback'));
  }, 60_000);

  it('stops every process, restarted ones too', async () => {
    const pids = Object.values(dev!.subgraphs).map((s) => s.pid);
    await dev!.stop();
    dev = undefined;
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  }, 30_000);
});
