import { type ApolloServer, type BaseContext } from '@apollo/server';
import { type Db } from 'mongodb';
import { type Clock, clockFromEnv, systemClock } from './clock.js';
import { DEFAULT_INSIGHTS, type InsightsSettings, loadSubgraphConfig } from './config.js';
import { type Supergraph, createSupergraphClient, feedQuery } from './supergraph-client.js';
import { type FeedReader, type Subscription, ensureConsumerIndexes, projectionApplier, startConsumer } from './consumer.js';
import { type CountedFigures } from './figures.js';
import { type Outbox, type Projections, createProjections } from './events.js';
import { type Log, createCredentialVerifier, type Identity } from '@partnerskap/common';
import { type Tracer, startTracing } from '@partnerskap/common';
import { createServiceMetrics } from '@partnerskap/common';
import { connectMongo } from './mongo.js';
import { type ListeningSubgraph, listenSubgraph, stopOnSignals, subgraphLog } from './server.js';

/** What a subgraph's store must offer: its indexes, and (with an outbox) the feed's head for `/ready`. */
export interface SubgraphStore {
  ensureIndexes(): Promise<void>;
  outboxHead?(): Promise<number>;
  /** Its outbox, closed when it stops (feed requests waiting answer at once; the sequencer's lease is let go). */
  outbox?: Outbox;
}

/** Everything needed to run one subgraph: what its `index.ts` exports. */
export interface SubgraphModule<S extends SubgraphStore, C extends BaseContext & { identity: Identity }> {
  name: string;
  /** The port in local development (4001 to 4004). */
  defaultPort: number;
  createStore(db: Db): S;
  createServer(options: { development: boolean }): ApolloServer<C>;
  createContext(store: S, identity: Identity, services: SubgraphServices): C;
  /** What it keeps of other partners' records: the feeds it reads and the kinds it projects (none: it reads no feed). */
  subscriptions?: (db: Db) => readonly Subscription[];
  /** Its records as the others keep them, by kind (the same states its events carry): seed, repair and reconcile build from them. */
  snapshots?: Record<string, (db: Db) => Promise<{ subject: string; data: Record<string, unknown> }[]>>;
  /** Its counted collections (figures maintained by its writes): seed and repair rebuild them, reconcile checks them. */
  figures?: (db: Db) => readonly CountedFigures[];
  /** Work it runs beside its server (the catalogue's webhook deliveries): started with it, stopped before it. */
  background?: (context: BackgroundContext) => Background;
}

/** What a subgraph's background work gets: its database, its services, and a reader of the partners' feeds. */
export interface BackgroundContext {
  db: Db;
  services: SubgraphServices;
  read: FeedReader;
  /** As the server's: development conveniences (the webhooks' loopback receivers) are allowed. */
  development: boolean;
  log?: Log;
}

/** Background work, running. */
export interface Background {
  stop(): Promise<void>;
  /** Shown under `/ready`'s `events.background`. */
  status?(): Record<string, unknown>;
}

/** What a subgraph's mutations need besides its store: the time, and the supergraph to ask other partners. */
export interface SubgraphServices {
  clock: Clock;
  supergraph: Supergraph;
  /** The assumptions the strategy insights value funding with. */
  insights: InsightsSettings;
  /** What this subgraph keeps of the other partners' records (its own database; rules read it, never a live call). */
  projections: Projections;
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
  log?: Log;
  /** Its tracer (common's `startTracing`, docs/tracing.md; none: no tracing). */
  tracer?: Tracer;
}

/** Creates the store's indexes, builds the server and listens: used by `main.ts`, `npm start` and the tests. */
export async function startSubgraph<S extends SubgraphStore, C extends BaseContext & { identity: Identity }>(
  module: SubgraphModule<S, C>,
  options: StartSubgraphOptions,
): Promise<ListeningSubgraph> {
  const store = module.createStore(options.db);
  await store.ensureIndexes();
  const projections = createProjections(options.db);
  await projections.ensureIndexes();
  await ensureConsumerIndexes(options.db);
  const server = module.createServer({ development: options.development });
  const supergraph = createSupergraphClient({ subgraph: module.name, secret: options.gatewaySecret, url: options.supergraphUrl ?? (() => undefined) });
  const services: SubgraphServices = { clock: options.clock ?? systemClock, supergraph, insights: options.insights ?? DEFAULT_INSIGHTS, projections };
  const read = feedReader(supergraph);
  const log = options.log ?? subgraphLog(module.name);
  const consumers = (module.subscriptions?.(options.db) ?? []).map((subscription) =>
    startConsumer({
      db: options.db,
      group: 'projections',
      source: subscription.source,
      kinds: Object.keys(subscription.kinds),
      read,
      apply: projectionApplier(projections, subscription),
      log,
    }),
  );
  const background = module.background?.({ db: options.db, services, read, development: options.development, log });
  const listening = await listenSubgraph(server, {
    port: options.port,
    ...(options.host ? { host: options.host } : {}),
    verify: createCredentialVerifier(module.name, options.gatewaySecret),
    context: (identity, requestId) => ({ ...module.createContext(store, identity, services), requestId }),
    ready: async () => ({
      store: await options.db.command({ ping: 1 }, { timeoutMS: 1500 }).then(
        () => true,
        () => false,
      ),
    }),
    // Where each feed it reads stands (cursor, caught up, lag): not a check, a partner's outage must not make this one unready.
    readyDetails: async () => ({
      events: {
        head: await store.outboxHead?.(),
        consumers: consumers.map((c) => c.status()),
        ...(background?.status ? { background: background.status() } : {}),
      },
    }),
    ...((options.metrics ?? options.development) ? { metrics: createServiceMetrics({ service: module.name }) } : {}),
    ...(options.shutdownGraceMs !== undefined ? { shutdownGraceMs: options.shutdownGraceMs } : {}),
    ...(options.tracer ? { tracer: options.tracer } : {}),
    log,
  });
  return {
    ...listening,
    stop: async (...args: Parameters<ListeningSubgraph['stop']>) => {
      // The server drains at once (/ready 503, no new connection); feed requests waiting for an event answer
      // now, and the consumers and background work end beside it.
      const draining = listening.stop(...args);
      await Promise.all([...consumers.map((c) => c.stop()), background?.stop(), store.outbox?.close()]);
      await draining;
    },
  };
}

/** Reads a partner's feed (`<source>Events`) through the gateway as this subgraph's service. */
export function feedReader(supergraph: Supergraph): FeedReader {
  return async (source, { after, kinds, first, waitMs, signal }) => {
    const { page } = await supergraph.request(feedQuery(source), { after, kinds: [...kinds], first, waitMs }, { timeoutMs: waitMs + 10_000, signal });
    if (!page) throw new Error(`the gateway answered no ${source}Events`);
    return { cursor: page.cursor, events: page.events.map((e) => ({ ...e, data: JSON.parse(e.data) as Record<string, unknown> })) };
  };
}

/** The whole of a subgraph's `main.ts`: config, connect, listen, stop cleanly on a signal. */
export async function runSubgraph<S extends SubgraphStore, C extends BaseContext & { identity: Identity }>(
  module: SubgraphModule<S, C>,
  env: Record<string, string | undefined>,
): Promise<void> {
  const config = loadSubgraphConfig(env, module.name, module.defaultPort);
  // Before the store and the server: the driver's commands and the resolvers are traced only when tracing is on.
  const tracing = await startTracing({ serviceName: module.name, env });
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
    ...(tracing.tracer ? { tracer: tracing.tracer } : {}),
  });
  // Not a log line: printed whatever LOG_LEVEL, since the dev launcher's reader and the bundles' test wait for it.
  process.stdout.write(`${module.name} subgraph ready at ${listening.url}\n`);
  stopOnSignals(
    module.name,
    async () => {
      await listening.stop();
      await client.close();
      await tracing.shutdown();
    },
    { graceMs: config.shutdownGraceMs },
  );
}
