import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginLandingPageLocalDefault,
  ApolloServerPluginLandingPageProductionDefault,
} from '@apollo/server/plugin/landingPage/default';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { type GraphQLFormattedError } from 'graphql';

/** Codes a client may see as they are: ours (from the subgraphs) and Apollo's request errors. */
const SHOWN_CODES = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** Options of {@link createGatewayServer}. */
export interface GatewayServerOptions {
  supergraphSdl: string;
  /** Subgraph URLs by name, replacing the composed ones (tests use free ports). */
  subgraphUrls?: Readonly<Record<string, string>>;
  development: boolean;
  /** Where masked errors are logged; default one JSON line on stderr. */
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * Builds the gateway: an Apollo Gateway over the committed supergraph (composition happened
 * before deploy, so it starts even when a subgraph is down), with Sandbox in development only
 * and every unknown error masked.
 */
export function createGatewayServer(options: GatewayServerOptions): ApolloServer {
  const log = options.log ?? ((entry) => process.stderr.write(`${JSON.stringify(entry)}\n`));
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) => {
      const target = options.subgraphUrls?.[name] ?? url;
      if (!target) throw new Error(`the supergraph names no URL for subgraph ${name}`);
      return new RemoteGraphQLDataSource({ url: target });
    },
  });
  return new ApolloServer({
    gateway,
    includeStacktraceInErrorResponses: false,
    plugins: [
      options.development
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true })
        : ApolloServerPluginLandingPageProductionDefault({ footer: false }),
    ],
    introspection: options.development,
    formatError: (formatted: GraphQLFormattedError): GraphQLFormattedError => {
      const code = formatted.extensions?.code;
      if (typeof code === 'string' && SHOWN_CODES.has(code)) {
        const { stacktrace: _s, response: _r, ...extensions } = formatted.extensions ?? {};
        return { ...formatted, extensions };
      }
      log({ level: 'error', msg: formatted.message, path: formatted.path, extensions: formatted.extensions });
      return {
        message: 'Internal server error',
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      };
    },
  });
}

/** A gateway listening for HTTP. */
export interface ListeningGateway {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts the gateway on a port (0 for a free one). */
export async function listenGateway(server: ApolloServer, options: { port: number; host?: string }): Promise<ListeningGateway> {
  const host = options.host ?? '127.0.0.1';
  const { url } = await startStandaloneServer(server, { listen: { port: options.port, host } });
  const port = Number(new URL(url).port);
  return { url: `http://${host}:${port}/`, port, stop: () => server.stop() };
}
