/**
 * `npm run bench:tracing [-- --seconds S --rounds R --connections C --smoke]`: what OpenTelemetry
 * tracing costs (docs/tracing.md, docs/performance.md). The README's example (EnglishStudies: five
 * studies with figures from all four partners), each school owner of the demo data asking with its own
 * token, against three stacks side by side,
 * each a gateway process and a process of the four subgraphs over one embedded store with the demo data:
 *
 * - `off`: no OpenTelemetry variable set (the default): no provider, no instrumentation installed;
 * - `sampled-out`: tracing on with `OTEL_TRACES_SAMPLER=always_off`: every span is decided
 *   against and none is recorded or exported (the instrumentation's own cost);
 * - `on`: tracing on, every request recorded and exported (OTLP/HTTP protobuf, batched) to a
 *   collector in this process that reads and drops what it gets.
 *
 * In short rounds that alternate the stacks' order, it prints for each the median req/s of the
 * rounds, each process's CPU µs per request (`/proc`: all it used from the first measured round to
 * its last export, so the exporter's batches are counted), and the bytes exported per request. `--smoke` starts `on` only, as one process, checks its answers to a few
 * requests and that it exported spans (test/tracing.e2e.test.ts); its figures mean nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { type Tracer } from '@partnerskap/common';
import { partnerDbs, seedDemoData } from '../demo/seed.js';
import { BENCH_SECRETS } from './workload.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '8' },
    smoke: { type: 'boolean', default: false },
    /** Only these stacks, comma-separated (`off`, `sampled-out`, `on`); the smoke run starts `on` only. */
    variants: { type: 'string' },
    /** Internal: run one process of a stack (`gateway` or `subgraphs`), configured by `--config` (JSON). */
    serve: { type: 'string' },
    config: { type: 'string' },
  },
});
const SMOKE = values.smoke;
const TICK_MS = 1000 / 100; // /proc times are in clock ticks (USER_HZ, 100 on Linux)
const PREFIX = 'tracebench_';
const AUTH = { issuer: 'bench', audience: 'bench' };
/** The README's example, a registered document (production holds partners to those): five English studies with figures from all four partners. */
const QUERY = readFileSync(new URL('../operations/english-studies.graphql', import.meta.url), 'utf8');

/** The stacks compared: their OpenTelemetry variables (the collector's address is added). */
const ALL_VARIANTS: { name: string; env: (collector: string) => Record<string, string> }[] = [
  { name: 'off', env: () => ({}) },
  { name: 'sampled-out', env: (collector) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: collector, OTEL_TRACES_SAMPLER: 'always_off' }) },
  // The smoke run cannot wait out the batch processor's 5 s: it exports at once.
  { name: 'on', env: (collector) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: collector, ...(SMOKE ? { OTEL_BSP_SCHEDULE_DELAY: '50' } : {}) }) },
];
const VARIANTS = ALL_VARIANTS.filter((v) => (values.variants ?? (SMOKE ? 'on' : 'off,sampled-out,on')).split(',').includes(v.name));

/**
 * One process of a stack, printing one JSON line when ready: the four subgraphs (over the parent's
 * store), the gateway in front of them, or (the smoke run's, one process to start) both. The
 * services are imported here only: the bench's own process loads none of them.
 */
async function serve(kind: string, config: Record<string, unknown>): Promise<void> {
  const [{ startTracing, tracingEnabled }, { startSubgraph, traceCommands }, gatewayPackage, { admissions }, { catalogue }, { feedback }, { plans }] =
    await Promise.all([
      import('@partnerskap/common'),
      import('@partnerskap/kit'),
      import('@partnerskap/gateway'),
      import('@partnerskap/admissions'),
      import('@partnerskap/catalogue'),
      import('@partnerskap/feedback'),
      import('@partnerskap/plans'),
    ]);
  const { DEFAULT_SUPERGRAPH, createAuthenticator, createGatewayServer, createLogger, listenGateway, startGatewayTracing } = gatewayPackage;
  const ready: Record<string, unknown> = {};
  if (kind === 'subgraphs' || kind === 'stack') {
    const modules = { catalogue, admissions, plans, feedback } as const;
    const tracers: Record<string, Tracer | undefined> = {};
    for (const name of Object.keys(modules)) tracers[name] = (await startTracing({ serviceName: name, env: process.env })).tracer;
    const client = await MongoClient.connect(String(config.mongodbUri), { monitorCommands: tracingEnabled() });
    if (tracingEnabled()) traceCommands(client);
    const dbs = partnerDbs(client, PREFIX);
    const urls: Record<string, string> = {};
    for (const [name, module] of Object.entries(modules)) {
      const tracer = tracers[name];
      const s = await startSubgraph(module as never, {
        db: dbs[name as keyof typeof modules],
        port: 0,
        development: false,
        gatewaySecret: BENCH_SECRETS[name as keyof typeof BENCH_SECRETS],
        ...(tracer ? { tracer } : {}),
      });
      urls[name] = s.url;
    }
    ready.urls = urls;
  }
  if (kind === 'gateway' || kind === 'stack') {
    const tracing = await startGatewayTracing(process.env);
    const server = createGatewayServer({
      supergraphSdl: readFileSync(DEFAULT_SUPERGRAPH, 'utf8'),
      subgraphUrls: (ready.urls ?? config.urls) as Record<string, string>,
      secrets: BENCH_SECRETS,
      development: false,
      authenticate: createAuthenticator({ jwks: config.jwks as { keys: [] }, ...AUTH }),
      rateLimits: { partnerPerMinute: 1e9, publicPerMinute: 1e9, publicCostPerMinute: 1e9 },
      logger: createLogger(),
      ...(tracing.tracer ? { tracer: tracing.tracer } : {}),
    });
    const listening = await listenGateway(server, { port: 0 });
    ready.url = listening.url;
  }
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.once('SIGTERM', () => process.exit(0));
}

const children: ChildProcess[] = [];

/** Starts one process of a stack; resolves with it and its JSON line. */
function start(kind: string, config: Record<string, unknown>, env: Record<string, string>): Promise<{ pid: number; ready: Record<string, unknown> }> {
  // The stacks' own variables only: none of this shell's OpenTelemetry settings.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=32', '--import', 'tsx', new URL(import.meta.url).pathname, '--serve', kind, '--config', JSON.stringify(config)],
    { env: { ...inherited, ...env, NODE_ENV: 'production', LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ pid: child.pid!, ready: JSON.parse(line) as Record<string, unknown> });
    });
    child.once('exit', (code) => reject(new Error(`bench:tracing: the ${kind} process exited (${code}) before it was ready`)));
  });
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[Math.floor(mid)]!;
};

async function main(): Promise<void> {
  console.log(`bench:tracing${SMOKE ? ' (smoke)' : ''}: starting the store${SMOKE ? '' : ' with the demo data'}, a collector and ${VARIANTS.length} stacks...`);
  const store = await startEmbeddedMongo({ port: 0, log: () => undefined });
  const client = await MongoClient.connect(store.uri);
  const dbs = partnerDbs(client, PREFIX);
  if (SMOKE) {
    await dbs.catalogue.collection('studies').insertOne({
      ...{ _id: 'S-BENCH-ENG-2024', code: 'BENCH', name: 'Engelsk 1', subject: 'ENG', gradeBand: 'GRADES_5_10', credits: 30, level: 'bachelor' },
      ...{
        institution: '974767880',
        campus: 'Oslo',
        delivery: 'CAMPUS',
        gatherings: 4,
        semesters: 2,
        startTerm: 'autumn',
        year: 2024,
        places: 30,
        status: 'OPEN',
      },
    } as never);
  } else await seedDemoData(dbs, undefined, undefined, { projections: false });
  const owners = SMOKE ? ['4601'] : (await dbs.admissions.collection('applications').distinct('owner')).filter((o: string) => /^\d{4}$/.test(o));
  // The collector: reads each export and drops it, counting requests and bytes, by stack (each exports under a path of its own).
  const exported = { requests: 0, bytes: 0, byStack: new Map<string, number>() };
  const collector = createServer((req, res) => {
    const stack = decodeURIComponent((req.url ?? '').split('/')[1] ?? '');
    req.on('data', (chunk: Buffer) => {
      exported.bytes += chunk.length;
      exported.byStack.set(stack, (exported.byStack.get(stack) ?? 0) + chunk.length);
    });
    req.on('end', () => {
      exported.requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

  const { publicKey, privateKey } = await generateKeyPair('EdDSA');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA' }] };
  const stacks = await Promise.all(
    VARIANTS.map(async (variant) => {
      const env = variant.env(`${collectorUrl}/${variant.name}`);
      if (SMOKE) {
        const stack = await start('stack', { mongodbUri: store.uri, jwks }, env);
        return { name: variant.name, url: String(stack.ready.url), gatewayPid: stack.pid, subgraphsPid: stack.pid };
      }
      const subgraphs = await start('subgraphs', { mongodbUri: store.uri }, env);
      const gateway = await start('gateway', { urls: subgraphs.ready.urls, jwks }, env);
      return { name: variant.name, url: String(gateway.ready.url), gatewayPid: gateway.pid, subgraphsPid: subgraphs.pid };
    }),
  );

  // Each school owner asks about its own approvals, with a token of its own.
  const prepared = await Promise.all(
    owners.map(async (owner) => {
      const jwt = new SignJWT({ role: 'school-owner', org: owner }).setProtectedHeader({ alg: 'EdDSA', kid: 'bench' });
      const token = await jwt.setIssuer(AUTH.issuer).setAudience(AUTH.audience).setIssuedAt().setExpirationTime('2h').sign(privateKey);
      return {
        body: JSON.stringify({ query: QUERY, variables: { owner } }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      };
    }),
  );

  type Round = { rps: number; gateway: number; subgraphs: number; bad: number; firstBad?: string };
  /** Requests sent to each stack, warm-up included: what its exported bytes are divided by. */
  const sent = new Map<string, number>();
  const load = async (stack: (typeof stacks)[number], seconds: number): Promise<Round> => {
    let next = 0;
    let bad = 0;
    let firstBad: string | undefined;
    const before = { gateway: cpuMs(stack.gatewayPid), subgraphs: cpuMs(stack.subgraphsPid) };
    const result = (await autocannon({
      url: stack.url,
      connections: Number(values.connections),
      ...(SMOKE ? { amount: 20 } : { duration: seconds }),
      requests: [
        {
          method: 'POST',
          setupRequest: (req: Record<string, unknown>) => ({ ...req, ...prepared[next++ % prepared.length]! }),
          onResponse: (status: number, body: string) => {
            const problem =
              status !== 200 || !/^\{"data":\{"studies":\{"totalCount":\d+,"edges":\[/.test(body) ? `HTTP ${status}: ${body.slice(0, 200)}` : undefined;
            if (problem) firstBad ??= (bad++, problem);
          },
        },
      ],
    })) as { requests: { total: number; average: number } };
    const n = Math.max(1, result.requests.total);
    sent.set(stack.name, (sent.get(stack.name) ?? 0) + result.requests.total);
    return {
      rps: result.requests.average,
      gateway: ((cpuMs(stack.gatewayPid) - before.gateway) * 1000) / n,
      // One process for both (the smoke run's): its CPU is counted once, as the gateway's.
      subgraphs: stack.subgraphsPid === stack.gatewayPid ? 0 : ((cpuMs(stack.subgraphsPid) - before.subgraphs) * 1000) / n,
      bad,
      ...(firstBad ? { firstBad } : {}),
    };
  };

  // Warm each stack (plan caches, connections, tokens verified, the JIT) before measuring.
  if (!SMOKE) for (const stack of stacks) await load(stack, 2);
  const rounds = SMOKE ? 1 : Number(values.rounds);
  const per = new Map<string, Round[]>();
  // Each process's CPU from here to the last export, over the requests of the measured rounds: a batch
  // is exported every 5 s, often after its round, so a round's own figure leaves some of it out.
  const startCpu = new Map(stacks.map((stack) => [stack.name, { gateway: cpuMs(stack.gatewayPid), subgraphs: cpuMs(stack.subgraphsPid) }]));
  const sentBefore = new Map(sent);
  for (let r = 0; r < rounds; r++) {
    for (const stack of r % 2 === 0 ? stacks : [...stacks].reverse()) {
      const m = await load(stack, Number(values.seconds));
      per.set(stack.name, [...(per.get(stack.name) ?? []), m]);
      if (!SMOKE)
        console.log(
          `  round ${r + 1} ${stack.name.padEnd(16)} ${m.rps.toFixed(0).padStart(5)} req/s  gateway ${m.gateway.toFixed(0)} µs/req  subgraphs ${m.subgraphs.toFixed(0)} µs/req`,
        );
    }
  }
  // The batch processor exports every 5 s (the smoke run's every 50 ms): wait for what is still on its way.
  if (SMOKE) for (let i = 0; i < 100 && exported.requests === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  else await new Promise((resolve) => setTimeout(resolve, 6000));

  console.log(`\nthe README's example (EnglishStudies), ${owners.length} school owners, ${values.connections} connections, ${rounds} round(s)`);
  console.log('stack             req/s   gateway CPU µs/req   subgraphs CPU µs/req   exported B/req   bad');
  const off = stacks.find((stack) => stack.name === 'off');
  /** A stack's CPU µs per request over the measured rounds and the exports after them (the subgraphs' 0 when one process runs both). */
  const total = (stack: (typeof stacks)[number]) => {
    const n = Math.max(1, (sent.get(stack.name) ?? 0) - (sentBefore.get(stack.name) ?? 0));
    const at = startCpu.get(stack.name)!;
    const gateway = ((cpuMs(stack.gatewayPid) - at.gateway) * 1000) / n;
    return { gateway, subgraphs: stack.subgraphsPid === stack.gatewayPid ? 0 : ((cpuMs(stack.subgraphsPid) - at.subgraphs) * 1000) / n };
  };
  let failed = false;
  for (const stack of stacks) {
    const ms = per.get(stack.name)!;
    const bad = ms.reduce((a, m) => a + m.bad, 0);
    failed ||= bad > 0;
    const [rps, gateway, subgraphs, bytes] = [
      median(ms.map((m) => m.rps)),
      total(stack).gateway,
      total(stack).subgraphs,
      (exported.byStack.get(stack.name) ?? 0) / Math.max(1, sent.get(stack.name) ?? 0),
    ];
    // Beside `off`'s figure, how much more (as a share of it).
    const vs = (x: number, base: number | undefined) =>
      stack.name === 'off' || !base ? '' : ` (${x >= base ? '+' : ''}${(((x - base) / base) * 100).toFixed(0)} %)`;
    console.log(
      `${stack.name.padEnd(16)} ${rps.toFixed(0).padStart(6)}   ${`${gateway.toFixed(0)}${vs(gateway, off && total(off).gateway)}`.padStart(18)}   ${`${subgraphs.toFixed(0)}${vs(subgraphs, off && total(off).subgraphs)}`.padStart(20)}   ${bytes.toFixed(0).padStart(14)}   ${String(bad).padStart(3)}${bad ? ` ${ms.find((m) => m.firstBad)?.firstBad}` : ''}`,
    );
  }
  console.log(`the collector received ${exported.requests} export(s), ${exported.bytes} bytes`);
  if (SMOKE) failed ||= exported.requests === 0;
  for (const child of children) child.kill('SIGTERM');
  collector.close();
  await client.close();
  await store.close();
  process.exit(failed ? 1 : 0);
}

if (values.serve) await serve(values.serve, JSON.parse(values.config ?? '{}') as Record<string, unknown>);
else
  await main().catch((err: unknown) => {
    console.error(err);
    for (const child of children) child.kill('SIGTERM');
    process.exit(1);
  });
