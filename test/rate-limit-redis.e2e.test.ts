import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { type ListeningGateway, type Logger, createGatewayServer, listenGateway, memoryLogger } from '@partnerskap/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Gateway replicas sharing one rate limit through a real Redis (RATE_LIMIT_REDIS_URL): Debian's
// redis-server, installed here when missing (as .ci/run does), on a free port, nothing saved. The
// subgraphs are unreachable on purpose: `{ __typename }` needs none, and a refusal comes before planning.
const run = promisify(execFile);
const NAMES = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
const SUPERGRAPH = readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8');
const PER_MINUTE = 5;
let redis: ChildProcess | undefined;
let redisUrl = '';
let closedPort = 0;
const gateways: ListeningGateway[] = [];

/** A port nothing listens on now (redis-server takes no `--port 0`). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** redis-server, installed with apt when missing; a test that needs it fails when it cannot be had. */
async function redisServer(): Promise<string> {
  const found = async () => (await run('bash', ['-c', 'command -v redis-server']).catch(() => ({ stdout: '' }))).stdout.trim();
  if (await found()) return found();
  const install = 'apt-get install -y --no-install-recommends redis-server';
  await run('bash', ['-c', `export DEBIAN_FRONTEND=noninteractive; ${install} || (apt-get update && ${install})`], { timeout: 300_000 }).catch(() => undefined);
  const path = await found();
  if (!path) throw new Error(`redis-server is not installed and could not be (${install}): this test needs it`);
  return path;
}

/** Starts redis-server on a free port, resolving once it accepts connections. */
async function startRedis(): Promise<{ child: ChildProcess; url: string }> {
  const bin = await redisServer();
  const port = await freePort();
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${out}`)));
  });
  return { child, url: `redis://127.0.0.1:${port}` };
}

/** A replica: `Bearer org-<x>` is school owner `<x>` (limited per organisation), no header the public. */
async function replica(options: { redis: boolean; logger?: Logger }): Promise<ListeningGateway> {
  const server = createGatewayServer({
    supergraphSdl: SUPERGRAPH,
    subgraphUrls: Object.fromEntries(NAMES.map((n) => [n, `http://127.0.0.1:${closedPort}/graphql`])),
    development: false,
    authenticate: async (authorization) =>
      authorization?.startsWith('Bearer org-') ? { role: 'school-owner', org: authorization.slice('Bearer org-'.length) } : { role: 'public' },
    secrets: Object.fromEntries(NAMES.map((n) => [n, 'x'.repeat(32)])),
    logger: options.logger ?? memoryLogger(),
    rateLimits: { partnerPerMinute: PER_MINUTE, publicPerMinute: PER_MINUTE, publicCostPerMinute: 1_000_000 },
    // The owners here ask `{ __typename }`, no registered document: nobody is held to the registry (trusted-documents.ts).
    trustedDocuments: { roles: [] },
    ...(options.redis ? { rateLimitRedisUrl: redisUrl } : {}),
  });
  const listening = await listenGateway(server, { port: 0 });
  gateways.push(listening);
  return listening;
}

/** Asks `{ __typename }` as an organisation: the status, Retry-After and error codes. */
async function ask(gateway: ListeningGateway, org: string) {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer org-${org}` },
    body: '{"query":"{ __typename }"}',
  });
  const body = (await res.json()) as { errors?: { extensions: { code: string } }[] };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), codes: body.errors?.map((e) => e.extensions.code) };
}

beforeAll(async () => {
  closedPort = await freePort();
  ({ child: redis, url: redisUrl } = await startRedis());
}, 360_000);
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  redis?.kill('SIGKILL');
});

describe('rate limits shared through Redis (RATE_LIMIT_REDIS_URL)', () => {
  let a: ListeningGateway;
  let b: ListeningGateway;
  const aLog = memoryLogger();

  beforeAll(async () => {
    [a, b] = await Promise.all([replica({ redis: true, logger: aLog }), replica({ redis: true })]);
  }, 30_000);

  it('two replicas count one limit: 3 requests to one and 3 to the other, the 6th is refused with 429 RATE_LIMITED and Retry-After', async () => {
    const answers = [];
    for (const gateway of [a, a, a, b, b, b]) answers.push(await ask(gateway, 'shared'));
    expect(answers.map((x) => x.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(answers[5]).toMatchObject({ codes: ['RATE_LIMITED'] });
    expect(Number(answers[5]!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(answers[5]!.retryAfter)).toBeLessThanOrEqual(60);
    // The first replica sees the same count.
    expect((await ask(a, 'shared')).status).toBe(429);
    // Another organisation has its own.
    expect((await ask(b, 'other')).status).toBe(200);
  });

  it('without Redis, each replica allows its own limit (N replicas, N times the limit)', async () => {
    const [c, d] = await Promise.all([replica({ redis: false }), replica({ redis: false })]);
    const statuses = [];
    for (const gateway of [c, c, c, c, c, d, d, d, d, d, c]) statuses.push((await ask(gateway, 'shared')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 429]);
  });

  it("when Redis goes down, fails open to each replica's memory (limited per replica, never unlimited, never refused for it) and says so in the log", async () => {
    redis!.kill('SIGKILL');
    await new Promise((resolve) => redis!.once('exit', resolve));
    await expect.poll(() => aLog.entries.some((e) => e.level === 'warn' && /Redis is unreachable/.test(String(e.msg))), { timeout: 10_000 }).toBe(true);
    const started = performance.now();
    const onA = [];
    for (let i = 0; i < PER_MINUTE + 1; i++) onA.push((await ask(a, 'outage')).status);
    const onB = [];
    for (let i = 0; i < PER_MINUTE; i++) onB.push((await ask(b, 'outage')).status);
    expect(onA).toEqual([200, 200, 200, 200, 200, 429]);
    expect(onB).toEqual([200, 200, 200, 200, 200]);
    // Answered from memory at once: no request waits for a reconnect.
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
