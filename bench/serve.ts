/**
 * One gateway of the bench, in a process of its own: `ours` (as in production: identity, limits,
 * masking, rate limits set above the bench's load), `ours-cache` (the same with the response
 * cache on), `stock` (an `ApolloGateway` in `@apollo/server` with default settings) or `hive`
 * (Hive Gateway's runtime). Each peer is deployed as it would be in front of our subgraphs: it
 * verifies the caller's token (the bench sends every target the same rotating callers) and sends
 * each subgraph a credential for that caller, through the smallest hook it offers; so no peer can
 * merge or share fetches of different callers, as ours never does. Reads BENCH_URLS and
 * BENCH_JWKS; prints `{"port":N}`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { CREDENTIAL_HEADER, type Identity, createCredentialSigner } from '@partnerskap/common';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createAuthenticator, createGatewayServer, createLogger, listenGateway, loadableSupergraph } from '@partnerskap/gateway';
import { BENCH_SECRETS } from './workload.js';

const kind = process.argv[2];
const urls = JSON.parse(process.env.BENCH_URLS!) as Record<keyof typeof BENCH_SECRETS, string>;
const sdl = readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8');
const signers = Object.fromEntries(Object.entries(BENCH_SECRETS).map(([name, secret]) => [name, createCredentialSigner(name, secret)]));
const jwks = createLocalJWKSet(JSON.parse(process.env.BENCH_JWKS!) as Parameters<typeof createLocalJWKSet>[0]);
const PUBLIC_CALLER: Identity = { role: 'public' };
/** Each distinct token verified once (as ours caches verified tokens), its caller after. */
const callers = new Map<string, Promise<Identity>>();
const callerOf = (authorization: string | null | undefined): Promise<Identity> => {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
  if (!token) return Promise.resolve(PUBLIC_CALLER);
  let caller = callers.get(token);
  if (!caller) {
    caller = jwtVerify(token, jwks, { issuer: 'bench', audience: 'bench' }).then(({ payload }) => ({
      role: String(payload.role) as Identity['role'],
      ...(typeof payload.org === 'string' ? { org: payload.org } : {}),
    }));
    callers.set(token, caller);
  }
  return caller;
};

let port: number;
if (kind === 'ours' || kind === 'ours-cache') {
  const gateway = createGatewayServer({
    supergraphSdl: sdl,
    subgraphUrls: urls,
    development: false,
    authenticate: createAuthenticator({ jwks: JSON.parse(process.env.BENCH_JWKS!), issuer: 'bench', audience: 'bench' }),
    secrets: BENCH_SECRETS,
    rateLimits: { partnerPerMinute: 10_000_000, publicPerMinute: 10_000_000, publicCostPerMinute: 1_000_000_000 },
    responseCacheTtlSeconds: kind === 'ours-cache' ? 10 : 0,
    // Every target gets the same workload, free-form documents from partners' tokens: nobody is held to the registry.
    trustedDocuments: { roles: [] },
    metrics: true,
    logger: createLogger('silent'),
  });
  port = (await listenGateway(gateway, { port: 0 })).port;
} else if (kind === 'stock') {
  // The smallest hooks: the context verifies the caller's token, willSendRequest adds that caller's credential; the rest is Apollo's default.
  class WithCredential extends RemoteGraphQLDataSource<{ caller: Identity }> {
    override async willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<{ caller: Identity }>['willSendRequest']>>[0]) {
      request.http?.headers.set(CREDENTIAL_HEADER, await signers[this.name]!(context.caller ?? PUBLIC_CALLER));
    }
    constructor(
      readonly name: string,
      url: string,
    ) {
      super({ url });
    }
  }
  const server = new ApolloServer({
    gateway: new ApolloGateway({
      supergraphSdl: loadableSupergraph(sdl),
      buildService: ({ name }) => new WithCredential(name, urls[name as keyof typeof urls]),
    }),
  });
  const listening = await startStandaloneServer(server, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => ({ caller: await callerOf(req.headers.authorization) }),
  });
  port = Number(new URL(listening.url).port);
} else if (kind === 'hive') {
  delete process.env.LOG_LEVEL; // Hive's logger refuses our `silent`; `logging: false` quiets it
  const withUrls = sdl.replace(
    /url: "http:\/\/127\.0\.0\.1:400(\d)\/graphql"/g,
    (_, n: string) => `url: "${urls[(['', 'catalogue', 'admissions', 'plans', 'feedback'] as const)[Number(n)] as keyof typeof urls]}"`,
  );
  const runtime = createGatewayRuntime({
    supergraph: withUrls,
    logging: false,
    // Hive's headers hook verifies the caller's token and adds that caller's credential for the subgraph.
    propagateHeaders: {
      fromClientToSubgraphs: async ({ request, subgraphName }) => ({
        [CREDENTIAL_HEADER]: await signers[subgraphName]!(await callerOf(request.headers.get('authorization'))),
      }),
    },
  });
  const http = createServer(runtime);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  port = (http.address() as { port: number }).port;
} else {
  throw new Error(`unknown gateway kind ${kind}`);
}
process.stdout.write(`${JSON.stringify({ port, path: kind === 'hive' ? '/graphql' : '/' })}\n`);
process.once('SIGTERM', () => process.exit(0));
