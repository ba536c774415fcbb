import { readFileSync } from 'node:fs';
import { ApolloServer, type BaseContext, type ContextFunction } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer, type StandaloneServerContextFunctionArgument } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { type GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { type DocumentNode, GraphQLError, type GraphQLFormattedError, parse } from 'graphql';
import { ErrorCode, isKnownCode } from './errors.js';
import { type Policy, enforceGuards } from './guards.js';
import { CREDENTIAL_HEADER, type Identity } from './identity.js';
import { DateScalar, DateTimeScalar } from './scalars.js';

/** Apollo Server's own codes for a bad request: the client's fault, shown as they are. */
const REQUEST_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'PERSISTED_QUERY_NOT_FOUND', 'OPERATION_RESOLUTION_FAILURE']);

/** Reads a subgraph's SDL contract from the repository's `schema/` folder. */
export function readSchema(name: string): DocumentNode {
  return parse(readFileSync(new URL(`../../../schema/${name}.graphql`, import.meta.url), 'utf8'));
}

/** Options of {@link createSubgraphServer}. */
export interface SubgraphServerOptions<C extends BaseContext & { identity: Identity }> {
  /** The subgraph's name, for logs. */
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<C>;
  /** Stack traces in error responses only then. */
  development: boolean;
  /** The implementations of the policies the SDL names in `@policy`. */
  policies?: Record<string, Policy<C>>;
  /** Where unexpected errors are logged; default one JSON line on stderr. */
  log?: (entry: Record<string, unknown>) => void;
}

/** Builds a federated subgraph server that masks every error it does not know. */
export function createSubgraphServer<C extends BaseContext & { identity: Identity }>(options: SubgraphServerOptions<C>): ApolloServer<C> {
  const log = options.log ?? ((entry) => process.stderr.write(`${JSON.stringify(entry)}\n`));
  const schema = buildSubgraphSchema([
    { typeDefs: options.typeDefs, resolvers: { Date: DateScalar, DateTime: DateTimeScalar, ...options.resolvers } as GraphQLResolverMap<C> },
  ]);
  // The SDL's @authenticated, @requiresScopes and @policy are the rules: enforce exactly those.
  enforceGuards(schema, options.typeDefs, options.policies ?? {});
  return new ApolloServer<C>({
    schema,
    // Traces for Apollo's hosted reporting: nothing here reads them.
    plugins: [ApolloServerPluginInlineTraceDisabled()],
    includeStacktraceInErrorResponses: options.development,
    formatError: (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
      const code = formatted.extensions?.code;
      if (isKnownCode(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
      if (typeof code === 'string' && REQUEST_CODES.has(code)) return formatted;
      log({ level: 'error', subgraph: options.name, msg: formatted.message, path: formatted.path, error: String((error as Error)?.stack ?? error) });
      return {
        message: 'Internal server error',
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      };
    },
  });
}

/** A subgraph listening for HTTP. */
export interface ListeningSubgraph {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts a subgraph server on a port (0 for a free one). Every request must carry the gateway's
 * credential: without a valid one it is refused with 401 before any resolver or database command
 * runs (`_service` and `_entities` included). `context` builds the request's context from the identity.
 */
export async function listenSubgraph<C extends BaseContext>(
  server: ApolloServer<C>,
  options: { port: number; host?: string; verify: (token: string | undefined) => Promise<Identity | undefined>; context: (identity: Identity) => C },
): Promise<ListeningSubgraph> {
  const context: ContextFunction<[StandaloneServerContextFunctionArgument], C> = async ({ req }) => {
    const header = req.headers[CREDENTIAL_HEADER];
    const identity = await options.verify(typeof header === 'string' ? header : undefined);
    if (!identity) {
      throw new GraphQLError('This subgraph answers only the gateway', {
        extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
      });
    }
    return options.context(identity);
  };
  const { url } = await startStandaloneServer(server, {
    listen: { port: options.port, host: options.host ?? '127.0.0.1' },
    context,
  });
  const port = Number(new URL(url).port);
  return { url: `http://${options.host ?? '127.0.0.1'}:${port}/graphql`, port, stop: () => server.stop() };
}

/** Stops a subgraph on SIGINT/SIGTERM: drains the server, then runs `cleanup` (close the database). */
export function stopOnSignals(name: string, stop: () => Promise<void>): void {
  const handler = (signal: string): void => {
    process.stderr.write(`${JSON.stringify({ level: 'info', subgraph: name, msg: `${signal}: shutting down` })}\n`);
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => handler('SIGINT'));
  process.once('SIGTERM', () => handler('SIGTERM'));
}
