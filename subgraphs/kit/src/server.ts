import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { type DocumentNode, type GraphQLFormattedError, parse } from 'graphql';
import { keepNonNullErrors, schemaWithErrorBehaviours, withNullableOutputs } from '@partnerskap/common';
import { APOLLO_REQUEST_CODES, ErrorCode, isKnownCode } from '@partnerskap/common';
import { type Policy, enforceGuards } from '@partnerskap/common';
import { REQUEST_ID_HEADER, type ListeningService, errorBody, serveGraphQL } from '@partnerskap/common';
import { CREDENTIAL_HEADER, type Identity } from '@partnerskap/common';
import { type Log, createLogger, entryLog } from '@partnerskap/common';
import { type ServiceMetrics, useRequestMetrics } from '@partnerskap/common';
import { DateScalar, DateTimeScalar } from './scalars.js';
import { type SubgraphResolvers, apolloResolverMap } from './resolver-map.js';
import { type Tracer, tracingEnabled } from '@partnerskap/common';
import { traceResolvers } from './tracing.js';
import { isOutOfDiskSpace, isStoreDown } from './store-errors.js';

/** An error a client may see as it is: one of our codes (not an internal error) or a bad request. */
function isShown(code: unknown): boolean {
  return (isKnownCode(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) || (typeof code === 'string' && APOLLO_REQUEST_CODES.has(code));
}

/** Reads a subgraph's SDL contract from where its module says it is (`schema/<name>.graphql`, a data folder). */
export function readSchema(file: URL): DocumentNode {
  return parse(readFileSync(file, 'utf8'));
}

/** Options of {@link createSubgraphServer}. */
export interface SubgraphServerOptions<C extends BaseContext & { identity: Identity }> {
  /** The subgraph's name, for logs. */
  name: string;
  typeDefs: DocumentNode;
  /** Its resolvers, typed by `npm run codegen` (`Resolvers` of its `src/generated/resolvers.ts`). */
  resolvers: SubgraphResolvers<C>;
  /** Stack traces in error responses only then. */
  development: boolean;
  /** The implementations of the policies the SDL names in `@policy`. */
  policies?: Record<string, Policy<C>>;
  /** Where unexpected errors are logged; default one JSON line on stderr. */
  log?: Log;
}

let stderrLog: Log | undefined;

/**
 * One line on stderr (the services' one pino configuration, common's log.ts: JSON, or readable at
 * a terminal; `LOG_LEVEL`, `silent` in the test runs). Each entry names its `service`.
 */
export const defaultLog: Log = (entry) => (stderrLog ??= entryLog(createLogger({ stream: process.stderr })))(entry);

/** The default log of one subgraph: {@link defaultLog} with its name as `service` where an entry names none. */
export function subgraphLog(name: string): Log {
  return (entry) => defaultLog({ service: name, ...entry });
}

/** Builds a federated subgraph server that masks every error it does not know. */
export function createSubgraphServer<C extends BaseContext & { identity: Identity }>(options: SubgraphServerOptions<C>): ApolloServer<C> {
  const log = options.log ?? defaultLog;
  // While this process traces (docs/tracing.md), the subgraph's own resolvers open spans when they reach the store.
  const own: SubgraphResolvers<C> = { Date: DateScalar, DateTime: DateTimeScalar, ...options.resolvers };
  const resolvers = apolloResolverMap<C>(tracingEnabled() ? traceResolvers(own) : own);
  const schema = buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers }]);
  // The SDL's @authenticated, @requiresScopes and @policy are the rules: enforce exactly those.
  enforceGuards(schema, options.typeDefs, options.policies ?? {});
  // `onError: NULL` runs against the same resolvers and guards with every output nullable; `_service`
  // keeps printing the contract as it is.
  const nullOnError = () => {
    const twin = buildSubgraphSchema([{ typeDefs: withNullableOutputs(options.typeDefs), resolvers }]);
    enforceGuards(twin, options.typeDefs, options.policies ?? {});
    keepNonNullErrors(schema, twin);
    const [service, contract] = [twin, schema].map((s) => s.getQueryType()?.getFields()._service);
    if (service && contract?.resolve) service.resolve = contract.resolve;
    return twin;
  };
  return new ApolloServer<C>({
    gateway: schemaWithErrorBehaviours<C>(schema, nullOnError),
    // Traces for Apollo's hosted reporting and cache-control hints: nothing here reads them (the
    // gateway computes no cache policy from them), and each costs a hook on every field resolved.
    plugins: [ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginCacheControlDisabled(), logMasked(options.name, log), useRequestMetrics()],
    includeStacktraceInErrorResponses: options.development,
    // Shutdown is ours (drain, then stop): Apollo's own SIGTERM handler would stop it early and re-raise the signal.
    stopOnTerminationSignals: false,
    formatError: (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
      if (isShown(formatted.extensions?.code)) return formatted;
      const path = formatted.path ? { path: formatted.path } : {};
      if (isBadRepresentation(error)) {
        return {
          message: 'A representation names a type this subgraph does not resolve',
          ...path,
          extensions: { code: ErrorCode.BAD_USER_INPUT, field: 'representations' },
        };
      }
      if (isStoreDown(error)) {
        return { message: 'The partner’s database cannot be reached just now; try again shortly', ...path, extensions: { code: ErrorCode.STORE_UNAVAILABLE } };
      }
      // The database answers but cannot store (its disk is full): the write was not made, reads still work.
      if (isOutOfDiskSpace(error)) {
        const message = 'The partner’s database cannot store changes just now (its disk is full); try again later';
        return { message, ...path, extensions: { code: ErrorCode.STORE_UNAVAILABLE } };
      }
      return { message: 'Internal server error', ...path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
    },
  });
}

/** @apollo/subgraph's error for an `_entities` representation of a type the subgraph does not have: the caller's mistake. */
function isBadRepresentation(error: unknown): boolean {
  const e = error as { message?: string; originalError?: { message?: string } } | undefined;
  return /^The _entities resolver tried to load an entity for type /.test(e?.originalError?.message ?? e?.message ?? '');
}

/**
 * Logs every error a subgraph masks, with the subgraph's name (`service`), the operation's name
 * (the gateway names a fetch `<client operation>__<subgraph>__<n>`) and the request's correlation
 * id (from the gateway), so the gateway's log line and the subgraph's can be joined.
 */
function logMasked(name: string, log: Log): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName, request }) {
          for (const error of errors) {
            if (isShown(error.extensions?.code) || isBadRepresentation(error)) continue;
            log({
              level: 'error',
              service: name,
              operationName: operationName ?? request.operationName ?? null,
              requestId: (contextValue as { requestId?: string }).requestId,
              msg: error.message,
              path: error.path,
              error: String(error.originalError?.stack ?? error.stack ?? error),
            });
          }
        },
      };
    },
  };
}

/** A subgraph listening for HTTP. */
export type ListeningSubgraph = ListeningService;

/** A request id from the gateway is kept (it vouched for the request); anything else gets a new one. */
const REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;

/**
 * Starts a subgraph server on a port (0 for a free one). Every request must carry the gateway's
 * credential: without a valid one it is refused with 401 before any resolver or database command
 * runs (`_service` and `_entities` included). `context` builds the request's context from the
 * identity; `ready` tells `/ready` whether the store answers.
 */
export async function listenSubgraph<C extends BaseContext>(
  server: ApolloServer<C>,
  options: {
    port: number;
    host?: string;
    verify: (token: string | undefined) => Promise<Identity | undefined>;
    context: (identity: Identity, requestId: string) => C;
    ready?: () => Promise<Record<string, boolean>>;
    /** What `/ready` reports beside its checks (where the feeds it reads stand). */
    readyDetails?: () => Promise<Record<string, unknown>>;
    log?: Log;
    /** Its metrics, served at `/metrics` (none: no `/metrics`). */
    metrics?: ServiceMetrics;
    /** How long `stop()` lets requests in flight finish (ms; default 10 s). */
    shutdownGraceMs?: number;
    /** Its tracer (docs/tracing.md): a server span per request, continuing the gateway's trace (none: no tracing). */
    tracer?: Tracer;
  },
): Promise<ListeningSubgraph> {
  const log = options.log ?? defaultLog;
  return serveGraphQL<C>({
    server,
    port: options.port,
    ...(options.host ? { host: options.host } : {}),
    path: '/graphql',
    requestId: (req) => {
      const id = req.headers[REQUEST_ID_HEADER];
      return typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID();
    },
    admit: async (req, requestId) => {
      const header = req.headers[CREDENTIAL_HEADER];
      const identity = await options.verify(typeof header === 'string' ? header : undefined);
      if (!identity) return { status: 401, body: errorBody(ErrorCode.UNAUTHENTICATED, 'This subgraph answers only the gateway') };
      return { context: options.context(identity, requestId) };
    },
    ready: options.ready ?? (async () => ({ server: true })),
    ...(options.readyDetails ? { readyDetails: options.readyDetails } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.shutdownGraceMs !== undefined ? { shutdownGraceMs: options.shutdownGraceMs } : {}),
    ...(options.tracer ? { tracer: options.tracer } : {}),
    log,
  });
}

/**
 * Stops a subgraph on SIGINT/SIGTERM with `stop` (drain the server, close the database), with one
 * log line; a second signal does not wait for the drain (Ctrl-C twice).
 */
export function stopOnSignals(name: string, stop: () => Promise<void>, options: { graceMs?: number; log?: Log } = {}): void {
  const log = options.log ?? defaultLog;
  let stopping = false;
  const handler = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    log({
      level: 'info',
      service: name,
      msg: `${signal}: draining requests in flight, then stopping`,
      ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
    });
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log({ level: 'error', service: name, msg: 'stopping failed', error: String((err as Error)?.stack ?? err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}
