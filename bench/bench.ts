/**
 * `npm run bench [-- --seconds N --rounds R --connections C]`: our gateway against a stock
 * ApolloGateway and Hive Gateway on the same supergraph, side by side in one run with
 * alternating rounds, and the floor (the same query straight to its subgraph). Every gateway
 * and the backend (store and subgraphs) run in processes of their own; the load comes from this
 * one (autocannon, loopback, fixed connections and duration). Variables and callers rotate
 * through 1,000+ realistic sets; every response body is checked. Prints req/s, p50/p99, gateway
 * CPU ms per request (from /proc), peak RSS, cache hit rates and the ratios against the targets.
 * Then what compression saves and costs on ours: bytes per response and CPU ms per request for the
 * README's query without `Accept-Encoding`, with gzip and with br, in alternating rounds.
 * `--smoke` sends a few requests to each target instead (one round, every body still checked):
 * the test that keeps the bench, its bundle and its processes working; its figures mean nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { externalThirdParty } from '../tools/build.js';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { CREDENTIAL_HEADER, createCredentialSigner } from '@partnerskap/common';
import { BENCH_SECRETS, type Call, type Workload, workloads } from './workload.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    /** Only this workload (single-subgraph, cross-partner, entity-heavy). */
    only: { type: 'string' },
    /** Write CPU profiles (node --cpu-prof) of our gateway and the backend into this folder. */
    profile: { type: 'string' },
    /** Only these targets, comma-separated (ours, stock, hive, floor): for quick comparisons. */
    targets: { type: 'string' },
    /** A few requests per target and round, one round, no warm-up burst: for the test that keeps the bench working. */
    smoke: { type: 'boolean', default: false },
  },
});
const SMOKE = values.smoke;
/** Requests per target and round in a smoke run. */
const SMOKE_REQUESTS = 8;
const SECONDS = Number(values.seconds);
const ROUNDS = SMOKE ? 1 : Number(values.rounds);
const CONNECTIONS = SMOKE ? 2 : Number(values.connections);
const TICK_MS = 1000 / 100; // /proc times are in clock ticks (USER_HZ, 100 on Linux)

const children: ChildProcess[] = [];
const cleanup = () => children.forEach((c) => c.kill('SIGTERM'));
process.once('exit', cleanup);
process.once('SIGINT', () => process.exit(130));
// A bench stopped from outside (a test's timeout) still takes its gateways and backend with it.
process.once('SIGTERM', () => process.exit(143));

/**
 * The gateways run as production would run them: plain JavaScript, bundled once here with esbuild
 * (under tsx a gateway process takes about 100 MB more). Dependencies stay in node_modules.
 */
const SERVE_BUNDLE = new URL('.serve.bundle.mjs', import.meta.url).pathname;
await build({
  entryPoints: [new URL('./serve.ts', import.meta.url).pathname],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: SERVE_BUNDLE,
  // The rule `npm run build` bundles by: every third-party package stays external (a hand-kept list once missed one).
  plugins: [externalThirdParty],
  logLevel: 'error',
});
// A profile's frames point into the bundle: it stays for reading them.
if (!values.profile) process.once('exit', () => rmSync(SERVE_BUNDLE, { force: true }));

/**
 * The Node flags our gateway is deployed with, read from `npm run gateway` (a larger young
 * generation, a bounded old one); `BENCH_GATEWAY_FLAGS="..."` tries others.
 */
const GATEWAY_NODE_FLAGS =
  process.env.BENCH_GATEWAY_FLAGS?.split(' ').filter(Boolean) ??
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts.gateway as string).split(' ').filter((a) => a.startsWith('--max-'));

/**
 * The Node flags the subgraphs are deployed with, read from the Dockerfile's subgraph image (the
 * backend process holds them all); `BENCH_BACKEND_FLAGS="..."` tries others.
 */
const BACKEND_NODE_FLAGS =
  process.env.BENCH_BACKEND_FLAGS?.split(' ').filter(Boolean) ??
  (JSON.parse(/FROM base AS subgraph[\s\S]*?\nCMD (\[.*\])/.exec(readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8'))![1]!) as string[]).filter(
    (a) => a.startsWith('--max-'),
  );

/** Starts a bench process and waits for its first JSON line. */
function start(file: string, args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; ready: any }> {
  return new Promise((resolve, reject) => {
    const prof =
      values.profile && (args[0] === 'ours' || file === './backend.ts') ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}/${args[0] ?? 'backend'}`] : [];
    const entry = file === './serve.ts' ? [SERVE_BUNDLE] : ['--import', 'tsx', new URL(file, import.meta.url).pathname];
    // Our gateway runs with the young generation it is deployed with (fewer scavenges for its short-lived objects).
    if (args[0]?.startsWith('ours')) entry.unshift(...GATEWAY_NODE_FLAGS);
    if (file === './backend.ts') entry.unshift(...BACKEND_NODE_FLAGS);
    const child = spawn(process.execPath, [...prof, ...entry, ...args], {
      env: { ...process.env, ...env, NODE_ENV: 'production', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ child, ready: JSON.parse(line!) });
    });
    child.once('exit', (code) => reject(new Error(`${file} ${args.join(' ')} exited with ${code}`)));
  });
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

interface Target {
  name: string;
  url: string;
  pid: number;
  /** Headers for a call (ours: the caller's token; the floor: the subgraph credential). */
  headers(call: Call): Promise<Record<string, string>>;
}

interface Measure {
  rps: number;
  p50: number;
  p99: number;
  cpuPerReq: number;
  /** The backend's (store and four subgraphs, one process) CPU ms per request. */
  backendCpuPerReq: number;
  /** This process's (the load generator's: autocannon, its sockets) CPU ms per request. */
  loadCpuPerReq: number;
  rss: number;
  requests: number;
  bad: number;
  firstBad?: string;
}

/** A content coding the client accepts (`Accept-Encoding`), or none. */
type Encoding = 'br' | 'gzip' | undefined;
/** serveGraphQL leaves bodies under this many bytes as they are. */
const COMPRESS_MIN_BYTES = 1024;
/** Whether an answer came in the coding asked for (a small one as it is). */
const codingOk = (encoding: Encoding, coding: string | undefined, bytes: number) => coding === encoding || (coding === undefined && bytes < COMPRESS_MIN_BYTES);

async function load(target: Target, workload: Workload, calls: Call[], seconds = SECONDS, encoding?: Encoding): Promise<Measure> {
  // Bodies and headers are prepared before the round, so the load generator does little per request.
  const accept = encoding ? { 'accept-encoding': encoding } : {};
  const prepared = await Promise.all(
    calls.map(async (call) => ({
      body: JSON.stringify({ query: workload.query, variables: call.variables }),
      headers: { 'content-type': 'application/json', ...accept, ...(await target.headers(call)) },
    })),
  );
  let next = 0;
  let bad = 0;
  let firstBad: string | undefined;
  const cpuBefore = cpuMs(target.pid);
  const backendBefore = cpuMs(backendPid);
  const loadBefore = process.cpuUsage();
  const result = await autocannon({
    url: target.url,
    connections: CONNECTIONS,
    ...(SMOKE ? { amount: SMOKE_REQUESTS } : { duration: seconds }),
    requests: [
      {
        method: 'POST',
        setupRequest: (req: any) => {
          const p = prepared[next++ % prepared.length]!;
          return { ...req, body: p.body, headers: p.headers };
        },
        onResponse: (status: number, body: string, _context: unknown, headers: Record<string, string> = {}) => {
          // autocannon does not decode a compressed body: its coding is checked here, its content by bodyBytes.
          const coding = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-encoding')?.[1];
          const problem =
            status !== 200
              ? `HTTP ${status}: ${body.slice(0, 200)}`
              : encoding
                ? codingOk(encoding, coding, body.length)
                  ? undefined
                  : `content-encoding ${coding}, not ${encoding}`
                : workload.check(body);
          if (problem) {
            bad++;
            firstBad ??= problem;
          }
        },
      },
    ],
  });
  const cpu = cpuMs(target.pid) - cpuBefore;
  const backendCpu = cpuMs(backendPid) - backendBefore;
  const loadUsage = process.cpuUsage(loadBefore);
  const loadCpu = (loadUsage.user + loadUsage.system) / 1000;
  const requests = (result as any).requests.total as number;
  return {
    rps: (result as any).requests.average,
    p50: (result as any).latency.p50,
    p99: (result as any).latency.p99,
    cpuPerReq: cpu / Math.max(1, requests),
    backendCpuPerReq: target.pid === backendPid ? 0 : backendCpu / Math.max(1, requests),
    loadCpuPerReq: loadCpu / Math.max(1, requests),
    rss: peakRssMb(target.pid),
    requests,
    bad,
    ...(firstBad ? { firstBad } : {}),
  };
}

/** Sends each call once, a few at a time. */
async function warmUp(target: Target, workload: Workload, calls: Call[]): Promise<void> {
  for (let i = 0; i < calls.length; i += 16) {
    await Promise.all(
      calls.slice(i, i + 16).map(async (call) => {
        await fetch(target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(await target.headers(call)) },
          body: JSON.stringify({ query: workload.query, variables: call.variables }),
        }).then((r) => r.text());
      }),
    );
  }
}

/** The mean body size, as sent, of the first calls with `Accept-Encoding` (each decoded and checked). */
async function bodyBytes(target: Target, workload: Workload, calls: Call[], encoding: Encoding): Promise<number> {
  let total = 0;
  for (const call of calls) {
    const headers = { 'content-type': 'application/json', ...(encoding ? { 'accept-encoding': encoding } : {}), ...(await target.headers(call)) };
    const { coding, body } = await new Promise<{ coding: string | undefined; body: Buffer }>((resolve, reject) => {
      request(target.url, { method: 'POST', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ coding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end(JSON.stringify({ query: workload.query, variables: call.variables }));
    });
    if (!codingOk(encoding, coding, body.length)) throw new Error(`compression: asked ${encoding ?? 'none'}, got ${coding ?? 'none'}`);
    const text = (coding === 'br' ? brotliDecompressSync(body) : coding === 'gzip' ? gunzipSync(body) : body).toString('utf8');
    const problem = workload.check(text);
    if (problem) throw new Error(`compression (${encoding ?? 'none'}): ${problem}`);
    total += body.length;
  }
  return total / calls.length;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[Math.floor(mid)]!;
};

/** A counter from the gateway's `/metrics`, summed over its series (every series carries labels: `service`, `subgraph`). */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  let total = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) total += Number(match[1]);
  return total;
}

// ---- start everything
const started = performance.now();
console.log(
  `bench${SMOKE ? ' (smoke)' : ''}: ${ROUNDS} rounds of ${SMOKE ? `${SMOKE_REQUESTS} requests` : `${SECONDS} s`} per target, ${CONNECTIONS} connections; starting the backend (store, demo data, subgraphs)...`,
);
const backend = await start('./backend.ts', []);
const { urls, owners } = backend.ready as { urls: Record<string, string>; owners: string[] };
const backendPid = backend.child.pid!;
const { publicKey, privateKey } = await generateKeyPair('EdDSA');
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA' }] };
const env = { BENCH_URLS: JSON.stringify(urls), BENCH_JWKS: JSON.stringify(jwks) };
const gateways: Record<string, { url: string; pid: number }> = {};
for (const kind of ['ours', 'ours-cache', 'stock', 'hive']) {
  const { child, ready } = await start('./serve.ts', [kind], env);
  gateways[kind] = { url: `http://127.0.0.1:${ready.port}${ready.path}`, pid: child.pid! };
}
const tokens = new Map<string, string>();
const tokenOf = async (caller: Call['caller']) => {
  const key = `${caller.role}|${caller.org ?? ''}`;
  if (!tokens.has(key)) {
    tokens.set(
      key,
      await new SignJWT({ ...caller })
        .setProtectedHeader({ alg: 'EdDSA', kid: 'bench' })
        .setIssuer('bench')
        .setAudience('bench')
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(privateKey),
    );
  }
  return tokens.get(key)!;
};
const floorSigner = createCredentialSigner('catalogue', BENCH_SECRETS.catalogue);
/** Every gateway gets the same rotating callers' tokens (the public none); each verifies them as it is deployed (serve.ts). */
const bearer: Target['headers'] = async (c) => (c.caller.role === 'public' ? {} : { authorization: `Bearer ${await tokenOf(c.caller)}` });
const targets: Record<string, Target> = {
  ours: { name: 'ours', ...gateways.ours!, headers: bearer },
  'ours-cache': { name: 'ours, response cache on', ...gateways['ours-cache']!, headers: bearer },
  stock: { name: 'stock Apollo', ...gateways.stock!, headers: bearer },
  hive: { name: 'Hive Gateway', ...gateways.hive!, headers: bearer },
  floor: {
    name: 'subgraph alone',
    url: urls.catalogue!,
    pid: backendPid,
    headers: async () => ({ [CREDENTIAL_HEADER]: await floorSigner({ role: 'directorate' }) }),
  },
};

// ---- run
type Row = { workload: string; target: string; mode: string; m: Measure };
const rows: Row[] = [];
for (const workload of workloads(owners).filter((w) => !values.only || w.name === values.only)) {
  console.log(`\n${workload.name}: ${workload.description} (${workload.calls.length} variable sets)`);
  const names = ['ours', 'stock', 'hive', ...(workload.floor ? ['floor'] : [])].filter((n) => !values.targets || values.targets.split(',').includes(n));
  const per: Record<string, Measure[]> = {};
  // Warm every gateway the same way before measuring: the plan and document caches, the
  // connections, and (ours) each caller's verified token and credentials, as in steady state.
  const seen = new Set<string>();
  const warm = workload.calls.filter((c) => {
    const k = `${c.caller.role}|${c.caller.org ?? ''}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  // A smoke run measures nothing worth warming for.
  for (const name of SMOKE ? [] : names) {
    await warmUp(targets[name]!, workload, [...warm, ...workload.calls.slice(0, 50)]);
    // and a short unmeasured burst under the same load, so the JIT has settled before round 1
    await load(targets[name]!, workload, workload.calls, 2);
  }
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const m = await load(targets[name]!, workload, workload.calls);
      (per[name] ??= []).push(m);
      console.log(
        `  round ${r + 1} ${targets[name]!.name.padEnd(16)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${String(m.p50).padStart(4)} ms  p99 ${String(m.p99).padStart(4)} ms  ${m.cpuPerReq.toFixed(3)} CPU ms/req  ${m.bad ? `${m.bad} BAD: ${m.firstBad}` : 'all bodies ok'}`,
      );
    }
  }
  for (const name of names) {
    const ms = per[name]!;
    rows.push({
      workload: workload.name,
      target: name,
      mode: 'rotating',
      m: {
        rps: median(ms.map((x) => x.rps)),
        p50: median(ms.map((x) => x.p50)),
        p99: median(ms.map((x) => x.p99)),
        cpuPerReq: median(ms.map((x) => x.cpuPerReq)),
        backendCpuPerReq: median(ms.map((x) => x.backendCpuPerReq)),
        loadCpuPerReq: median(ms.map((x) => x.loadCpuPerReq)),
        rss: Math.max(...ms.map((x) => x.rss)),
        requests: ms.reduce((a, x) => a + x.requests, 0),
        bad: ms.reduce((a, x) => a + x.bad, 0),
      },
    });
  }
  // Reported, not counted: our response cache on (public answers cached 10 s), and one identical request over and over.
  const hitsBefore = await metric(gateways['ours-cache']!.url, 'partnerskap_response_cache_hits_total');
  const missesBefore = await metric(gateways['ours-cache']!.url, 'partnerskap_response_cache_misses_total');
  const cached = await load(targets['ours-cache']!, workload, workload.calls);
  const hits = (await metric(gateways['ours-cache']!.url, 'partnerskap_response_cache_hits_total')) - hitsBefore;
  const misses = (await metric(gateways['ours-cache']!.url, 'partnerskap_response_cache_misses_total')) - missesBefore;
  rows.push({ workload: workload.name, target: 'ours-cache', mode: `cache on (${((100 * hits) / Math.max(1, hits + misses)).toFixed(0)} % hits)`, m: cached });
  for (const name of ['ours', 'stock', 'hive']) {
    const dedupBefore = name === 'ours' ? await metric(gateways.ours!.url, 'partnerskap_subgraph_deduplicated_total') : 0;
    const m = await load(targets[name]!, workload, workload.calls.slice(0, 1));
    const dedup = name === 'ours' ? (await metric(gateways.ours!.url, 'partnerskap_subgraph_deduplicated_total')) - dedupBefore : 0;
    rows.push({ workload: workload.name, target: name, mode: name === 'ours' ? `identical (${dedup} merged)` : 'identical', m });
  }
}

// ---- report
console.log('\nworkload          target            mode                   req/s   p50   p99  CPU ms/req  backend ms/req  load ms/req  peak RSS MB  bad');
for (const { workload, target, mode, m } of rows) {
  console.log(
    `${workload.padEnd(17)} ${targets[target]!.name.padEnd(17)} ${mode.padEnd(21)} ${m.rps.toFixed(0).padStart(6)} ${String(m.p50).padStart(5)} ${String(m.p99).padStart(5)} ${m.cpuPerReq.toFixed(3).padStart(10)} ${(m.backendCpuPerReq || Number.NaN).toFixed(2).padStart(15)} ${m.loadCpuPerReq.toFixed(2).padStart(12)} ${m.rss.toFixed(0).padStart(12)} ${String(m.bad).padStart(4)}`,
  );
}
const get = (w: string, t: string) =>
  rows.find((r) => r.workload === w && r.target === t && r.mode === 'rotating')?.m ?? {
    rps: Number.NaN,
    p50: Number.NaN,
    p99: Number.NaN,
    cpuPerReq: Number.NaN,
    backendCpuPerReq: Number.NaN,
    loadCpuPerReq: Number.NaN,
    rss: Number.NaN,
    requests: 0,
    bad: 0,
  };
/** Issue 19's targets, each printed with PASS or FAIL in the last lines. */
const checks: [string, number, string, number][] = [];
for (const w of ['single-subgraph', 'cross-partner', 'entity-heavy'].filter((w) => !values.only || w === values.only)) {
  const ours = get(w, 'ours');
  const stock = get(w, 'stock');
  const hive = get(w, 'hive');
  if (w === 'single-subgraph') {
    checks.push([`${w}: req/s ours ÷ subgraph alone`, ours.rps / get(w, 'floor').rps, '>=', 0.9]);
    checks.push([`${w}: gateway CPU/req ours ÷ stock`, ours.cpuPerReq / stock.cpuPerReq, '<=', 0.5]);
  } else {
    checks.push([`${w}: req/s ours ÷ Hive`, ours.rps / hive.rps, '>=', 1.5]);
    checks.push([`${w}: req/s ours ÷ stock`, ours.rps / stock.rps, '>=', 2]);
    checks.push([`${w}: p99 ours ÷ the better peer's`, ours.p99 / Math.min(stock.p99, hive.p99), '<=', 1]);
  }
  if (w === 'cross-partner') checks.push([`${w}: backend CPU ms/req (ours)`, ours.backendCpuPerReq, '<=', 3]);
}
/**
 * What throughput ratios this machine allows at all: the gateways, the backend and the load
 * generator share its two cores, so a request costs gateway + backend + load generator CPU, and
 * the backend and load generator's part is the same whoever is in front. Even a gateway that cost
 * nothing would reach at most (peer's gateway + backend + load) ÷ (backend + load) of a peer's req/s.
 */
const ceilings: string[] = [];
for (const w of ['cross-partner', 'entity-heavy'].filter((w) => !values.only || w === values.only)) {
  const ours = get(w, 'ours');
  const shared = ours.backendCpuPerReq + ours.loadCpuPerReq;
  const ceiling = (peer: Measure) => (peer.cpuPerReq + shared) / shared;
  const expected = (peer: Measure) => (peer.cpuPerReq + shared) / (ours.cpuPerReq + shared);
  ceilings.push(
    `${w}: per request, gateway ${ours.cpuPerReq.toFixed(2)} (stock ${get(w, 'stock').cpuPerReq.toFixed(2)}, Hive ${get(w, 'hive').cpuPerReq.toFixed(2)}) + backend ${ours.backendCpuPerReq.toFixed(2)} + load generator ${ours.loadCpuPerReq.toFixed(2)} CPU ms: ` +
      `req/s ours ÷ stock at most ${ceiling(get(w, 'stock')).toFixed(2)} with a gateway that cost nothing (${expected(get(w, 'stock')).toFixed(2)} with ours), ÷ Hive at most ${ceiling(get(w, 'hive')).toFixed(2)} (${expected(get(w, 'hive')).toFixed(2)})`,
  );
}
// ---- compression: ours, the README's query (or the one workload chosen), the same calls without
// Accept-Encoding, with gzip and with br, in alternating rounds; bytes as sent, CPU of the gateway.
const squeezed = workloads(owners).find((w) => w.name === (values.only ?? 'cross-partner'));
let compressionBad = 0;
if (squeezed && (!values.targets || values.targets.split(',').includes('ours'))) {
  const codings: Encoding[] = [undefined, 'gzip', 'br'];
  const label = (e: Encoding) => e ?? 'none';
  console.log(`\ncompression: ${squeezed.name} on ours, Accept-Encoding none, gzip, br`);
  const bytes = new Map<Encoding, number>();
  for (const e of codings) bytes.set(e, await bodyBytes(targets.ours!, squeezed, squeezed.calls.slice(0, SMOKE ? 3 : 50), e));
  const perCoding = new Map<Encoding, Measure[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const e of r % 2 === 0 ? codings : [...codings].reverse()) {
      const m = await load(targets.ours!, squeezed, squeezed.calls, SECONDS, e);
      compressionBad += m.bad;
      perCoding.set(e, [...(perCoding.get(e) ?? []), m]);
      console.log(
        `  round ${r + 1} ${label(e).padEnd(5)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${String(m.p50).padStart(4)} ms  p99 ${String(m.p99).padStart(4)} ms  ${m.cpuPerReq.toFixed(3)} CPU ms/req  ${m.bad ? `${m.bad} BAD: ${m.firstBad}` : 'all ok'}`,
      );
    }
  }
  const cpu = (e: Encoding) => median(perCoding.get(e)!.map((m) => m.cpuPerReq));
  console.log('\nAccept-Encoding  bytes/response  of none   req/s   p50   p99  CPU ms/req  CPU vs none');
  for (const e of codings) {
    const ms = perCoding.get(e)!;
    console.log(
      `${label(e).padEnd(16)} ${bytes.get(e)!.toFixed(0).padStart(14)} ${((100 * bytes.get(e)!) / bytes.get(undefined)!).toFixed(1).padStart(7)} % ${median(
        ms.map((m) => m.rps),
      )
        .toFixed(0)
        .padStart(
          6,
        )} ${String(median(ms.map((m) => m.p50))).padStart(5)} ${String(median(ms.map((m) => m.p99))).padStart(5)} ${cpu(e).toFixed(3).padStart(11)} ${`${cpu(e) - cpu(undefined) >= 0 ? '+' : ''}${(cpu(e) - cpu(undefined)).toFixed(3)}`.padStart(12)}`,
    );
  }
}

// ---- the insights' report queries (`npm run bench:insights`, through npm as a user runs it): their
// medians at ten times the demo volume are targets too (a smoke run: twice the volume, one round).
if (!values.only && !values.targets) {
  const scale = SMOKE ? 2 : 10;
  console.log(`\ninsights: npm run bench:insights -- --scale ${scale}${SMOKE ? ' --rounds 1' : ''}`);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'bench:insights', '--', '--scale', String(scale), ...(SMOKE ? ['--rounds', '1'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk.toString().replace(/^(?=.)/gm, '  '));
    });
    // Its own exit code is its verdict (1 when a report misses): the figures are read from its table.
    child.once('exit', (code) => (code === 0 || code === 1 ? resolve(out) : reject(new Error(`npm run bench:insights exited with ${code}`))));
  });
  const reports = [...output.matchAll(/^(.+?) +(\d+) ms +(\d+) ms +(\d+) +(\d+) ms +(\d+) ms +(\d+) {2}(?:PASS|FAIL)/gm)];
  if (reports.length === 0) throw new Error(`bench:insights printed no report lines:\n${output}`);
  for (const [, name, , , cmds1, median, , cmdsN] of reports) {
    checks.push([`insights at ${scale}x: ${name!.trim()}, median ms`, Number(median), '<=', 200]);
    checks.push([`insights at ${scale}x: ${name!.trim()}, commands ÷ at 1x`, Number(cmdsN) / Number(cmds1), '<=', 1]);
  }
}

if (ceilings.length > 0) console.log(`\nwhat two shared cores allow (CPU per request, medians of the rotating rounds):\n${ceilings.join('\n')}`);

// Each of our gateway processes, over the whole run (the response-cache one included).
for (const name of ['ours', 'ours-cache']) checks.push([`peak RSS of ${targets[name]!.name} (MB)`, peakRssMb(gateways[name]!.pid), '<', 250]);
console.log('\ntarget (rotating variables, production features on, response cache off)   value   goal   ');
let failed = 0;
for (const [name, value, op, goal] of checks) {
  const ok = op === '<=' ? value <= goal : op === '<' ? value < goal : value >= goal;
  if (!ok) failed++;
  console.log(`${name.padEnd(62)} ${value.toFixed(2).padStart(8)}  ${op} ${String(goal).padEnd(5)} ${ok ? 'PASS' : 'FAIL'}`);
}
const bad = rows.reduce((a, r) => a + r.m.bad, 0) + compressionBad;
console.log(`\n${checks.length - failed} of ${checks.length} targets met; ${bad} bad responses; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
// Stop the children gently (SIGTERM lets a profiled gateway write its profile) before leaving.
await Promise.all(
  children
    .filter((c) => c.exitCode === null && c.signalCode === null)
    .map(
      (c) =>
        new Promise((resolve) => {
          c.once('exit', resolve);
          c.kill('SIGTERM');
        }),
    ),
);
process.exit(bad > 0 ? 1 : 0);
