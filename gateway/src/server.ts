import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginLandingPageLocalDefault,
  ApolloServerPluginLandingPageProductionDefault,
} from '@apollo/server/plugin/landingPage/default';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway } from '@apollo/gateway';
import { type Authenticator, withServiceTokens } from './auth.js';
import { CredentialDataSource, type GatewayContext } from './data-source.js';
import { useGuards } from './plugins/use-guards.js';
import { loadableSupergraph } from './supergraph.js';
import { type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '@partnerskap/kit';

/** Codes a client may see as they are: ours (from the subgraphs, kit's list) and Apollo's request errors. */
const SHOWN_CODES = new Set<string>([
  ...Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR),
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
  /** Verifies the client's token. */
  authenticate: Authenticator;
  /** The secret shared with each subgraph. */
  secrets: Readonly<Record<string, string>>;
  /** Where masked errors are logged; default one JSON line on stderr. */
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * Builds the gateway: an Apollo Gateway over the committed supergraph (composition happened
 * before deploy, so it starts even when a subgraph is down), with Sandbox in development only
 * and every unknown error masked.
 */
export function createGatewayServer(options: GatewayServerOptions): GatewayServer {
  const log = options.log ?? ((entry) => process.stderr.write(`${JSON.stringify(entry)}\n`));
  const gateway = new ApolloGateway({
    supergraphSdl: loadableSupergraph(options.supergraphSdl),
    buildService: ({ name, url }) => {
      const target = options.subgraphUrls?.[name] ?? url;
      if (!target) throw new Error(`the supergraph names no URL for subgraph ${name}`);
      const secret = options.secrets[name];
      if (!secret) throw new Error(`no gateway secret for subgraph ${name}`);
      return new CredentialDataSource({ name, url: target, secret });
    },
  });
  const server = new ApolloServer<GatewayContext>({
    gateway,
    includeStacktraceInErrorResponses: false,
    plugins: [
      useGuards({ supergraphSdl: options.supergraphSdl }),
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
  const authenticate = withServiceTokens(options.authenticate, options.secrets);
  return { server, context: async (authorization) => ({ identity: await authenticate(authorization) }) };
}

/** The gateway's Apollo Server and how it builds each request's context. */
export interface GatewayServer {
  server: ApolloServer<GatewayContext>;
  context: (authorization: string | undefined) => Promise<GatewayContext>;
}

/** A gateway listening for HTTP. */
export interface ListeningGateway {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts the gateway on a port (0 for a free one). */
export async function listenGateway(gateway: GatewayServer, options: { port: number; host?: string }): Promise<ListeningGateway> {
  const host = options.host ?? '127.0.0.1';
  const { url } = await startStandaloneServer(gateway.server, {
    listen: { port: options.port, host },
    context: ({ req }) => gateway.context(req.headers.authorization),
  });
  const port = Number(new URL(url).port);
  return { url: `http://${host}:${port}/`, port, stop: () => gateway.server.stop() };
}
