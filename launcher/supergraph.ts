/**
 * Starts every subgraph of the registry (the four partners and any `npm run new-subgraph` adds),
 * each loaded the same way from its `src/index.ts`, and the gateway over one MongoDB: what
 * `npm start`, `npm run year`, the benches and the end-to-end tests run.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Db, MongoClient } from 'mongodb';
import {
  type AuthOptions,
  type GatewayServerOptions,
  DEFAULT_SUPERGRAPH,
  DEV_AUDIENCE,
  DEV_ISSUER,
  type ListeningGateway,
  createAuthenticator,
  createGatewayServer,
  listenGateway,
  loadOrCreateDevKey,
} from '@partnerskap/gateway';
import { startGatewayTracing } from '@partnerskap/gateway';
import { type Identity } from '@partnerskap/common';
import { type Tracing, startTracing, tracingEnabled } from '@partnerskap/common';
import {
  type Clock,
  type ListeningSubgraph,
  MONGO_SELECTION_TIMEOUT_MS,
  type SubgraphModule,
  type SubgraphStore,
  clockFromEnv,
  insightsFromEnv,
  settleEvents,
  startSubgraph,
} from '@partnerskap/kit';
import { traceCommands } from '@partnerskap/kit';
import { readRegistry } from '../tools/schema/compose.js';
import { type PartnerDbs, isSeeded, partnerDbs, seedDemoData } from '../demo/seed.js';

/** What every subgraph's context holds: who asks. */
type SubgraphContext = { identity: Identity };

/** Options of {@link startSupergraph}. */
export interface SupergraphOptions {
  mongodbUri: string;
  /** Database name prefix: `partnerskap_` by default; tests use a fresh one each. */
  prefix?: string;
  /**
   * Ports: the gateway's and any subgraph's by name; 0 picks a free one. Given, a subgraph not
   * listed listens on its registered port (`schema/subgraphs.json`); left out, every one on a free port.
   */
  ports?: { gateway: number } & Partial<Record<string, number>>;
  /**
   * The repository whose `schema/subgraphs.json` names the other subgraphs, whose
   * `subgraphs/<name>/src/index.ts` they are started from and whose `schema/supergraph.graphql`
   * the gateway serves and watches (default this one; a test generates a subgraph into a copy).
   */
  root?: string;
  /** Seed the demo data when a partner's database is empty (default true). */
  seed?: boolean;
  /**
   * Build the partners' projections of each other's records with the seed (default true). A test
   * that only reads may leave them out (most of a seed's time); any write that crosses partners needs them.
   */
  seedProjections?: boolean;
  development?: boolean;
  /** The URL the gateway uses for a subgraph, given where it listens (tests put a recording proxy between). */
  subgraphUrl?: (name: string, url: string) => string;
  /** How the gateway verifies client tokens; default the development key in `.data/` (required with `development: false`). */
  auth?: AuthOptions;
  progress?: (line: string) => void;
  /** Hears the documents seeded so far of all there are (a progress bar), when the demo data is seeded. */
  seedProgress?: (done: number, of: number) => void;
  /** The one clock of the subgraphs' rules (default: PARTNERSKAP_NOW or the machine's). */
  clock?: Clock;
  /** More gateway options (limits, timeouts, rate limits, logger, CORS); tests tune them. */
  gateway?: Partial<Omit<GatewayServerOptions, 'supergraphSdl' | 'subgraphUrls' | 'authenticate' | 'secrets'>>;
  /** Hears every database command the subgraphs send (tests count them to prove batching). */
  onCommand?: (event: { commandName: string; databaseName: string; command: Record<string, unknown> }) => void;
  /**
   * The environment whose OpenTelemetry variables turn tracing on (docs/tracing.md; `npm start` passes its
   * own): each service then traces as its own `service.name`, as in production. Default none: off.
   */
  tracing?: Record<string, string | undefined>;
}

/** A subgraph of the registry beyond the four demo partners, as {@link startSupergraph} runs it. */
export interface OtherSubgraph {
  listening: ListeningSubgraph;
  /** Its database, `<prefix><name>`. */
  db: Db;
  /** The secret the gateway shares with it (fresh for every start). */
  secret: string;
}

/** The partners the demo data is seeded for. */
export type PartnerName = keyof PartnerDbs;

/** A running supergraph. */
export interface RunningSupergraph {
  gateway: ListeningGateway;
  /** Every registered subgraph, listening, by name (the four partners always). */
  subgraphs: Record<PartnerName, ListeningSubgraph> & Record<string, ListeningSubgraph>;
  dbs: PartnerDbs;
  /** The secrets the gateway shares with each subgraph (fresh for every start). */
  secrets: Record<PartnerName, string> & Record<string, string>;
  /** Stops one subgraph (a partner down), and starts it again on the same port. */
  stopSubgraph(name: string): Promise<void>;
  restartSubgraph(name: string): Promise<void>;
  /** The registry's subgraphs beyond the four (`npm run new-subgraph`), by name; none in this repository as committed. */
  others: Record<string, OtherSubgraph>;
  /** Waits until every partner's projections hold every event committed so far (between steps that cross partners). */
  settle(timeoutMs?: number): Promise<void>;
  /** Exports every service's ended spans now (with `tracing`; nothing without). */
  flushTraces(): Promise<void>;
  /** Stops the gateway, the subgraphs and the database client. */
  stop(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Whether a value is a subgraph module named `name` (what a subgraph's `index.ts` exports, as the template's does). */
function isModuleNamed(value: unknown, name: string): value is SubgraphModule<SubgraphStore, SubgraphContext> {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof SubgraphModule<SubgraphStore, SubgraphContext>, unknown>>;
  return candidate.name === name && typeof candidate.createStore === 'function' && typeof candidate.createServer === 'function';
}

/**
 * The subgraph module `subgraphs/<name>/src/index.ts` exports: every registered subgraph is loaded
 * this one way, from the given root or else this repository (a test's copy holds only what it adds).
 */
async function loadModule(root: string, name: string): Promise<SubgraphModule<SubgraphStore, SubgraphContext>> {
  const file = [root, REPO_ROOT].map((r) => join(r, 'subgraphs', name, 'src', 'index.ts')).find((f) => existsSync(f));
  if (!file) throw new Error(`schema/subgraphs.json registers ${name}, but ${join(root, 'subgraphs', name, 'src', 'index.ts')} does not exist`);
  const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const module = Object.values(exports).find((value) => isModuleNamed(value, name));
  if (!module || !isModuleNamed(module, name))
    throw new Error(`${file} exports no subgraph module named ${name} (a SubgraphModule, as the template's index.ts does)`);
  return module;
}

/** Seeds (when empty) and starts everything. */
export async function startSupergraph(options: SupergraphOptions): Promise<RunningSupergraph> {
  const progress = options.progress ?? (() => undefined);
  const development = options.development ?? true;
  const root = options.root ?? REPO_ROOT;
  const supergraphPath = options.root ? join(root, 'schema', 'supergraph.graphql') : DEFAULT_SUPERGRAPH;
  const registered = readRegistry(join(root, 'schema', 'subgraphs.json'));
  const modules = await Promise.all(registered.map(async (s) => ({ ...s, module: await loadModule(root, s.name) })));
  // Each service's tracing (off unless options.tracing asks), started before the servers and the store are made.
  const tracings = new Map<string, Tracing>();
  if (options.tracing) {
    for (const { name } of modules) tracings.set(name, await startTracing({ serviceName: name, env: options.tracing }));
    tracings.set('gateway', await startGatewayTracing(options.tracing));
  }
  const traced = tracingEnabled();
  const client = await MongoClient.connect(options.mongodbUri, {
    serverSelectionTimeoutMS: MONGO_SELECTION_TIMEOUT_MS,
    appName: 'partnerskap',
    monitorCommands: options.onCommand !== undefined || traced,
  });
  if (options.onCommand) client.on('commandStarted', options.onCommand);
  if (traced) traceCommands(client);
  const dbs = partnerDbs(client, options.prefix);
  if ((options.seed ?? true) && !(await isSeeded(dbs))) {
    progress('seeding the demo data (first start only)');
    const started = performance.now();
    const n = await seedDemoData(dbs, (line) => progress(`  ${line}`), options.seedProgress, { projections: options.seedProjections ?? true });
    progress(`seeded ${n.toLocaleString('en-US')} documents in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const isPartner = (name: string): name is PartnerName => Object.hasOwn(dbs, name);
  const dbOf = (name: string): Db => (isPartner(name) ? dbs[name] : client.db(`${options.prefix ?? 'partnerskap_'}${name}`));
  // One process runs everything here, so each run shares fresh random secrets with its subgraphs.
  const secrets = Object.fromEntries(registered.map((s) => [s.name, randomBytes(32).toString('base64url')])) as RunningSupergraph['secrets'];
  const clock = options.clock ?? clockFromEnv(process.env);
  const insights = insightsFromEnv(process.env);
  // Rules that ask another partner go through the gateway, which starts after its subgraphs.
  let gatewayUrl: string | undefined = undefined;
  // Given ports: the listed ones, and each other subgraph its registered port; none given: free ports for all.
  const portOf = (name: string, url: string): number => options.ports?.[name] ?? (options.ports ? Number(new URL(url).port) : 0);
  const byName = new Map(modules.map((m) => [m.name, m]));
  const start = (name: string, port: number): Promise<ListeningSubgraph> => {
    const entry = byName.get(name);
    if (!entry) throw new Error(`no registered subgraph is named ${name}`);
    const tracer = tracings.get(name)?.tracer;
    return startSubgraph(entry.module, {
      db: dbOf(name),
      port,
      development,
      gatewaySecret: secrets[name]!,
      clock,
      supergraphUrl: () => gatewayUrl,
      insights,
      ...(tracer ? { tracer } : {}),
    });
  };
  const subgraphs = {} as RunningSupergraph['subgraphs'];
  for (const { name, url } of modules) subgraphs[name] = await start(name, portOf(name, url));
  const others: Record<string, OtherSubgraph> = {};
  const composed = readFileSync(supergraphPath, 'utf8');
  for (const { name } of modules) {
    if (isPartner(name)) continue;
    others[name] = { listening: subgraphs[name]!, db: dbOf(name), secret: secrets[name]! };
    // Composing is the partner's deliberate step: until then the gateway does not route to it.
    if (!composed.includes(`@join__graph(name: "${name}"`)) progress(`${name}: started, but not in the supergraph yet (npm run compose adds it)`);
  }
  // The development key is a development convenience, as with PARTNERSKAP_DEV=1 for npm run gateway.
  if (!options.auth && !development)
    throw new Error('startSupergraph: development: false needs auth (an identity provider): the development key is for development only');
  const auth = options.auth ?? { jwks: { keys: [(await loadOrCreateDevKey()).publicJwk] }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE };
  const gatewayTracer = tracings.get('gateway')?.tracer;
  const server = createGatewayServer({
    // The committed supergraph, hot-reloaded: npm run compose swaps it in without a restart.
    supergraphPath,
    subgraphUrls: Object.fromEntries(Object.entries(subgraphs).map(([name, s]) => [name, options.subgraphUrl?.(name, s.url) ?? s.url])),
    development,
    authenticate: createAuthenticator(auth),
    secrets,
    ...options.gateway,
    ...(gatewayTracer ? { tracer: gatewayTracer } : {}),
  });
  const gateway = await listenGateway(server, { port: options.ports?.gateway ?? 0 });
  gatewayUrl = gateway.url;
  const stopped = new Set<string>();
  const running = () => Object.keys(subgraphs).filter((n) => !stopped.has(n));
  return {
    gateway,
    subgraphs,
    dbs,
    secrets,
    others,
    stopSubgraph: async (name) => {
      await subgraphs[name]?.stop();
      stopped.add(name);
    },
    restartSubgraph: async (name) => {
      const was = subgraphs[name];
      if (!was) throw new Error(`no registered subgraph is named ${name}`);
      subgraphs[name] = await start(name, was.port);
      if (others[name]) others[name].listening = subgraphs[name];
      stopped.delete(name);
    },
    settle: (timeoutMs) =>
      settleEvents(Object.fromEntries(running().map((n) => [n, subgraphs[n]!.url.replace(/\/graphql$/, '/ready')])), {
        ...(timeoutMs ? { timeoutMs } : {}),
      }),
    flushTraces: async () => void (await Promise.all([...tracings.values()].map((t) => t.flush()))),
    stop: async () => {
      await gateway.stop();
      await Promise.all(running().map((n) => subgraphs[n]!.stop()));
      await client.close();
      await Promise.all([...tracings.values()].map((t) => t.shutdown()));
    },
  };
}
