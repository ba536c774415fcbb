import { type IncomingMessage } from 'node:http';
import { ApolloServer, type ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import { type GatewayExecutionResult, type GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { ErrorCode, type ListeningService, PUBLIC, entryLog, errorBehaviourOf, errorBody, halted, serveGraphQL } from '@partnerskap/common';
import { type DocumentNode, GraphQLError } from 'graphql';
import { type Authenticator, withServiceTokens } from './auth.js';
import { DEFAULT_SUBGRAPH_CALLS, type GatewayContext, type SubgraphCallOptions, SubgraphDataSource } from './data-source.js';
import { createNullOnErrorExecutor } from './error-behaviour.js';
import { type OverrideDecision, type ProgressiveOverride, createProgressiveOverride } from './override.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { type Logger, createLogger } from './log.js';
import { maskError } from './masking.js';
import { EXPLORER_PATH, explorerAssets } from './explorer.js';
import { insightsAssets } from './insights.js';
import { useErrorLog } from './plugins/use-error-log.js';
import { useGuards } from './plugins/use-guards.js';
import { useLandingPage } from './plugins/use-landing-page.js';
import { useLimits } from './plugins/use-limits.js';
import { useLocalIntrospection } from './plugins/use-local-introspection.js';
import { usePublicContract } from './plugins/use-public-contract.js';
import { useMetrics } from './plugins/use-metrics.js';
import { useResolvedOperation } from './plugins/use-resolved-operation.js';
import { useResponseCache } from './plugins/use-response-cache.js';
import { DEFAULT_RATE_LIMITS, type RateLimiter, type RateLimits, clientAddress, createRateLimiter } from './rate-limit.js';
import { type GatewayMetrics, createGatewayMetrics } from './metrics.js';
import { type LoadedSupergraph } from './supergraph.js';
import { createPartnerProbe } from './partners.js';
import { type SupergraphSourceOptions, supergraphSource } from './supergraph-source.js';
import { envName } from './config.js';
import { type Tracer } from '@partnerskap/common';
import { apolloTelemetryOff } from './tracing.js';
import { type TrustedDocuments, type TrustedDocumentsOptions, createTrustedDocuments } from './trusted-documents.js';

/** Options of {@link createGatewayServer}. */
export interface GatewayServerOptions {
  /** A fixed supergraph SDL (never reloaded); or give `supergraphPath` or `supergraphSourceUrl`. */
  supergraphSdl?: string;
  /** A supergraph file, hot-reloaded: read again every `supergraphPollMs`. */
  supergraphPath?: string;
  /** A URL serving the supergraph (a registry, a bucket), hot-reloaded: fetched again every `supergraphPollMs`. */
  supergraphSourceUrl?: string;
  /** Milliseconds between looks for a new supergraph (default 1000; 0 never looks again). */
  supergraphPollMs?: number;
  /** Hears every new supergraph found: applied, or refused with the reason (metrics). */
  onSupergraphReload?: SupergraphSourceOptions['onReload'];
  /** Subgraph URLs by name, replacing the composed ones (tests use free ports; a function: a new supergraph may name a new subgraph). */
  subgraphUrls?: Readonly<Record<string, string>> | ((name: string) => string | undefined);
  /** Sandbox, introspection, field suggestions: development only. */
  development: boolean;
  /** Verifies the client's token. */
  authenticate: Authenticator;
  /** The secret shared with each subgraph, by name (a function: a new supergraph may name a new subgraph). */
  secrets: Readonly<Record<string, string>> | ((name: string) => string | undefined);
  /** Operation limits (default {@link DEFAULT_LIMITS}). */
  limits?: Limits;
  /** The static cost estimate (default: from the supergraph's `@cost`/`@listSize`, see cost.ts). */
  estimateCost?: (document: DocumentNode, variables: Record<string, unknown> | undefined, operationName?: string | null) => number;
  /** Subgraph timeout and pool (default {@link DEFAULT_SUBGRAPH_CALLS}). */
  subgraphCalls?: SubgraphCallOptions;
  /** Requests per minute per caller (default {@link DEFAULT_RATE_LIMITS}). */
  rateLimits?: RateLimits;
  /** A Redis the replicas count their rate limits in (default none: each process counts in its memory; see rate-limit.ts). */
  rateLimitRedisUrl?: string;
  /** Proxies whose `X-Forwarded-For` is believed (their addresses). */
  trustedProxies?: readonly string[];
  /** Origins browsers may call from, `http://host:*` for any port (default: {@link DEVELOPMENT_CORS_ORIGINS} in development, none in production). */
  corsOrigins?: readonly string[];
  /** Serve `GET /metrics` (default: in development only; in production set `METRICS=1` and keep the port internal). */
  metrics?: boolean;
  /** Seconds a public caller's answer may be served from the response cache (default 0: off). */
  responseCacheTtlSeconds?: number;
  /**
   * Trusted documents (trusted-documents.ts): the registry (default `operations/manifest.json`) and the
   * roles that may send registered documents only (default: every partner role in production, none in development).
   */
  trustedDocuments?: TrustedDocumentsOptions;
  /**
   * The gateway's tracer (`startGatewayTracing`, docs/tracing.md): a server span per request and the W3C
   * trace context on every subgraph call. Absent (tracing off): neither.
   */
  tracer?: Tracer;
  /** The structured log (default pino, JSON lines on stdout). */
  logger?: Logger;
  /** Progressive `@override` labels other than `percent(N)` that are on for every request (`OVERRIDE_LABELS`; default none: such a label is off). */
  overrideLabels?: readonly string[];
}

/** The gateway's Apollo Server and how it admits each request. */
export interface GatewayServer {
  server: ApolloServer<GatewayContext>;
  options: GatewayServerOptions;
  /** Whether the supergraph is loaded (for `/ready`). */
  loaded(): boolean;
  /** The supergraph being served. */
  supergraph(): LoadedSupergraph | undefined;
  /** The subgraphs of the served supergraph, each at the URL the gateway calls. */
  subgraphs(): { name: string; url: string }[];
  /** Looks for a new supergraph now, as the poll does (resolves once it is applied or refused). */
  reloadSupergraph(): Promise<void>;
  /** Closes the connection pools to the subgraphs and the rate limiter's store (after the server has stopped). */
  close(): Promise<void>;
  /** The rate limiter admitting requests (its store, whether that store is reachable). */
  rateLimiter: RateLimiter;
  /** Admits a request (identity, rate limit) or answers it with 401/429. */
  admit: Parameters<typeof serveGraphQL<GatewayContext>>[0]['admit'];
  /** The registry of trusted documents and the roles held to it. */
  trustedDocuments: TrustedDocuments;
  /** Resolves a registered document's id, or refuses a document the caller may not send (404/403), before Apollo parses it. */
  prepare: NonNullable<Parameters<typeof serveGraphQL<GatewayContext>>[0]['prepare']>;
}

/** What Apollo Server takes as its gateway. */
type GatewayInterface = ApolloServerOptionsWithGateway<GatewayContext>['gateway'];

/**
 * Apollo Gateway's `extensions.valueCompletion` (a subgraph's null for a non-null field, a value of
 * the wrong type) as what they are, errors at their paths: a client sees them in `errors` (masked as
 * `INTERNAL_SERVER_ERROR`, the message in the log), not field names and messages in an extension it
 * ignores.
 */
function withValueCompletionAsErrors<T extends { errors?: readonly unknown[]; extensions?: Record<string, unknown> }>(result: T): T {
  const problems = result.extensions?.valueCompletion;
  if (!Array.isArray(problems)) return result;
  const { valueCompletion: _, ...extensions } = result.extensions!;
  const errors = problems.map((problem: GraphQLError) => {
    // Apollo's own class (graphql's CommonJS copy): an error of another copy reaches formatError without its path.
    const Of = (problem instanceof Error ? problem.constructor : GraphQLError) as typeof GraphQLError;
    return new Of(String(problem.message), {
      ...(problem.path ? { path: problem.path } : {}),
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, valueCompletion: true },
    });
  });
  return { ...result, errors: [...(result.errors ?? []), ...errors], extensions: Object.keys(extensions).length > 0 ? extensions : undefined };
}

/**
 * The gateway with its query planner's refusals of a document graphql-js has validated (the planner's
 * `INVALID_GRAPHQL`: a field its own copy of the introspection types lacks, and the like) answered as
 * what they are, a validation failure of the client's document: HTTP 400 `GRAPHQL_VALIDATION_FAILED`,
 * not a 500 with a stack in the log.
 */
function withPlannerRefusalsAsBadRequests(
  gateway: ApolloGateway,
  nullOnError: (requestContext: GatewayGraphQLRequestContext, overrides: OverrideDecision | undefined) => Promise<GatewayExecutionResult>,
  progressive: ProgressiveOverride,
): GatewayInterface {
  return {
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
    load: async (options) => {
      const loaded = await gateway.load(options);
      const executor = loaded.executor;
      if (!executor) return loaded;
      return {
        ...loaded,
        executor: async (requestContext) => {
          // The client's error behaviour (`onError`): NULL is shaped apart, HALT keeps no data beside an error.
          const behaviour = errorBehaviourOf(requestContext.context);
          // Progressive @override (override.ts): the labels on for this request; none (or a supergraph without labels) is Apollo's own plan.
          const overrides = progressive.decide(requestContext);
          try {
            const execution =
              behaviour === 'NULL'
                ? nullOnError(requestContext, overrides)
                : overrides
                  ? progressive.execute(requestContext, overrides)
                  : executor(requestContext);
            const result = withValueCompletionAsErrors(await execution);
            return behaviour === 'HALT' ? halted(result) : result;
          } catch (err) {
            // By shape: the planner's GraphQLError comes from graphql's CommonJS copy, not this module's.
            const refused = err as { message?: unknown; extensions?: { code?: unknown } } | null;
            if (refused?.extensions?.code !== 'INVALID_GRAPHQL') throw err;
            throw new GraphQLError(String(refused.message), { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } });
          }
        },
      };
    },
  };
}

/**
 * Builds the gateway: an Apollo Gateway over the committed supergraph (composition happened before
 * deploy, so it starts even when a subgraph is down), with operation limits and the guards checked
 * before planning, every unknown error masked, and Sandbox, introspection and field suggestions in
 * development only. Apollo's CSRF prevention stays on; array batching stays off.
 */
export function createGatewayServer(options: GatewayServerOptions): GatewayServer {
  const logger = options.logger ?? createLogger();
  const limits = options.limits ?? DEFAULT_LIMITS;
  let loaded = false;
  const secretOf = typeof options.secrets === 'function' ? options.secrets : (name: string) => (options.secrets as Record<string, string>)[name];
  const urls = options.subgraphUrls;
  const urlOf = (name: string, composed: string | undefined) => (typeof urls === 'function' ? urls(name) : urls?.[name]) ?? composed;
  // Everything derived from a supergraph, per API schema: a request keeps the guards and costs of
  // the schema it started on while a new supergraph is swapped in.
  const derived = new WeakMap<object, LoadedSupergraph>();
  let pending: LoadedSupergraph | undefined;
  let latest: LoadedSupergraph | undefined;
  const stateOf = (schema: unknown): LoadedSupergraph => (schema && typeof schema === 'object' ? derived.get(schema) : undefined) ?? latest!;
  // A file or URL to watch wins over a fixed SDL (a launcher may pass both).
  const where = options.supergraphPath
    ? { path: options.supergraphPath }
    : options.supergraphSourceUrl
      ? { url: options.supergraphSourceUrl }
      : options.supergraphSdl !== undefined
        ? { sdl: options.supergraphSdl }
        : undefined;
  if (!where) throw new Error('createGatewayServer needs supergraphSdl, supergraphPath or supergraphSourceUrl');
  // Read and checked at start: a gateway that holds roles to a registry it cannot read does not start.
  const trustedDocuments = createTrustedDocuments(options.trustedDocuments ?? {}, options.development, logger);
  const source = supergraphSource({
    ...where,
    ...(options.supergraphPollMs !== undefined ? { pollMs: options.supergraphPollMs } : {}),
    logger,
    // What Apollo cannot check: that the gateway can reach and sign for every subgraph named.
    check: (supergraph) => {
      const problems = supergraph.subgraphs.flatMap(({ name, url }) => [
        ...(urlOf(name, url) ? [] : [`no URL for subgraph ${name} (compose it with one, or set ${envName(name)}_URL)`]),
        ...((secretOf(name)?.length ?? 0) >= 32
          ? []
          : [`no gateway secret for subgraph ${name} (set GATEWAY_SECRET_${envName(name)}, at least 32 characters)`]),
      ]);
      return problems.length > 0 ? problems.join('; ') : undefined;
    },
    willApply: (supergraph) => {
      pending = supergraph;
    },
    ...(options.onSupergraphReload ? { onReload: options.onSupergraphReload } : {}),
  });
  // One data source per subgraph and URL, kept across supergraphs (Apollo reuses it while the URL
  // is unchanged); one replaced by a new URL is closed once its requests in flight are done.
  const sources = new Map<string, SubgraphDataSource>();
  const calls = options.subgraphCalls ?? DEFAULT_SUBGRAPH_CALLS;
  const propagate = options.tracer !== undefined;
  // Apollo Gateway's own usage metrics for Apollo (tracing.ts says why) are never started.
  const restoreApolloTelemetry = apolloTelemetryOff();
  const gateway = new ApolloGateway({
    supergraphSdl: source,
    buildService: ({ name, url }) => {
      const target = urlOf(name, url);
      if (!target) throw new Error(`the supergraph names no URL for subgraph ${name}`);
      const secret = secretOf(name);
      if (!secret) throw new Error(`no gateway secret for subgraph ${name}`);
      const replaced = sources.get(name);
      if (replaced) setTimeout(() => void replaced.close(), calls.timeoutMs * 2).unref();
      const requiredBy = (typename: string, field: string) => latest?.requiredBy.get(`${typename}.${field}`) ?? [];
      const dataSource = new SubgraphDataSource({ name, url: target, secret, calls, logger, requiredBy, propagate });
      sources.set(name, dataSource);
      return dataSource;
    },
  });
  restoreApolloTelemetry();
  const nullOnError = createNullOnErrorExecutor((name) => sources.get(name));
  const progressive = createProgressiveOverride({
    dataSource: (name) => sources.get(name),
    supergraphOf: (schema) => stateOf(schema),
    ...(options.overrideLabels ? { enabledLabels: options.overrideLabels } : {}),
  });
  const customCost = options.estimateCost;
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
    if (pending) derived.set(apiSchema, (latest = pending));
    loaded = true;
  });
  const server = new ApolloServer<GatewayContext>({
    gateway: withPlannerRefusalsAsBadRequests(
      gateway,
      (requestContext, overrides) => nullOnError(requestContext, stateOf(requestContext.schema), overrides),
      progressive,
    ),
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (drain, then stop): Apollo's own SIGTERM handler would stop it early and re-raise the signal.
    stopOnTerminationSignals: false,
    introspection: options.development,
    // Apollo's own removal of "Did you mean ...?" from validation errors (a map of the schema for whoever probes it): production only.
    hideSchemaDetailsFromClientErrors: !options.development,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    parseOptions: { maxTokens: limits.tokens },
    plugins: [
      // Nothing here reads Apollo's cache hints or reports usage to Apollo's cloud: skip their per-request work.
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      // First: a request whose operation cannot be picked is malformed, whatever else it is.
      useResolvedOperation(),
      // Callers without a token see the public contract (contract.ts): what it lacks is refused before the limits and guards look.
      usePublicContract({ contractOf: (schema) => stateOf(schema).contract }),
      // Limits, guards and cost read one analysis of the operation (analysis.ts), made by useResolvedOperation.
      useLimits({
        limits,
        estimateCost: customCost
          ? (document, variables, operationName) => customCost(document, variables, operationName)
          : (document, variables, operationName, schema, analysis) => stateOf(schema).estimateCost(document, variables, operationName, analysis),
      }),
      useGuards({ guardsOf: (schema) => stateOf(schema).guards }),
      useErrorLog({ logger }),
      useMetrics(),
      useResponseCache({ ttlSeconds: options.responseCacheTtlSeconds ?? 0 }),
      useLocalIntrospection({
        schemaFor: ({ contextValue, schema }) => (contextValue.identity.role === 'public' ? stateOf(schema).contract?.apiSchema : undefined),
      }),
      options.development ? useLandingPage({ explorerPath: EXPLORER_PATH }) : ApolloServerPluginLandingPageDisabled(),
    ],
    formatError: maskError,
  });

  // Service tokens are checked against the subgraphs of the supergraph being served, never a name a token chooses.
  let served: { of: LoadedSupergraph | undefined; names: ReadonlySet<string> } = { of: undefined, names: new Set() };
  const servedNames = () => {
    if (served.of !== latest) served = { of: latest, names: new Set(latest?.subgraphs.map((s) => s.name)) };
    return served.names;
  };
  const authenticate = withServiceTokens(options.authenticate, options.secrets, servedNames);
  const limiter = createRateLimiter({
    limits: options.rateLimits ?? DEFAULT_RATE_LIMITS,
    ...(options.rateLimitRedisUrl ? { redisUrl: options.rateLimitRedisUrl } : {}),
    logger,
  });
  const proxies = new Set(options.trustedProxies ?? []);
  const tooMany = (requestId: string, caller: string, retryAfterS: number) => {
    logger.warn({ requestId, code: ErrorCode.RATE_LIMITED, caller, msg: 'rate limited' });
    return {
      status: 429,
      headers: { 'retry-after': String(retryAfterS) },
      body: errorBody(ErrorCode.RATE_LIMITED, `Too many requests: try again in ${retryAfterS} s`),
    };
  };
  const admit = async (req: IncomingMessage, requestId: string) => {
    const authorization = req.headers.authorization;
    const address = clientAddress(req, proxies);
    let identity: GatewayContext['identity'];
    try {
      identity = await authenticate(typeof authorization === 'string' ? authorization : undefined);
    } catch (err) {
      // A refused token is counted like a public request from its address: refusals are not free
      // to send, and one over the limit is told 429, whatever token it carries. (A valid partner
      // keeps its own bucket below, so a flood of bad tokens from a shared address does not stop it.)
      const decision = await limiter.request(PUBLIC, address);
      if (!decision.allowed) return tooMany(requestId, 'unverified', decision.retryAfterS);
      const message = (err as Error).message;
      logger.info({ requestId, code: ErrorCode.UNAUTHENTICATED, msg: message });
      return { status: 401, headers: { 'www-authenticate': 'Bearer' }, body: errorBody(ErrorCode.UNAUTHENTICATED, message) };
    }
    const decision = await limiter.request(identity, address);
    if (!decision.allowed) return tooMany(requestId, identity.role, decision.retryAfterS);
    if (identity.role !== 'public') return { context: { identity, requestId } };
    // The public pays for what it asks in cost units too (taken once the operation is estimated).
    const costBudget = {
      charge: async (cost: number) => {
        const charged = await limiter.cost(address, cost);
        return charged.allowed ? undefined : charged.retryAfterS;
      },
    };
    return { context: { identity, requestId, costBudget } };
  };
  return {
    server,
    options: { ...options, logger },
    loaded: () => loaded,
    supergraph: () => latest,
    subgraphs: () =>
      (latest?.subgraphs ?? []).flatMap(({ name, url }) => {
        const target = urlOf(name, url);
        return target ? [{ name, url: target }] : [];
      }),
    reloadSupergraph: () => source.poll(),
    admit,
    trustedDocuments,
    prepare: ({ context, method, body, search }) =>
      trustedDocuments.prepare({ identity: context.identity, requestId: context.requestId, method, body, search }),
    rateLimiter: limiter,
    close: async () => void (await Promise.all([...[...sources.values()].map((s) => s.close()), limiter.close()])),
  };
}

/**
 * The browser origins a development gateway answers when `CORS_ORIGINS` is not set: Apollo Studio's
 * Sandbox and a frontend's dev server on this machine, whatever its port (Vite's 5173, 3000, 8080...).
 * Production answers none unless they are listed.
 */
export const DEVELOPMENT_CORS_ORIGINS: readonly string[] = Object.freeze([
  'https://studio.apollographql.com',
  'http://localhost:*',
  'http://127.0.0.1:*',
  'http://[::1]:*',
]);

/** A gateway listening for HTTP. */
export interface ListeningGateway extends ListeningService {
  /** Its metrics (the registry `/metrics` serves), when `/metrics` is on. */
  metrics?: GatewayMetrics;
}

/**
 * Starts the gateway on a port (0 for a free one), over node:http with the body cap, CORS origins,
 * `/health`, `/ready` (with the state of each partner: {@link createPartnerProbe}), the strategy insights page at `/insights` (gateway/insights), in development
 * (where introspection is on) the local explorer at `/graphiql` (GraphiQL, gateway/explorer) and, in
 * development or with `metrics: true`, `/metrics` (a registry of its own).
 * `stop()` drains requests in flight for up to `shutdownGraceMs` (default 10 s), then closes the
 * connections to the subgraphs.
 */
export async function listenGateway(gateway: GatewayServer, options: { port: number; host?: string; shutdownGraceMs?: number }): Promise<ListeningGateway> {
  const { options: o } = gateway;
  // A shared rate limit store gets a moment to connect, so the first requests count in it; if it
  // cannot be reached the gateway starts anyway, counting in memory (rate-limit.ts says why).
  await gateway.rateLimiter.connected();
  const metrics = (o.metrics ?? o.development) ? createGatewayMetrics() : undefined;
  // Each partner of the served supergraph at the URL the gateway calls. Reported, never a reason
  // for 503: with one partner down the gateway still serves the others' data.
  const partners = createPartnerProbe({ subgraphs: () => gateway.subgraphs() });
  const listening = await serveGraphQL<GatewayContext>({
    server: gateway.server,
    port: options.port,
    ...(options.host ? { host: options.host } : {}),
    path: '/',
    bodyLimitBytes: (o.limits ?? DEFAULT_LIMITS).bodyBytes,
    corsOrigins: o.corsOrigins ?? (o.development ? DEVELOPMENT_CORS_ORIGINS : []),
    admit: gateway.admit,
    prepare: gateway.prepare,
    ready: async () => ({ supergraph: gateway.loaded() }),
    readyDetails: async () => ({ partners: await partners() }),
    ...(metrics ? { metrics } : {}),
    ...(options.shutdownGraceMs !== undefined ? { shutdownGraceMs: options.shutdownGraceMs } : {}),
    assets: { ...insightsAssets(), ...(o.development ? explorerAssets() : {}) },
    log: entryLog(o.logger!),
    ...(o.tracer ? { tracer: o.tracer } : {}),
  });
  let stopping: Promise<void> | undefined;
  return {
    ...listening,
    ...(metrics ? { metrics } : {}),
    stop: (stopOptions) =>
      (stopping ??= (async () => {
        await listening.stop(stopOptions);
        await gateway.close();
      })()),
  };
}
