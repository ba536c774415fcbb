/**
 * One gateway of the bench, in a process of its own: `ours` (as in production: identity, limits,
 * masking, rate limits set above the bench's load), `ours-cache` (the same with the response
 * cache on), `stock` (an `ApolloGateway` in `@apollo/server` with default settings) or `hive`
 * (Hive Gateway's runtime). The peers get the credential our subgraphs demand through the
 * smallest hook they offer, nothing else. Reads BENCH_URLS and BENCH_JWKS; prints `{"port":N}`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { CREDENTIAL_HEADER, createCredentialSigner } from '@partnerskap/kit';
import { createAuthenticator, createGatewayServer, createLogger, listenGateway } from '@partnerskap/gateway';
import { loadableSupergraph } from '../src/supergraph.js';
import { BENCH_SECRETS } from './workload.js';

const kind = process.argv[2];
const urls = JSON.parse(process.env.BENCH_URLS!) as Record<keyof typeof BENCH_SECRETS, string>;
const sdl = readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8');
const DIRECTORATE = { role: 'directorate' } as const;
const signers = Object.fromEntries(Object.entries(BENCH_SECRETS).map(([name, secret]) => [name, createCredentialSigner(name, secret)]));

let port: number;
if (kind === 'ours' || kind === 'ours-cache') {
  const gateway = createGatewayServer({
    supergraphSdl: sdl,
    subgraphUrls: urls,
    development: false,
    authenticate: createAuthenticator({ jwks: JSON.parse(process.env.BENCH_JWKS!), issuer: 'bench', audience: 'bench' }),
    secrets: BENCH_SECRETS,
    rateLimits: { partnerPerMinute: 10_000_000, publicPerMinute: 10_000_000 },
    responseCacheTtlSeconds: kind === 'ours-cache' ? 10 : 0,
    metrics: true,
    logger: createLogger('silent'),
  });
  port = (await listenGateway(gateway, { port: 0 })).port;
} else if (kind === 'stock') {
  // The smallest hook: willSendRequest adds the credential; everything else is Apollo's default.
  class WithCredential extends RemoteGraphQLDataSource {
    override async willSendRequest({ request }: Parameters<NonNullable<RemoteGraphQLDataSource['willSendRequest']>>[0]) {
      request.http?.headers.set(CREDENTIAL_HEADER, await signers[this.name]!(DIRECTORATE));
    }
    constructor(readonly name: string, url: string) {
      super({ url });
    }
  }
  const server = new ApolloServer({
    gateway: new ApolloGateway({ supergraphSdl: loadableSupergraph(sdl), buildService: ({ name }) => new WithCredential(name, urls[name as keyof typeof urls]) }),
  });
  port = Number(new URL((await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } })).url).port);
} else if (kind === 'hive') {
  delete process.env.LOG_LEVEL; // Hive's logger refuses our `silent`; `logging: false` quiets it
  // Hive's headers hook adds each subgraph's credential (refreshed: they live five minutes).
  const credentials: Record<string, string> = {};
  const refresh = async () => {
    for (const name of Object.keys(BENCH_SECRETS)) credentials[name] = await signers[name]!(DIRECTORATE);
  };
  await refresh();
  setInterval(() => void refresh(), 30_000).unref();
  const withUrls = sdl.replace(/url: "http:\/\/127\.0\.0\.1:400(\d)\/graphql"/g, (_, n: string) => `url: "${urls[(['', 'catalogue', 'admissions', 'plans', 'feedback'] as const)[Number(n)] as keyof typeof urls]}"`);
  const runtime = createGatewayRuntime({
    supergraph: withUrls,
    logging: false,
    propagateHeaders: { fromClientToSubgraphs: ({ subgraphName }) => ({ [CREDENTIAL_HEADER]: credentials[subgraphName]! }) },
  });
  const http = createServer(runtime);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  port = (http.address() as { port: number }).port;
} else {
  throw new Error(`unknown gateway kind ${kind}`);
}
process.stdout.write(`${JSON.stringify({ port, path: kind === 'hive' ? '/graphql' : '/' })}\n`);
process.once('SIGTERM', () => process.exit(0));
