import { readFileSync } from 'node:fs';
import { type ListeningGateway, createGatewayServer, listenGateway, memoryLogger } from '@partnerskap/gateway';
import { publicContract } from '@partnerskap/gateway/contract';
import { type GraphQLObjectType, type IntrospectionQuery, buildClientSchema, getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHQL_17_INTROSPECTION_QUERY, GRAPHQL_17_INTROSPECTION_QUERY_ALL_OPTIONS } from '@partnerskap/gateway/introspection-queries';

// Downloading the schema as Apollo Sandbox, GraphiQL, Postman and graphql-codegen do: the standard
// introspection query (15 deep) passes the limits in development, graphql-js's own depth rule
// still refuses introspection nested to abuse it, and production refuses introspection at all.
// Nothing here needs a subgraph: the gateways run over the committed supergraph with none reachable.
const NAMES = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
const gateways = {} as Record<'production' | 'development', ListeningGateway>;

beforeAll(async () => {
  for (const mode of ['production', 'development'] as const) {
    const gateway = createGatewayServer({
      supergraphSdl: readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'),
      subgraphUrls: Object.fromEntries(NAMES.map((n) => [n, 'http://127.0.0.1:9/graphql'])),
      development: mode === 'development',
      // A token (any) is the directorate's; none is the public, served the public contract (gateway/src/contract.ts).
      authenticate: async (authorization) => (authorization ? { role: 'directorate' } : { role: 'public' }),
      secrets: Object.fromEntries(NAMES.map((n) => [n, 'x'.repeat(32)])),
      logger: memoryLogger(),
      rateLimits: { publicPerMinute: 100_000, partnerPerMinute: 100_000 },
      subgraphCalls: { timeoutMs: 300, connections: 2 },
    });
    gateways[mode] = await listenGateway(gateway, { port: 0 });
  }
}, 60_000);
afterAll(async () => {
  await Promise.all(Object.values(gateways).map((g) => g.stop()));
});

interface Answer {
  status: number;
  data?: Record<string, any> | null;
  errors?: { message: string; extensions: { code: string; limit?: string } }[];
}

async function post(mode: keyof typeof gateways, query: string, token?: string): Promise<Answer> {
  const headers = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const res = await fetch(gateways[mode].url, { method: 'POST', headers, body: JSON.stringify({ query }) });
  return { status: res.status, ...((await res.json()) as Omit<Answer, 'status'>) };
}

const everyOption = {
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
};
/** graphql 17's query at its largest `typeDepth` (100): TypeRef's `ofType` nested 100 times. */
const ofType = (level: number): string => (level === 0 ? '' : `ofType { name kind ${ofType(level - 1)} }`);
const STANDARD = {
  'graphql 16 getIntrospectionQuery()': getIntrospectionQuery(),
  'graphql 16 getIntrospectionQuery() with every option': getIntrospectionQuery(everyOption),
  'graphql 17 getIntrospectionQuery()': GRAPHQL_17_INTROSPECTION_QUERY,
  'graphql 17 getIntrospectionQuery() with every option': GRAPHQL_17_INTROSPECTION_QUERY_ALL_OPTIONS,
  'graphql 17 with typeDepth 100': GRAPHQL_17_INTROSPECTION_QUERY_ALL_OPTIONS.replace(
    /fragment TypeRef on __Type \{[^]*$/,
    `fragment TypeRef on __Type { kind name ${ofType(100)} }`,
  ),
};

describe('the standard introspection query', () => {
  it.each(Object.entries(STANDARD))('%s is answered in development, a schema a client can build', async (_, query) => {
    const res = await post('development', query, 'partner');
    expect(res.errors).toBeUndefined();
    expect(res.status).toBe(200);
    const schema = buildClientSchema(res.data as unknown as IntrospectionQuery);
    expect(Object.keys(schema.getQueryType()!.getFields())).toEqual(expect.arrayContaining(['subjects', 'studies', 'insights']));
    expect(schema.getMutationType()?.name).toBe('Mutation');
  });

  it('answers isOneOf (asked with every option) from graphql-js, not the query planner', async () => {
    const res = await post('development', STANDARD['graphql 16 getIntrospectionQuery() with every option']);
    const types = res.data!.__schema.types as { name: string; kind: string; isOneOf: boolean | null }[];
    expect(types.filter((t) => t.kind === 'INPUT_OBJECT').every((t) => typeof t.isOneOf === 'boolean')).toBe(true);
  });

  it.each(Object.entries(STANDARD))("%s is refused in production by Apollo's validation", async (_, query) => {
    const res = await post('production', query);
    expect(res.status).toBe(400);
    expect(res.errors!.map((e) => e.extensions.code)).toEqual(expect.arrayContaining(['GRAPHQL_VALIDATION_FAILED']));
    expect(res.data).toBeUndefined();
  });
});

describe('introspection nested to abuse it', () => {
  // graphql-js's MaxIntrospectionDepthRule (in specifiedRules, so in Apollo's validation): at most
  // two of fields/interfaces/possibleTypes/inputFields nested, however they are reached.
  const fields = (levels: number): string => (levels === 0 ? 'name' : `fields { type { ${fields(levels - 1)} } }`);
  const deep = {
    'fields { type { fields { type { fields ... nested 3 deep': `{ __schema { types { ${fields(3)} } } }`,
    'the same nested 40 deep': `{ __schema { types { ${fields(40)} } } }`,
    'the same under __type': `{ __type(name: "Study") { ${fields(3)} } }`,
    'interfaces, possibleTypes and inputFields':
      '{ __schema { types { possibleTypes { interfaces { possibleTypes { name } } } inputFields { type { inputFields { name } } } } } }',
    'through a chain of fragments': [
      '{ __schema { types { ...T0 } } }',
      ...Array.from({ length: 6 }, (_, i) => `fragment T${i} on __Type { fields { type { ...T${i + 1} } } }`),
      'fragment T6 on __Type { name }',
    ].join('\n'),
  };
  it.each(Object.entries(deep))("%s: refused in development by graphql-js's depth rule, 400", async (_, query) => {
    const res = await post('development', query);
    expect(res.status).toBe(400);
    expect(res.errors).toEqual([
      expect.objectContaining({ message: 'Maximum introspection depth exceeded', extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) }),
    ]);
  });

  it('a fragment cycle through the introspection types is refused by validation', async () => {
    const res = await post('development', '{ __schema { types { ...T } } } fragment T on __Type { fields { type { ...T } } }');
    expect(res.status).toBe(400);
    expect(res.errors!.map((e) => e.extensions.code)).toContain('GRAPHQL_VALIDATION_FAILED');
  });

  it('a doubling chain of fragments under __schema is refused by the limits in milliseconds', async () => {
    const links = 30;
    const query = [
      '{ __schema { types { ...F0 } } }',
      ...Array.from({ length: links }, (_, i) => `fragment F${i} on __Type { ...F${i + 1} ...F${i + 1} }`),
      `fragment F${links} on __Type { name }`,
    ].join('\n');
    await post('development', '{ __typename }');
    const started = performance.now();
    const res = await post('development', query);
    expect(performance.now() - started).toBeLessThan(500);
    expect(res.status).toBe(400);
    expect(res.errors!.map((e) => e.extensions)).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', limit: 'fields' })]);
  });

  it('introspection beside fields of the graph leaves their depth limit as it was', async () => {
    // teacher → applications → teacher → ... nested 11 deep (the limit is 10), as hardening.e2e.test.ts does.
    let inner = 'id';
    for (let d = 10; d >= 2; d--) inner = `${d % 2 === 0 ? 'applications' : 'teacher'} { ${inner} }`;
    const res = await post('development', `{ __schema { queryType { name } } teacher(id: "t-none") { ${inner} } }`, 'partner');
    expect(res.status).toBe(400);
    expect(res.errors!.map((e) => e.extensions)).toEqual([expect.objectContaining({ code: 'LIMIT_EXCEEDED', limit: 'depth' })]);
  });
});

describe('the public contract: what a caller without a token sees', () => {
  const contract = publicContract(readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'))!;
  const typesOf = (res: Answer) => buildClientSchema(res.data as unknown as IntrospectionQuery).getTypeMap();

  it('introspects the public contract without a token, no personal type in it; the whole API schema with one', async () => {
    const [anonymous, partner] = await Promise.all([post('development', getIntrospectionQuery()), post('development', getIntrospectionQuery(), 'partner')]);
    const publicTypes = typesOf(anonymous);
    expect(Object.keys(publicTypes).sort()).toEqual(Object.keys(contract.apiSchema.getTypeMap()).sort());
    for (const personal of ['Application', 'Teacher', 'Feedback', 'AuditEntry', 'Mutation']) expect(publicTypes[personal], personal).toBeUndefined();
    expect(Object.keys((publicTypes.Study as GraphQLObjectType).getFields())).not.toContain('feedback');
    expect(typesOf(partner).Application).toBeDefined();
  });

  it('refuses a field the contract lacks with 401 before planning; answers __type from the contract; refuses introspection beside fields', async () => {
    const lacking = await post('development', '{ studies(first: 1) { edges { node { id feedback { totalCount } } } } }');
    expect(lacking.status).toBe(401);
    expect(lacking.errors!.map((e) => [e.extensions.code, e.message])).toEqual([
      ['UNAUTHENTICATED', expect.stringMatching(/the public schema \(callers without a token\) lacks: Study\.feedback, FeedbackConnection\.totalCount\./)],
    ]);
    // The same in production, where no schema detail is suggested.
    expect((await post('production', '{ application(id: "a-1") { id } }')).errors!.map((e) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
    expect((await post('development', '{ __type(name: "Application") { name } }')).data).toEqual({ __type: null });
    expect((await post('development', '{ __type(name: "Application") { name } }', 'partner')).data).toEqual({ __type: { name: 'Application' } });
    const mixed = await post('development', '{ __schema { types { name } } subjects { code } }');
    expect([mixed.status, mixed.errors!.map((e) => e.extensions.code), mixed.data]).toEqual([400, ['GRAPHQL_VALIDATION_FAILED'], undefined]);
  });
});
