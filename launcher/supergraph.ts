/**
 * Starts the four subgraphs, every other subgraph of the registry (`npm run new-subgraph`) and the
 * gateway over one MongoDB: what `npm start` and the end-to-end tests run.
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
import { type Clock, type ListeningSubgraph, MONGO_SELECTION_TIMEOUT_MS, type SubgraphModule, clockFromEnv, insightsFromEnv, settleEvents, startSubgraph } from '@partnerskap/kit';
import { admissions } from '@partnerskap/admissions';
import { catalogue } from '@partnerskap/catalogue';
import { feedback } from '@partnerskap/feedback';
import { plans } from '@partnerskap/plans';
import { readRegistry } from '../tools/schema/compose.js';
import { type PartnerDbs, isSeeded, partnerDbs, seedDemoData } from '../demo/seed.js';

/** Options of {@link startSupergraph}. */
export interface SupergraphOptions {
  mongodbUri: string;
  /** Database name prefix: `partnerskap_` by default; tests use a fresh one each. */
  prefix?: string;
  /**
   * Ports: the gateway's, then catalogue, admissions, plans, feedback. 0 picks free ones. Given,
   * the registry's other subgraphs listen on their registered ports; left out, on free ones too.
   */
  ports?: { gateway: number; catalogue: number; admissions: number; plans: number; feedback: number };
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
}

/** A subgraph of the registry beyond the four, as {@link startSupergraph} runs it. */
export interface OtherSubgraph {
  listening: ListeningSubgraph;
  /** Its database, `<prefix><name>`. */
  db: Db;
  /** The secret the gateway shares with it (fresh for every start). */
  secret: string;
}

/** A running supergraph. */
export interface RunningSupergraph {
  gateway: ListeningGateway;
  subgraphs: Record<'catalogue' | 'admissions' | 'plans' | 'feedback', ListeningSubgraph>;
  dbs: PartnerDbs;
  /** The secrets the gateway shares with each subgraph (fresh for every start). */
  secrets: Record<'catalogue' | 'admissions' | 'plans' | 'feedback', string>;
  /** Stops one subgraph (a partner down), and starts it again on the same port. */
  stopSubgraph(name: 'catalogue' | 'admissions' | 'plans' | 'feedback'): Promise<void>;
  restartSubgraph(name: 'catalogue' | 'admissions' | 'plans' | 'feedback'): Promise<void>;
  /** The registry's other subgraphs (`npm run new-subgraph`), by name; none in this repository as committed. */
  others: Record<string, OtherSubgraph>;
  /** Waits until every partner's projections hold every event committed so far (between steps that cross partners). */
  settle(timeoutMs?: number): Promise<void>;
  /** Stops the gateway, the subgraphs and the database client. */
  stop(): Promise<void>;
}

const FREE = { gateway: 0, catalogue: 0, admissions: 0, plans: 0, feedback: 0 };
const FOUR: readonly string[] = ['catalogue', 'admissions', 'plans', 'feedback'];
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

type AnyModule = SubgraphModule<{ ensureIndexes(): Promise<void> }, never>;

/** The subgraph module `subgraphs/<name>/src/index.ts` exports (the export whose `name` is the subgraph's). */
async function loadModule(root: string, name: string): Promise<AnyModule> {
  const file = join(root, 'subgraphs', name, 'src', 'index.ts');
  if (!existsSync(file)) throw new Error(`schema/subgraphs.json registers ${name}, but ${file} does not exist`);
  const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const module = Object.values(exports).find(
    (value): value is AnyModule => typeof value === 'object' && value !== null && (value as AnyModule).name === name && typeof (value as AnyModule).createStore === 'function',
  );
  if (!module) throw new Error(`${file} exports no subgraph module named ${name} (a SubgraphModule, as the template's index.ts does)`);
  return module;
}

/** Seeds (when empty) and starts everything. */
export async function startSupergraph(options: SupergraphOptions): Promise<RunningSupergraph> {
  const progress = options.progress ?? (() => undefined);
  const ports = options.ports ?? FREE;
  const development = options.development ?? true;
  const root = options.root ?? REPO_ROOT;
  const supergraphPath = options.root ? join(root, 'schema', 'supergraph.graphql') : DEFAULT_SUPERGRAPH;
  const registered = readRegistry(join(root, 'schema', 'subgraphs.json')).filter((s) => !FOUR.includes(s.name));
  const otherModules = await Promise.all(registered.map(async (s) => ({ ...s, module: await loadModule(root, s.name) })));
  const client = await MongoClient.connect(options.mongodbUri, {
    serverSelectionTimeoutMS: MONGO_SELECTION_TIMEOUT_MS,
    appName: 'partnerskap',
    monitorCommands: options.onCommand !== undefined,
  });
  if (options.onCommand) client.on('commandStarted', options.onCommand);
  const dbs = partnerDbs(client, options.prefix);
  if ((options.seed ?? true) && !(await isSeeded(dbs))) {
    progress('seeding the demo data (first start only)');
    const started = performance.now();
    const n = await seedDemoData(dbs, (line) => progress(`  ${line}`), options.seedProgress, { projections: options.seedProjections ?? true });
    progress(`seeded ${n.toLocaleString('en-US')} documents in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  // One process runs everything here, so each run shares fresh random secrets with its subgraphs.
  const secret = () => randomBytes(32).toString('base64url');
  const secrets = { catalogue: secret(), admissions: secret(), plans: secret(), feedback: secret() };
  const clock = options.clock ?? clockFromEnv(process.env);
  const insights = insightsFromEnv(process.env);
  // Rules that ask another partner go through the gateway, which starts after its subgraphs.
  let gatewayUrl: string | undefined;
  const modules = { catalogue, admissions, plans, feedback } as const;
  type Name = keyof typeof modules;
  const start = (name: Name, port: number) =>
    startSubgraph(modules[name] as never, { db: dbs[name], port, development, gatewaySecret: secrets[name], clock, supergraphUrl: () => gatewayUrl, insights });
  const subgraphs: Record<Name, ListeningSubgraph> = {
    catalogue: await start('catalogue', ports.catalogue),
    admissions: await start('admissions', ports.admissions),
    plans: await start('plans', ports.plans),
    feedback: await start('feedback', ports.feedback),
  };
  const others: Record<string, OtherSubgraph> = {};
  const composed = readFileSync(supergraphPath, 'utf8');
  for (const { name, url, module } of otherModules) {
    const db = client.db(`${options.prefix ?? 'partnerskap_'}${name}`);
    const gatewaySecret = secret();
    const listening = await startSubgraph(module, { db, port: options.ports ? Number(new URL(url).port) : 0, development, gatewaySecret, clock, supergraphUrl: () => gatewayUrl });
    others[name] = { listening, db, secret: gatewaySecret };
    // Composing is the partner's deliberate step: until then the gateway does not route to it.
    if (!composed.includes(`@join__graph(name: "${name}"`)) progress(`${name}: started, but not in the supergraph yet (npm run compose adds it)`);
  }
  const everyOne: Record<string, ListeningSubgraph> = { ...subgraphs, ...Object.fromEntries(Object.entries(others).map(([n, o]) => [n, o.listening])) };
  // The development key is a development convenience, as with PARTNERSKAP_DEV=1 for npm run gateway.
  if (!options.auth && !development) throw new Error('startSupergraph: development: false needs auth (an identity provider): the development key is for development only');
  const auth = options.auth ?? { jwks: { keys: [(await loadOrCreateDevKey()).publicJwk] }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE };
  const server = createGatewayServer({
    // The committed supergraph, hot-reloaded: npm run compose swaps it in without a restart.
    supergraphPath,
    subgraphUrls: Object.fromEntries(Object.entries(everyOne).map(([name, s]) => [name, options.subgraphUrl?.(name, s.url) ?? s.url])),
    development,
    authenticate: createAuthenticator(auth),
    secrets: { ...Object.fromEntries(Object.entries(others).map(([n, o]) => [n, o.secret])), ...secrets },
    ...options.gateway,
  });
  const gateway = await listenGateway(server, { port: ports.gateway });
  gatewayUrl = gateway.url;
  const stopped = new Set<Name>();
  return {
    gateway,
    subgraphs,
    dbs,
    secrets,
    others,
    stopSubgraph: async (name) => {
      await subgraphs[name].stop();
      stopped.add(name);
    },
    restartSubgraph: async (name) => {
      subgraphs[name] = await start(name, subgraphs[name].port);
      stopped.delete(name);
    },
    settle: (timeoutMs) =>
      settleEvents(Object.fromEntries((Object.keys(subgraphs) as Name[]).filter((n) => !stopped.has(n)).map((n) => [n, subgraphs[n].url.replace(/\/graphql$/, '/ready')])), {
        ...(timeoutMs ? { timeoutMs } : {}),
      }),
    stop: async () => {
      await gateway.stop();
      await Promise.all([
        ...(Object.keys(subgraphs) as Name[]).filter((n) => !stopped.has(n)).map((n) => subgraphs[n].stop()),
        ...Object.values(others).map((o) => o.listening.stop()),
      ]);
      await client.close();
    },
  };
}
