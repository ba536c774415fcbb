/** Starts the four subgraphs and the gateway over one MongoDB: what `npm start` and the end-to-end tests run. */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
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
import { type Clock, type ListeningSubgraph, MONGO_SELECTION_TIMEOUT_MS, clockFromEnv, startSubgraph } from '@partnerskap/kit';
import { admissions } from '@partnerskap/admissions';
import { catalogue } from '@partnerskap/catalogue';
import { feedback } from '@partnerskap/feedback';
import { plans } from '@partnerskap/plans';
import { type PartnerDbs, isSeeded, partnerDbs, seedDemoData } from './seed.js';

/** Options of {@link startSupergraph}. */
export interface SupergraphOptions {
  mongodbUri: string;
  /** Database name prefix: `partnerskap_` by default; tests use a fresh one each. */
  prefix?: string;
  /** Ports: the gateway's, then catalogue, admissions, plans, feedback. 0 picks free ones. */
  ports?: { gateway: number; catalogue: number; admissions: number; plans: number; feedback: number };
  /** Seed the demo data when a partner's database is empty (default true). */
  seed?: boolean;
  development?: boolean;
  /** The URL the gateway uses for a subgraph, given where it listens (tests put a recording proxy between). */
  subgraphUrl?: (name: string, url: string) => string;
  /** How the gateway verifies client tokens; default the development key in `.data/`. */
  auth?: AuthOptions;
  progress?: (line: string) => void;
  /** The one clock of the subgraphs' rules (default: PARTNERSKAP_NOW or the machine's). */
  clock?: Clock;
  /** More gateway options (limits, timeouts, rate limits, logger, CORS); tests tune them. */
  gateway?: Partial<Omit<GatewayServerOptions, 'supergraphSdl' | 'subgraphUrls' | 'authenticate' | 'secrets'>>;
  /** Hears every database command the subgraphs send (tests count them to prove batching). */
  onCommand?: (event: { commandName: string; databaseName: string; command: Record<string, unknown> }) => void;
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
  /** Stops the gateway, the subgraphs and the database client. */
  stop(): Promise<void>;
}

const FREE = { gateway: 0, catalogue: 0, admissions: 0, plans: 0, feedback: 0 };

/** Seeds (when empty) and starts everything. */
export async function startSupergraph(options: SupergraphOptions): Promise<RunningSupergraph> {
  const progress = options.progress ?? (() => undefined);
  const ports = options.ports ?? FREE;
  const development = options.development ?? true;
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
    const n = await seedDemoData(dbs, (line) => progress(`  ${line}`));
    progress(`seeded ${n.toLocaleString('en-US')} documents in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  // One process runs everything here, so each run shares fresh random secrets with its subgraphs.
  const secret = () => randomBytes(32).toString('base64url');
  const secrets = { catalogue: secret(), admissions: secret(), plans: secret(), feedback: secret() };
  const clock = options.clock ?? clockFromEnv(process.env);
  // Rules that ask another partner go through the gateway, which starts after its subgraphs.
  let gatewayUrl: string | undefined;
  const modules = { catalogue, admissions, plans, feedback } as const;
  type Name = keyof typeof modules;
  const start = (name: Name, port: number) =>
    startSubgraph(modules[name] as never, { db: dbs[name], port, development, gatewaySecret: secrets[name], clock, supergraphUrl: () => gatewayUrl });
  const subgraphs: Record<Name, ListeningSubgraph> = {
    catalogue: await start('catalogue', ports.catalogue),
    admissions: await start('admissions', ports.admissions),
    plans: await start('plans', ports.plans),
    feedback: await start('feedback', ports.feedback),
  };
  const auth = options.auth ?? { jwks: { keys: [(await loadOrCreateDevKey()).publicJwk] }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE };
  const server = createGatewayServer({
    // The committed supergraph, hot-reloaded: npm run compose swaps it in without a restart.
    supergraphPath: DEFAULT_SUPERGRAPH,
    subgraphUrls: Object.fromEntries(Object.entries(subgraphs).map(([name, s]) => [name, options.subgraphUrl?.(name, s.url) ?? s.url])),
    development,
    authenticate: createAuthenticator(auth),
    secrets,
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
    stopSubgraph: async (name) => {
      await subgraphs[name].stop();
      stopped.add(name);
    },
    restartSubgraph: async (name) => {
      subgraphs[name] = await start(name, subgraphs[name].port);
      stopped.delete(name);
    },
    stop: async () => {
      await gateway.stop();
      await Promise.all((Object.keys(subgraphs) as Name[]).filter((n) => !stopped.has(n)).map((n) => subgraphs[n].stop()));
      await client.close();
    },
  };
}
