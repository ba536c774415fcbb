import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, ServerError, gql } from '@apollo/client';
import { ApolloServer } from '@apollo/server';
import { DEFAULT_LIMITS, type ListeningGateway, createGatewayServer, listenGateway, memoryLogger } from '@partnerskap/gateway';
import { type ListeningService, serveGraphQL } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// Every refusal a browser client can get, through Apollo Client 4 as a partner's frontend uses it:
// each must arrive as CombinedGraphQLErrors with errors[].extensions.code, never as a ServerError
// whose code is only inside bodyText. Apollo Client's HttpLink (parseAndCheckHttpResponse) reads a
// body as GraphQL whatever the status when its content type is application/graphql-response+json
// (which its default Accept asks for); an application/json body with a status of 300 or more is a
// ServerError. So the gateway answers every refusal in that media type when Accept prefers it.
//
// A 503 on the GraphQL path cannot be provoked: the gateway listens only once its supergraph is
// loaded (one that cannot be read stops the start), and while it stops it refuses new connections
// and answers the requests in flight; only /ready answers 503, to probes, in its own JSON shape.
// A subgraph that is down is no refusal: HTTP 200 with the other subgraphs' data.
const BODY_LIMIT = 4000;
const PUBLIC_PER_MINUTE = 2;
let h: Harness;
let limited: ListeningGateway;
let failing: ListeningService;

beforeAll(async () => {
  h = await startHarness({ seedProjections: false, gateway: { limits: { ...DEFAULT_LIMITS, bodyBytes: BODY_LIMIT } } });
  // A gateway of its own for the rate limit (the harness's is set far above this file's load), over
  // subgraphs that are never reached: a request over the limit is refused before planning.
  const free = createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const closed = (free.address() as AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  const names = Object.keys(h.secrets);
  limited = await listenGateway(
    createGatewayServer({
      supergraphSdl: readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'),
      subgraphUrls: Object.fromEntries(names.map((n) => [n, `http://127.0.0.1:${closed}/graphql`])),
      development: false,
      authenticate: async () => ({ role: 'public' }),
      secrets: Object.fromEntries(names.map((n) => [n, 'x'.repeat(32)])),
      logger: memoryLogger(),
      rateLimits: { publicPerMinute: PUBLIC_PER_MINUTE, partnerPerMinute: 1000, publicCostPerMinute: 1_000_000 },
    }),
    { port: 0 },
  );
  // The HTTP layer failing (here: its admit hook throws) is the one 500 outside Apollo's pipeline.
  failing = await serveGraphQL({
    server: new ApolloServer({ typeDefs: 'type Query { hello: String }' }),
    port: 0,
    path: '/graphql',
    admit: async () => {
      throw new Error('the identity provider is down');
    },
    ready: async () => ({ server: true }),
    log: () => undefined,
  });
}, 120_000);
afterAll(async () => {
  await failing?.stop({ graceMs: 0 });
  await limited?.stop({ graceMs: 0 });
  await h?.close();
});

/** An Apollo Client 4 as a frontend builds it (HttpLink with its default Accept), optionally with a token, other headers or a fetch of its own. */
function client(uri: string, options: { token?: string; headers?: Record<string, string>; fetch?: typeof fetch } = {}) {
  return new ApolloClient({
    link: new HttpLink({
      uri,
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
    cache: new InMemoryCache(),
  });
}

/** The error a query is refused with (it must be refused). */
async function refusal(c: ApolloClient, query: string, variables: Record<string, unknown> = {}): Promise<unknown> {
  try {
    await c.query({ query: gql(query), variables, fetchPolicy: 'no-cache' });
  } catch (error) {
    return error;
  }
  throw new Error(`not refused: ${query}`);
}

/** The codes of a refusal, asserting it is CombinedGraphQLErrors (a ServerError's class name shows otherwise). */
function codesOf(error: unknown): unknown[] {
  expect(CombinedGraphQLErrors.is(error), `${(error as Error)?.name}: ${(error as Error)?.message}`).toBe(true);
  return (error as CombinedGraphQLErrors).errors.map((e) => e.extensions?.code);
}

/** The HTTP status, content type and the headers a refusal must keep, for a raw request like Apollo Client's. */
async function raw(uri: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(uri, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json,application/json;q=0.9', ...headers },
    body,
  });
  await res.arrayBuffer();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    wwwAuthenticate: res.headers.get('www-authenticate'),
    retryAfter: res.headers.get('retry-after'),
  };
}
const GRAPHQL_RESPONSE = 'application/graphql-response+json; charset=utf-8';

describe('Apollo Client 4 gets every refusal as CombinedGraphQLErrors with extensions.code', () => {
  it('401 for a bad token (refused before GraphQL runs), with WWW-Authenticate', async () => {
    const error = await refusal(client(h.gateway.url, { token: 'not-a-token' }), '{ subjects { code } }');
    expect(codesOf(error)).toEqual(['UNAUTHENTICATED']);
    expect(await raw(h.gateway.url, '{"query":"{ subjects { code } }"}', { authorization: 'Bearer not-a-token' })).toMatchObject({
      status: 401,
      type: GRAPHQL_RESPONSE,
      wwwAuthenticate: 'Bearer',
    });
  });

  it('401 for a guarded field asked without a token (refused by the guards)', async () => {
    const error = await refusal(client(h.gateway.url), '{ applications(first: 1) { totalCount } }');
    expect(codesOf(error)).toEqual(['UNAUTHENTICATED']);
  });

  it('403 for a guarded field as the wrong role (an owner asking for raw comments)', async () => {
    const token = await h.token({ role: 'school-owner', org: '0301' });
    const query = '{ study(id: "K2MAT51001-2023") { feedback(first: 1) { totalCount } } }';
    expect(codesOf(await refusal(client(h.gateway.url, { token }), query))).toEqual(['FORBIDDEN']);
    expect(await raw(h.gateway.url, JSON.stringify({ query }), { authorization: `Bearer ${token}` })).toMatchObject({ status: 403, type: GRAPHQL_RESPONSE });
  });

  it('413 for a body over the limit', async () => {
    const variables = { search: 'x'.repeat(BODY_LIMIT) };
    const error = await refusal(
      client(h.gateway.url),
      'query Big($search: String) { studies(first: 1, filter: { search: $search }) { totalCount } }',
      variables,
    );
    expect(codesOf(error)).toEqual(['LIMIT_EXCEEDED']);
    expect((error as CombinedGraphQLErrors).errors[0]!.extensions).toMatchObject({ limit: 'body' });
    expect((await raw(h.gateway.url, JSON.stringify({ query: '{ __typename }', variables }))).status).toBe(413);
  });

  it('429 over the rate limit, with Retry-After', async () => {
    const c = client(limited.url);
    for (let i = 0; i < PUBLIC_PER_MINUTE; i++)
      expect((await c.query({ query: gql('{ __typename }'), fetchPolicy: 'no-cache' })).data).toEqual({ __typename: 'Query' });
    expect(codesOf(await refusal(c, '{ __typename }'))).toEqual(['RATE_LIMITED']);
    const res = await raw(limited.url, '{"query":"{ __typename }"}');
    expect(res).toMatchObject({ status: 429, type: GRAPHQL_RESPONSE });
    expect(Number(res.retryAfter)).toBeGreaterThan(0);
  });

  it('400 for a validation error and for a malformed request', async () => {
    expect(codesOf(await refusal(client(h.gateway.url), '{ nosuchfield }'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    // A body cut short on the way (a broken proxy; Apollo Client itself always sends JSON).
    const cut: typeof fetch = (input, init) => fetch(input, { ...init, body: String(init?.body).slice(0, 10) });
    expect(codesOf(await refusal(client(h.gateway.url, { fetch: cut }), '{ subjects { code } }'))).toEqual(['BAD_REQUEST']);
    // An operationName the document does not have: Apollo's pipeline, our plugin.
    const renamed: typeof fetch = (input, init) =>
      fetch(input, { ...init, body: JSON.stringify({ ...JSON.parse(String(init?.body)), operationName: 'Other' }) });
    expect(codesOf(await refusal(client(h.gateway.url, { fetch: renamed }), 'query Mine { subjects { code } }'))).toEqual(['BAD_REQUEST']);
    expect((await raw(h.gateway.url, '{"query":')).status).toBe(400);
  });

  it('500 when the HTTP layer fails', async () => {
    expect(codesOf(await refusal(client(failing.url), '{ hello }'))).toEqual(['INTERNAL_SERVER_ERROR']);
    expect((await raw(failing.url, '{"query":"{ hello }"}')).status).toBe(500);
  });

  it('a subgraph that is down: HTTP 200, the other data and SUBGRAPH_UNAVAILABLE, with errorPolicy "all"', async () => {
    await h.stopSubgraph('admissions');
    try {
      const result = await client(h.gateway.url).query({
        query: gql('{ subjects { code } institution(orgNumber: "971035854") { name } }'),
        errorPolicy: 'all',
        fetchPolicy: 'no-cache',
      });
      expect((result.data as { subjects: unknown[] }).subjects.length).toBeGreaterThan(0);
      expect((result.data as { institution: unknown }).institution).toBeNull();
      expect(codesOf(result.error)).toEqual(['SUBGRAPH_UNAVAILABLE']);
    } finally {
      await h.restartSubgraph('admissions');
    }
  });

  it('onError through the fetch of docs/frontend.md: HALT drops the partial data, NULL keeps it, a wrong value is BAD_REQUEST', async () => {
    // As docs/frontend.md shows it: Apollo Client's HttpLink sends only query, variables,
    // operationName and extensions, so a fetch of its own adds the request parameter.
    const withOnError =
      (onError: 'NULL' | 'HALT' | 'PROPAGATE'): typeof fetch =>
      (input, init) =>
        fetch(input, typeof init?.body === 'string' ? { ...init, body: JSON.stringify({ ...JSON.parse(init.body), onError }) } : init);
    const query = gql('{ subjects { code } institution(orgNumber: "971035854") { name } }');
    await h.stopSubgraph('admissions');
    try {
      const halted = await client(h.gateway.url, { fetch: withOnError('HALT') }).query({ query, errorPolicy: 'all', fetchPolicy: 'no-cache' });
      expect(halted.data ?? null).toBeNull();
      expect(codesOf(halted.error)).toEqual(['SUBGRAPH_UNAVAILABLE']);
      const kept = await client(h.gateway.url, { fetch: withOnError('NULL') }).query({ query, errorPolicy: 'all', fetchPolicy: 'no-cache' });
      expect((kept.data as { subjects: unknown[] }).subjects.length).toBeGreaterThan(0);
      expect(codesOf(kept.error)).toEqual(['SUBGRAPH_UNAVAILABLE']);
    } finally {
      await h.restartSubgraph('admissions');
    }
    const wrong = await refusal(client(h.gateway.url, { fetch: withOnError('ABORT' as 'HALT') }), '{ subjects { code } }');
    expect(codesOf(wrong)).toEqual(['BAD_REQUEST']);
  });

  it('a client that asks for application/json only gets it, and Apollo Client then sees a ServerError (why the media type matters)', async () => {
    const error = await refusal(client(h.gateway.url, { token: 'not-a-token', headers: { accept: 'application/json' } }), '{ subjects { code } }');
    expect(ServerError.is(error)).toBe(true);
    expect((error as ServerError).statusCode).toBe(401);
    expect(JSON.parse((error as ServerError).bodyText).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
