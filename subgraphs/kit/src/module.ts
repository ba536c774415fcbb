import { type ApolloServer, type BaseContext } from '@apollo/server';
import { type Db } from 'mongodb';
import { type Clock, clockFromEnv, systemClock } from './clock.js';
import { DEFAULT_INSIGHTS, type InsightsSettings, loadSubgraphConfig } from './config.js';
import { type Supergraph, createSupergraphClient } from './process.js';
import { createCredentialVerifier, type Identity } from './identity.js';
import { createServiceMetrics } from './metrics.js';
import { connectMongo } from './mongo.js';
import { type ListeningSubgraph, listenSubgraph, stopOnSignals } from './server.js';

/** Everything needed to run one subgraph: what its `index.ts` exports. */
export interface SubgraphModule<S extends { ensureIndexes(): Promise<void> }, C extends BaseContext & { identity: Identity }> {
  name: string;
  /** The port in local development (4001 to 4004). */
  defaultPort: number;
  createStore(db: Db): S;
  createServer(options: { development: boolean }): ApolloServer<C>;
  createContext(store: S, identity: Identity, services: SubgraphServices): C;
}

/** What a subgraph's mutations need besides its store: the time, and the supergraph to ask other partners. */
export interface SubgraphServices {
  clock: Clock;
  supergraph: Supergraph;
  /** The assumptions the strategy insights value funding with. */
  insights: InsightsSettings;
}

/** Options of {@link startSubgraph}. */
export interface StartSubgraphOptions {
  db: Db;
  port: number;
  host?: string;
  development: boolean;
  /** The secret shared with the gateway. */
  gatewaySecret: string;
  /** The one clock of its rules (default the machine's). */
  clock?: Clock;
  /** The gateway's URL, for rules that ask another partner (a function: the gateway may start later). */
  supergraphUrl?: () => string | undefined;
  /** Serve `GET /metrics` with this instance's own registry (default: in development only). */
  metrics?: boolean;
  /** How long `stop()` lets requests in flight finish (ms; default 10 s). */
  shutdownGraceMs?: number;
  /** The strategy insights' salary cost per FTE and scholarship (default {@link DEFAULT_INSIGHTS}). */
  insights?: InsightsSettings;
}

/** Creates the store's indexes, builds the server and listens: used by `main.ts`, `npm start` and the tests. */
export async function startSubgraph<S extends { ensureIndexes(): Promise<void> }, C extends BaseContext & { identity: Identity }>(
  module: SubgraphModule<S, C>,
  options: StartSubgraphOptions,
): Promise<ListeningSubgraph> {
  const store = module.createStore(options.db);
  await store.ensureIndexes();
  const server = module.createServer({ development: options.development });
  const services: SubgraphServices = {
    clock: options.clock ?? systemClock,
    supergraph: createSupergraphClient({ subgraph: module.name, secret: options.gatewaySecret, url: options.supergraphUrl ?? (() => undefined) }),
    insights: options.insights ?? DEFAULT_INSIGHTS,
  };
  return listenSubgraph(server, {
    port: options.port,
    ...(options.host ? { host: options.host } : {}),
    verify: createCredentialVerifier(module.name, options.gatewaySecret),
    context: (identity, requestId) => ({ ...module.createContext(store, identity, services), requestId }),
    ready: async () => ({ store: await options.db.command({ ping: 1 }, { timeoutMS: 1500 }).then(() => true, () => false) }),
    ...((options.metrics ?? options.development) ? { metrics: createServiceMetrics({ service: module.name }) } : {}),
    ...(options.shutdownGraceMs !== undefined ? { shutdownGraceMs: options.shutdownGraceMs } : {}),
  });
}

/** The whole of a subgraph's `main.ts`: config, connect, listen, stop cleanly on a signal. */
export async function runSubgraph<S extends { ensureIndexes(): Promise<void> }, C extends BaseContext & { identity: Identity }>(
  module: SubgraphModule<S, C>,
  env: Record<string, string | undefined>,
): Promise<void> {
  const config = loadSubgraphConfig(env, module.name, module.defaultPort);
  const { client, db } = await connectMongo(config.mongodbUri, config.database, `partnerskap-${module.name}`);
  const listening = await startSubgraph(module, {
    db,
    port: config.port,
    host: config.host,
    development: config.development,
    gatewaySecret: config.gatewaySecret,
    clock: clockFromEnv(env),
    supergraphUrl: () => config.supergraphUrl,
    metrics: config.metrics,
    shutdownGraceMs: config.shutdownGraceMs,
    insights: config.insights,
  });
  process.stdout.write(`${module.name} subgraph ready at ${listening.url}\n`);
  stopOnSignals(
    module.name,
    async () => {
      await listening.stop();
      await client.close();
    },
    { graceMs: config.shutdownGraceMs },
  );
}
