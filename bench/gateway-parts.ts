/**
 * `npm run bench:parts`: two of the gateway's parts timed side by side with what they replaced
 * (bench/gateway-parts-before.ts, the code before issue 20), in one process, in alternating rounds:
 *
 * - the rate limiter: rate-limiter-flexible's memory store (`createRateLimiter`) against the
 *   hand-written token bucket, per request: a partner's request, and a public request with its
 *   cost charged;
 * - the checks before planning of the bench's cross-partner operation (bench/workload.ts): the
 *   plugins useResolvedOperation, useLimits (with the cost estimate) and useGuards reading one
 *   analysis (analysis.ts), against the same three plugins before, each with its own walk; both
 *   run as Apollo runs them (requestDidStart, then didResolveOperation, a new context each
 *   request); warm (the same parsed document each request, as Apollo's document cache hands it,
 *   with the workload's variables) and cold (a document never seen: a fresh parse each request,
 *   parsing not timed).
 *
 * It prints µs per request for each (the median of the rounds) and checks first that old and new
 * give the same figures (limits, guarded fields, cost) on the registered operations and the bench's
 * three; it exits 1 if they differ. `--smoke`: one short round (the test that keeps it working).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Supergraph } from '@apollo/federation-internals';
import { type Identity } from '@partnerskap/common';
import {
  DEFAULT_LIMITS,
  createAnalyser,
  createCostEstimator,
  createRateLimiter,
  loadableSupergraph,
  measure,
  readSupergraph,
  typesOfSchema,
  useGuards,
  useLimits,
  useResolvedOperation,
} from '@partnerskap/gateway';
import { type DocumentNode, GraphQLError, parse } from 'graphql';
import { createCostEstimatorBefore, createRateLimiterBefore, measureBefore, pluginsBefore, selectedFieldsBefore } from './gateway-parts-before.js';
import { workloads } from './workload.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, smoke: { type: 'boolean', default: false } } });
const SMOKE = values.smoke;
const ROUNDS = SMOKE ? 1 : Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds must be a whole number from 1');
/** Requests per round and part. */
const N = SMOKE ? 2_000 : 100_000;
/** Fresh documents per round for the cold path (each parsed ahead, used once). */
const COLD = SMOKE ? 200 : 2_000;

const sdl = readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8');
const supergraph = readSupergraph(sdl);
// The API schema as Apollo hands it to a plugin.
const schema = Supergraph.build(loadableSupergraph(sdl)).apiSchema().toGraphQLJSSchema();
const owners = Array.from({ length: 40 }, (_, i) => String(3000 + i));
const cross = workloads(owners).find((w) => w.name === 'cross-partner')!;

// --- the same figures, old and new

const operationsDir = new URL('../operations/', import.meta.url);
const samples = JSON.parse(readFileSync(new URL('variables.json', operationsDir), 'utf8')) as Record<string, { variables?: Record<string, unknown> }>;
const documents = [
  ...readdirSync(operationsDir)
    .filter((f) => f.endsWith('.graphql'))
    .map((f) => ({ name: f, text: readFileSync(new URL(f, operationsDir), 'utf8'), variables: samples[f]?.variables ?? {} })),
  ...workloads(owners).map((w) => ({ name: `bench ${w.name}`, text: w.query, variables: w.calls[0]!.variables })),
];
const analyse = createAnalyser(typesOfSchema(schema));
const costNew = createCostEstimator(sdl);
const costOld = createCostEstimatorBefore(sdl);
const differences: string[] = [];
for (const { name, text, variables } of documents) {
  const document = parse(text);
  const analysis = analyse(document, undefined);
  if (analysis instanceof GraphQLError) throw analysis;
  const same = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`${name}: ${what} ${JSON.stringify(a)} (new) vs ${JSON.stringify(b)} (before)`);
  };
  same('limits', measure(document, variables), measureBefore(document, variables));
  same('guarded fields', [...analysis.selected], selectedFieldsBefore(document, undefined, schema));
  same(
    'cost',
    [costNew(document, variables, undefined, analysis), costNew(parse(text), variables)],
    [costOld(document, variables), costOld(document, variables)],
  );
}
console.log(`bench:parts${SMOKE ? ' (smoke)' : ''}: ${documents.length} documents, the same figures old and new: ${differences.length === 0 ? 'yes' : 'NO'}`);
if (differences.length > 0) {
  console.error(differences.join('\n'));
  process.exit(1);
}

// --- the parts, timed

/** A part timed: `prepare` runs before the clock starts (the cold path's parsing). */
type Part = { name: string; prepare?: () => void; run: () => Promise<void> | void };

const partnerOf = (i: number): Identity => ({ role: 'school-owner', org: owners[i % owners.length]! });
const addressOf = (i: number) => `10.0.${(i >> 8) & 255}.${i & 255}`;
const high = { partnerPerMinute: 1e9, publicPerMinute: 1e9, publicCostPerMinute: 1e12 };

const limiterParts = (): Part[] => {
  const before = createRateLimiterBefore(high);
  const after = createRateLimiter({ limits: high });
  return [
    {
      name: 'rate limit, a partner request: token bucket (before)',
      run: () => {
        for (let i = 0; i < N; i++) {
          const { key, perMinute } = before.keyOf(partnerOf(i), addressOf(i));
          if (!before.take(key, perMinute).allowed) throw new Error('refused');
        }
      },
    },
    {
      name: 'rate limit, a partner request: rate-limiter-flexible, memory',
      run: async () => {
        for (let i = 0; i < N; i++) if (!(await after.request(partnerOf(i), addressOf(i))).allowed) throw new Error('refused');
      },
    },
    {
      name: 'rate limit, a public request and its cost: token bucket (before)',
      run: () => {
        for (let i = 0; i < N; i++) {
          const { key, perMinute } = before.keyOf({ role: 'public' }, addressOf(i % 1000));
          if (!before.take(key, perMinute).allowed || !before.take(`cost:${key}`, high.publicCostPerMinute, 93).allowed) throw new Error('refused');
        }
      },
    },
    {
      name: 'rate limit, a public request and its cost: rate-limiter-flexible, memory',
      run: async () => {
        for (let i = 0; i < N; i++) {
          const address = addressOf(i % 1000);
          if (!(await after.request({ role: 'public' }, address)).allowed || !(await after.cost(address, 93)).allowed) throw new Error('refused');
        }
      },
    },
  ];
};

const checkParts = (): Part[] => {
  const limits = { ...DEFAULT_LIMITS };
  const estimate = createCostEstimator(sdl);
  type Hooks = { didResolveOperation(context: never): Promise<void> };
  type Plugins = { requestDidStart?(context: never): Promise<unknown> }[];
  const before = pluginsBefore({ supergraphSdl: sdl, guards: supergraph.guards, limits }) as Plugins;
  const after = [
    useResolvedOperation(),
    useLimits({ limits, estimateCost: (document, variables, operationName, _schema, analysis) => estimate(document, variables, operationName, analysis) }),
    useGuards({ guardsOf: () => supergraph.guards }),
  ] as Plugins;
  // The plugins as Apollo runs them for a request, with a new context each: requestDidStart, then didResolveOperation.
  const check = async (plugins: Plugins, document: DocumentNode, variables: Record<string, unknown>, identity: unknown) => {
    const operation = document.definitions[0];
    const requestContext = {
      document,
      request: { variables, operationName: 'Cross' },
      operationName: 'Cross',
      operation,
      schema,
      contextValue: { identity },
    } as never;
    for (const plugin of plugins) await ((await plugin.requestDidStart!(requestContext)) as Hooks).didResolveOperation(requestContext);
  };
  const warm = parse(cross.query);
  const calls = cross.calls;
  const warmRun = (plugins: Plugins) => async () => {
    for (let i = 0; i < N; i++) await check(plugins, warm, calls[i % calls.length]!.variables, calls[i % calls.length]!.caller);
  };
  // Cold: batches of fresh documents, parsed before the clock starts, let go after (as Apollo's document cache lets old ones go).
  let cold: DocumentNode[] = [];
  const prepare = () => void (cold = Array.from({ length: COLD }, () => parse(cross.query)));
  const coldRun = (plugins: Plugins) => async () => {
    for (let i = 0; i < COLD; i++) await check(plugins, cold[i]!, calls[i % calls.length]!.variables, calls[i % calls.length]!.caller);
    cold = [];
  };
  return [
    { name: 'checks, warm (the same document): three walks (before)', run: warmRun(before) },
    { name: 'checks, warm (the same document): one analysis', run: warmRun(after) },
    { name: 'checks, cold (a new document each): three walks (before)', prepare, run: coldRun(before) },
    { name: 'checks, cold (a new document each): one analysis', prepare, run: coldRun(after) },
  ];
};

const parts = [...limiterParts(), ...checkParts()];
const timings = new Map<string, number[]>(parts.map((p) => [p.name, []]));
const perRequest = (name: string) => (name.includes('cold') ? COLD : N);
// A warm-up round (the JIT), then the measured ones; each round runs every part, in turn.
for (let round = -1; round < ROUNDS; round++) {
  for (const part of parts) {
    part.prepare?.();
    const started = process.hrtime.bigint();
    await part.run();
    const us = Number(process.hrtime.bigint() - started) / 1000 / perRequest(part.name);
    if (round >= 0) timings.get(part.name)!.push(us);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const width = Math.max(...parts.map((p) => p.name.length));
console.log(`${ROUNDS} round${ROUNDS > 1 ? 's' : ''} of ${N} requests (cold: ${COLD}) per part, median µs per request:`);
for (const part of parts) console.log(`  ${part.name.padEnd(width)}  ${median(timings.get(part.name)!).toFixed(2).padStart(8)} µs`);
