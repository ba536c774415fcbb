/**
 * `npm run bench:http [-- --seconds S --rounds R --connections C --variants a,b --workloads a,b --against <git rev>]`:
 * the HTTP layer alone. The same Apollo Server (a trivial schema) behind each variant, each in a
 * process of its own; the load comes from this one (autocannon, loopback, keep-alive, fixed
 * connections and duration), in short rounds that rotate the variants' order (a shared machine's
 * load drifts: short alternating rounds and medians compare the variants under the same drift).
 * Four workloads: a small answer (`{ hello }`, not compressed) to a browser (an allowed Origin, so
 * CORS) and to a server (no Origin: the gateway calling a subgraph), a 5 kB answer to a browser
 * (a page of studies, compressed with br as browsers accept it) and a 50 kB script served as a
 * static file (br). Prints, per workload and variant, the medians of the rounds: req/s, p99, the
 * server process's CPU µs per request (`process.cpuUsage`, its libuv threads' compression included)
 * and bytes per answer (headers included).
 * The variants:
 * - `serveGraphQL`: ours, as the gateway and every subgraph run it (`common/src/http.ts`);
 * - `fastify`: Fastify 5 with `@as-integrations/fastify`, `@fastify/cors`, `@fastify/compress`
 *   (br at the same quality) and `@fastify/static`, its `bodyLimit` and `genReqId`;
 * - `middleware`: node:http with the Express ecosystem's middleware (`cors`, `raw-body`,
 *   `compression`, `send`): what serveGraphQL would be with every piece off the shelf;
 * - `bare`: the floor, node:http with only the glue to Apollo and the same compression as ours
 *   (no CORS, limit, request id, admission or static files);
 * - with `--against <rev>`, `serveGraphQL@<rev>`: http.ts as it was at that git revision, side by
 *   side with today's (the figures in docs/performance.md compare against the hand-written one).
 * Before the rounds, each variant's answers are checked (status, decoded body, CORS and request id
 * headers, 413 over the body limit); autocannon then counts anything but 2xx, which must be none.
 * `--smoke` checks every variant and sends a few requests per workload: for the test that keeps the
 * bench working (test/bench-http.e2e.test.ts); its figures mean nothing.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer, request } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brotliDecompressSync, constants, gunzipSync } from 'node:zlib';
import { ApolloServer, HeaderMap } from '@apollo/server';
import autocannon from 'autocannon';
import { chooseEncoding, compress, errorBody, originMatcher, serveGraphQL as todays } from '@partnerskap/common';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    /** Only these variants, comma-separated (serveGraphQL, fastify, middleware, bare). */
    variants: { type: 'string' },
    /** Only these workloads, comma-separated (small, server small, 5 kB, static 50 kB). */
    workloads: { type: 'string' },
    /** Also http.ts as it was at this git revision (`serveGraphQL@<rev>`). */
    against: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    /** Internal: run one variant's server in this process (the bench forks itself). */
    serve: { type: 'string' },
    /** Internal: where `--against`'s common/src was written. */
    'against-dir': { type: 'string' },
  },
});

const BODY_LIMIT = 100_000;
const ORIGIN = 'https://app.example';
const CORS_ORIGINS = [ORIGIN, 'http://localhost:*'];
/** A real script of about 50 kB, served as a static file. */
const ASSET_FILE = createRequire(import.meta.url).resolve('graphql/language/parser.js');
const ASSET_TYPE = 'text/javascript; charset=utf-8';
/** Studies in the 5 kB answer. */
const STUDIES = 40;

const typeDefs = `
  type Query { hello: String!, studies(n: Int!): [Study!]! }
  type Study { id: ID!, name: String!, subject: String!, county: String!, places: Int!, credits: Float! }
`;
const resolvers = {
  Query: {
    hello: () => 'hei',
    studies: (_: unknown, { n }: { n: number }) =>
      Array.from({ length: n }, (_, i) => ({
        id: `study-${i}`,
        name: `Matematikk ${i} for 5.–7. trinn`,
        subject: 'MAT',
        county: i % 2 ? 'Vestland' : 'Oslo',
        places: 20 + (i % 15),
        credits: 15,
      })),
  },
};
const newApollo = () => new ApolloServer({ typeDefs, resolvers });
const CORS = {
  allowedHeaders: ['authorization', 'content-type', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-request-id'],
  methods: ['GET', 'POST', 'OPTIONS'],
  exposedHeaders: ['x-request-id'],
  maxAge: 600,
};
const BROTLI = { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } };

interface Workload {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  /** What the decoded answer must be. */
  expected: () => string;
  /** Variants that do not serve it (static files: `bare` serves none). */
  skip?: readonly string[];
  /** Sent from a browser on the allowed origin (default), or by a server (no Origin). */
  browser?: boolean;
}
const WORKLOADS: readonly Workload[] = [
  { name: 'small', method: 'POST', path: '/graphql', body: JSON.stringify({ query: '{ hello }' }), expected: () => JSON.stringify({ data: { hello: 'hei' } }) },
  // As the gateway calls a subgraph: no Origin, so no CORS.
  {
    name: 'server small',
    method: 'POST',
    path: '/graphql',
    body: JSON.stringify({ query: '{ hello }' }),
    expected: () => JSON.stringify({ data: { hello: 'hei' } }),
    browser: false,
  },
  {
    name: '5 kB',
    method: 'POST',
    path: '/graphql',
    body: JSON.stringify({ query: `{ studies(n: ${STUDIES}) { id name subject county places credits } }` }),
    expected: () => JSON.stringify({ data: { studies: resolvers.Query.studies(undefined, { n: STUDIES }) } }),
  },
  { name: 'static 50 kB', method: 'GET', path: '/app.js', expected: () => readFileSync(ASSET_FILE, 'utf8'), skip: ['bare'] },
];
/** What a browser on the allowed origin sends (Apollo Client 4's Accept). */
const HEADERS = {
  origin: ORIGIN,
  accept: 'application/graphql-response+json,application/json;q=0.9',
  'accept-encoding': 'gzip, deflate, br, zstd',
  'content-type': 'application/json',
};
/** What the gateway sends a subgraph (no Origin). */
const SERVER_HEADERS = { accept: 'application/json', 'content-type': 'application/json' };
const headersOf = (w: Workload) => (w.browser === false ? SERVER_HEADERS : HEADERS);

// ---------------------------------------------------------------------------------------------
// The servers (in a child process each)

/** Starts one variant; its port. */
async function serveVariant(variant: string): Promise<number> {
  if (variant === 'serveGraphQL' || variant.startsWith('serveGraphQL@')) {
    const serve: typeof todays =
      variant === 'serveGraphQL' ? todays : ((await import(join(values['against-dir']!, 'index.ts'))) as { serveGraphQL: typeof todays }).serveGraphQL;
    const listening = await serve({
      server: newApollo(),
      port: 0,
      path: '/graphql',
      bodyLimitBytes: BODY_LIMIT,
      corsOrigins: CORS_ORIGINS,
      admit: async () => ({ context: {} }),
      ready: async () => ({ server: true }),
      assets: { '/app.js': { file: ASSET_FILE, contentType: ASSET_TYPE } },
      log: (entry) => console.error(JSON.stringify(entry)),
    });
    return listening.port;
  }
  if (variant === 'fastify') return serveFastify();
  if (variant === 'middleware') return serveMiddleware();
  if (variant === 'bare') return serveBare();
  throw new Error(`No variant ${variant}`);
}

async function serveFastify(): Promise<number> {
  const { default: Fastify } = await import('fastify');
  const { default: fastifyApollo } = await import('@as-integrations/fastify');
  const { default: fastifyCors } = await import('@fastify/cors');
  const { default: fastifyCompress } = await import('@fastify/compress');
  const { default: fastifyStatic } = await import('@fastify/static');
  const allowed = originMatcher(CORS_ORIGINS);
  const apollo = newApollo();
  await apollo.start();
  const app = Fastify({ bodyLimit: BODY_LIMIT, genReqId: () => randomUUID(), keepAliveTimeout: 65_000, logger: false });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  // Our refusals' shape, not Fastify's own.
  app.setErrorHandler(async (err: { statusCode?: number; message: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    return reply
      .code(status)
      .send(errorBody(status === 413 ? 'LIMIT_EXCEEDED' : status < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR', err.message, { requestId: req.id }));
  });
  await app.register(fastifyCors, { origin: (origin, cb) => cb(null, origin !== undefined && allowed(origin)), ...CORS });
  await app.register(fastifyCompress, { threshold: 1024, encodings: ['br', 'gzip'], brotliOptions: BROTLI });
  await app.register(fastifyStatic, { root: dirname(ASSET_FILE), serve: false });
  app.get('/app.js', (_req, reply) =>
    reply.type(ASSET_TYPE).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').sendFile(basename(ASSET_FILE)),
  );
  app.get('/health', async () => ({ status: 'alive' }));
  await app.register(fastifyApollo(apollo), { path: '/graphql' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

async function serveMiddleware(): Promise<number> {
  const { default: cors } = await import('cors');
  const { default: compression } = await import('compression');
  const { default: send } = await import('send');
  const { default: getRawBody } = await import('raw-body');
  const allowed = originMatcher(CORS_ORIGINS);
  const apollo = newApollo();
  await apollo.start();
  type Next = (err?: unknown) => void;
  type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;
  const corsHandler = cors({ origin: (origin, cb) => cb(null, origin !== undefined && allowed(origin)), ...CORS }) as Middleware;
  const compressing = compression({ threshold: 1024, brotli: BROTLI }) as unknown as Middleware;
  const refuse = (res: ServerResponse, status: number, code: string, message: string) => {
    const body = JSON.stringify(errorBody(code, message, { requestId: res.getHeader('x-request-id') }));
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  };
  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/app.js') {
      res.setHeader('content-type', ASSET_TYPE);
      send(req, ASSET_FILE, { cacheControl: false })
        .on('headers', (r: ServerResponse) => r.setHeader('cache-control', 'no-cache'))
        .pipe(res);
      return;
    }
    if (url.pathname !== '/graphql') return refuse(res, 404, 'NOT_FOUND', 'Not found');
    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = JSON.parse((await getRawBody(req, { length: req.headers['content-length'] ?? null, limit: BODY_LIMIT })).toString('utf8'));
      } catch (err) {
        req.resume();
        return (err as { type?: string }).type === 'entity.too.large'
          ? refuse(res, 413, 'LIMIT_EXCEEDED', 'Too large')
          : refuse(res, 400, 'BAD_REQUEST', 'Not JSON');
      }
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    const answer = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: async () => ({}),
    });
    for (const [key, value] of answer.headers) res.setHeader(key, value);
    res.statusCode = answer.status ?? 200;
    if (answer.body.kind === 'complete') res.end(answer.body.string);
    else {
      for await (const chunk of answer.body.asyncIterator) res.write(chunk);
      res.end();
    }
  };
  const http = createServer((req, res) => {
    res.setHeader('x-request-id', randomUUID());
    corsHandler(req, res, () =>
      compressing(
        req,
        res,
        () =>
          void route(req, res).catch(
            (err: unknown) => (console.error(err), res.headersSent ? res.end() : refuse(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal')),
          ),
      ),
    );
  });
  return listen(http);
}

async function serveBare(): Promise<number> {
  const apollo = newApollo();
  await apollo.start();
  const http = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : undefined;
    const answer = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: async () => ({}),
    });
    const out: Record<string, string> = {};
    for (const [key, value] of answer.headers) out[key] = value;
    if (answer.body.kind !== 'complete') throw new Error('incremental delivery is not benched');
    let sent: Buffer = Buffer.from(answer.body.string);
    const encoding = sent.length >= 1024 ? chooseEncoding(req.headers['accept-encoding']) : undefined;
    if (encoding) sent = await compress(sent, encoding);
    res.writeHead(answer.status ?? 200, { ...out, ...(encoding ? { 'content-encoding': encoding } : {}), 'content-length': sent.length });
    res.end(sent);
  });
  return listen(http);
}

async function listen(http: ReturnType<typeof createServer>): Promise<number> {
  http.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return (http.address() as AddressInfo).port;
}

// ---------------------------------------------------------------------------------------------
// The load (in this process)

interface Started {
  variant: string;
  port: number;
  child: ChildProcess;
  /** The child's CPU so far (µs, user + system). */
  cpu(): Promise<number>;
}

function start(variant: string, againstDir?: string): Promise<Started> {
  const args = ['--serve', variant, ...(againstDir ? ['--against-dir', againstDir] : [])];
  const child = fork(fileURLToPath(import.meta.url), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let waiting: ((cpu: number) => void) | undefined;
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the ${variant} server exited (${code})`)));
    child.on('message', (message: { port?: number; cpu?: number }) => {
      if (message.cpu !== undefined) waiting?.(message.cpu);
      if (message.port !== undefined)
        resolve({
          variant,
          port: message.port,
          child,
          cpu: () => new Promise<number>((done) => ((waiting = done), child.send('cpu'))),
        });
    });
  });
}

/** One request as a client sends it, the body left as sent. */
function send1(
  port: number,
  w: Workload,
  headers: Record<string, string> = headersOf(w),
  body = w.body,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: w.path, method: w.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end(body);
  });
}

const decode = (res: { headers: Record<string, unknown>; body: Buffer }) =>
  res.headers['content-encoding'] === 'br' ? brotliDecompressSync(res.body) : res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.body) : res.body;

/** Checks a variant's answers to each workload, and its 413; throws on the first wrong one. */
async function check(s: Started, workloads: readonly Workload[]): Promise<void> {
  const wrong = (what: string) => new Error(`${s.variant}: ${what}`);
  for (const w of workloads) {
    const res = await send1(s.port, w);
    if (res.status !== 200) throw wrong(`${w.name} answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
    const text = decode(res).toString('utf8');
    const same = w.method === 'GET' ? text === w.expected() : JSON.stringify(JSON.parse(text)) === w.expected();
    if (!same) throw wrong(`${w.name} answered another body`);
    if (text.length >= 1024 && w.browser !== false && res.headers['content-encoding'] !== 'br') throw wrong(`${w.name} was not compressed with br`);
    if (s.variant === 'bare') continue;
    if (!/^[\da-f-]{36}$/.test(String(res.headers['x-request-id']))) throw wrong(`${w.name} had no request id`);
    if (w.browser === false) {
      if (res.headers['access-control-allow-origin'] !== undefined) throw wrong(`${w.name} had a CORS header without an Origin`);
      continue;
    }
    if (res.headers['access-control-allow-origin'] !== ORIGIN) throw wrong(`${w.name} had no CORS header for ${ORIGIN}`);
  }
  if (s.variant === 'bare') return;
  const graphql = workloads.find((w) => w.path === '/graphql')!;
  const tooLarge = await send1(s.port, graphql, HEADERS, JSON.stringify({ query: `{ hello } #${'x'.repeat(BODY_LIMIT)}` }));
  if (tooLarge.status !== 413) throw wrong(`a body over the limit answered ${tooLarge.status}`);
}

interface Figures {
  rps: number;
  p99: number;
  cpuUs: number;
  bytes: number;
}

async function load(s: Started, w: Workload, options: { seconds?: number; amount?: number; connections: number }): Promise<Figures> {
  const cpu0 = await s.cpu();
  const result = (await autocannon({
    url: `http://127.0.0.1:${s.port}`,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.seconds }),
    requests: [{ method: w.method, path: w.path, headers: headersOf(w), ...(w.body ? { body: w.body } : {}) }],
  })) as { duration: number; '2xx': number; non2xx: number; errors: number; timeouts: number; latency: { p99: number }; throughput: { total: number } };
  const cpu = (await s.cpu()) - cpu0;
  if (result.non2xx || result.errors || result.timeouts)
    throw new Error(`${s.variant}, ${w.name}: ${result.non2xx} answers other than 2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  const n = result['2xx'];
  return { rps: n / result.duration, p99: result.latency.p99, cpuUs: cpu / n, bytes: result.throughput.total / n };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** http.ts and its neighbours as they were at `rev`, written where this checkout's node_modules resolve them. */
function checkoutAgainst(rev: string): string {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const dir = join(root, 'bench', '.http-against', rev.replace(/[^\w.-]/g, '_'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync('git', ['archive', rev, 'common/src'], { cwd: root, maxBuffer: 1 << 26 });
  execFileSync('tar', ['-x', '-C', dir, '--strip-components=2'], { input: tar });
  process.once('exit', () => rmSync(join(root, 'bench', '.http-against'), { recursive: true, force: true }));
  return dir;
}

async function main(): Promise<void> {
  const SMOKE = values.smoke;
  const SECONDS = Number(values.seconds);
  const ROUNDS = SMOKE ? 1 : Number(values.rounds);
  const CONNECTIONS = SMOKE ? 2 : Number(values.connections);
  if (!(SECONDS > 0) || !Number.isInteger(ROUNDS) || ROUNDS < 1 || !Number.isInteger(CONNECTIONS) || CONNECTIONS < 1)
    throw new Error('--seconds, --rounds and --connections must be positive numbers');
  const variants = values.variants?.split(',').map((v) => v.trim()) ?? ['serveGraphQL', 'fastify', 'middleware', 'bare'];
  const againstDir = values.against ? checkoutAgainst(values.against) : undefined;
  if (values.against) variants.splice(1, 0, `serveGraphQL@${values.against}`);

  const servers: Started[] = [];
  process.once('exit', () => servers.forEach((s) => s.child.kill('SIGTERM')));
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  // Started side by side (each is a process of its own): the smoke run's time is mostly their start.
  servers.push(...(await Promise.all(variants.map((variant) => start(variant, variant.startsWith('serveGraphQL@') ? againstDir : undefined)))));
  for (const s of servers)
    await check(
      s,
      WORKLOADS.filter((w) => !w.skip?.includes(s.variant)),
    );
  console.log(`bench:http: every variant's answers checked (bodies, br, CORS, request id, 413): ${variants.join(', ')}`);

  const chosen = values.workloads
    ? WORKLOADS.filter((w) =>
        values
          .workloads!.split(',')
          .map((n) => n.trim())
          .includes(w.name),
      )
    : WORKLOADS;
  const pairs = chosen.flatMap((w) => servers.filter((s) => !w.skip?.includes(s.variant)).map((s) => ({ w, s })));
  if (!SMOKE) for (const { w, s } of pairs) await load(s, w, { seconds: 1, connections: CONNECTIONS }); // warm-up
  const figures = new Map<string, Figures[]>();
  if (SMOKE) {
    // The servers side by side, each its workloads one after another (a server answers one CPU reading
    // at a time): a smoke run's figures mean nothing, and autocannon reports no sooner than its
    // one-second sampling tick, so one pair after another would cost a second each.
    await Promise.all(
      servers.map(async (s) => {
        for (const { w } of pairs.filter((p) => p.s === s)) figures.set(`${w.name}\t${s.variant}`, [await load(s, w, { amount: 8, connections: CONNECTIONS })]);
      }),
    );
  }
  for (let round = 0; round < (SMOKE ? 0 : ROUNDS); round++) {
    for (const w of chosen) {
      const here = pairs.filter((p) => p.w === w);
      // Alternate the order: a round's variants are rotated by one from the last.
      const order = here.map((_, i) => here[(i + round) % here.length]!);
      for (const { s } of order) {
        const f = await load(s, w, SMOKE ? { amount: 8, connections: CONNECTIONS } : { seconds: SECONDS, connections: CONNECTIONS });
        const key = `${w.name}\t${s.variant}`;
        figures.set(key, [...(figures.get(key) ?? []), f]);
      }
    }
    if (!SMOKE) console.log(`round ${round + 1} of ${ROUNDS} done`);
  }

  console.log(
    `\nbench:http: medians of ${ROUNDS} round(s)${SMOKE ? ' (smoke: a few requests each, the figures mean nothing)' : ` of ${SECONDS} s`}, ${CONNECTIONS} connections;`,
  );
  console.log('the machine may be shared and noisy: compare the variants of one run, not runs with each other\n');
  console.log(
    `${'workload'.padEnd(14)}${'variant'.padEnd(26)}${'req/s'.padStart(8)}${'p99 ms'.padStart(8)}${'CPU µs/req'.padStart(12)}${'bytes/answer'.padStart(14)}${'vs serveGraphQL (req/s, CPU)'.padStart(30)}`,
  );
  for (const w of chosen) {
    const base = figures.get(`${w.name}\tserveGraphQL`);
    for (const s of servers) {
      const runs = figures.get(`${w.name}\t${s.variant}`);
      if (!runs) continue;
      const m: Figures = {
        rps: median(runs.map((r) => r.rps)),
        p99: median(runs.map((r) => r.p99)),
        cpuUs: median(runs.map((r) => r.cpuUs)),
        bytes: median(runs.map((r) => r.bytes)),
      };
      const vs =
        base && s.variant !== 'serveGraphQL'
          ? `${fmt(m.rps / median(base.map((r) => r.rps)), 2)}x, ${fmt(m.cpuUs / median(base.map((r) => r.cpuUs)), 2)}x`
          : '';
      console.log(
        `${w.name.padEnd(14)}${s.variant.padEnd(26)}${fmt(m.rps).padStart(8)}${fmt(m.p99).padStart(8)}${fmt(m.cpuUs).padStart(12)}${fmt(m.bytes).padStart(14)}${vs.padStart(30)}`,
      );
    }
  }
  process.exit(0);
}

// Last: every const above is initialised by now.
if (values.serve) {
  const port = await serveVariant(values.serve);
  process.on('message', (message) => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send!({ cpu: user + system });
    } else if (message === 'stop') process.exit(0);
  });
  // Its bench gone (killed, or a test's timeout), it goes too.
  process.once('disconnect', () => process.exit(0));
  process.send!({ port });
} else {
  await main();
}
