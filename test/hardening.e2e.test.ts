import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { DEFAULT_LIMITS, createCostEstimator, createGatewayServer, listenGateway, memoryLogger } from '@partnerskap/gateway';
import { Lexer, Source, TokenKind, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { type SubgraphProxy, startProxy } from './proxy.js';

// The gateway's limits, masking and faults, with a counting proxy in front of every subgraph:
// an operation over a limit must never reach one.
const NAMES = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
const TIMEOUT_MS = 800;
let h: Harness;
const proxies = {} as Record<(typeof NAMES)[number], SubgraphProxy>;
const reached = () => NAMES.reduce((n, name) => n + proxies[name].count, 0);
const resetProxies = () => NAMES.forEach((n) => proxies[n].reset());
let udir = '';

beforeAll(async () => {
  for (const name of NAMES) proxies[name] = await startProxy();
  h = await startHarness({
    subgraphUrl: (name, url) => {
      const proxy = proxies[name as (typeof NAMES)[number]];
      proxy.target = url;
      return proxy.url;
    },
    gateway: { subgraphCalls: { timeoutMs: TIMEOUT_MS, connections: 16 } },
  });
  udir = await h.token({ role: 'directorate' });
}, 120_000);
afterAll(async () => {
  await h?.close();
  for (const name of NAMES) await proxies[name]?.close();
});

/** Sends an operation as the directorate and says how many subgraph requests it caused. */
async function run(query: string, variables: Record<string, unknown> = {}) {
  resetProxies();
  const res = await h.query<any>(query, variables, { token: udir });
  return { res, reached: reached() };
}
const codes = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.map((e) => e.extensions?.code) ?? [];

describe('limits, at the limit and one past it (the one past never reaches a subgraph)', () => {
  /** `teacher → applications → teacher → ...` nested to exactly `depth` (a leaf field counts). */
  const deep = (depth: number) => {
    let inner = 'id';
    for (let d = depth - 1; d >= 2; d--) inner = `${d % 2 === 0 ? 'applications' : 'teacher'} { ${inner} }`;
    return `{ teacher(id: "t-none") { ${inner} } }`;
  };

  it('depth', async () => {
    const at = await run(deep(DEFAULT_LIMITS.depth));
    expect(codes(at.res)).not.toContain('LIMIT_EXCEEDED');
    const past = await run(deep(DEFAULT_LIMITS.depth + 1));
    expect(past.res.status).toBe(400);
    expect(past.res.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'depth' });
    expect(past.reached).toBe(0);
  });

  it('aliases', async () => {
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `s${i}: subjects { code }`).join(' ')} }`;
    const at = await run(aliased(DEFAULT_LIMITS.aliases));
    expect(at.res.errors).toBeUndefined();
    expect(at.reached).toBeGreaterThan(0);
    const past = await run(aliased(DEFAULT_LIMITS.aliases + 1));
    expect(past.res.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'aliases' });
    expect(past.reached).toBe(0);
  });

  it('directives', async () => {
    const directed = (n: number) => `{ subjects { ${Array.from({ length: n }, () => 'code @include(if: true)').join(' ')} } }`;
    expect((await run(directed(DEFAULT_LIMITS.directives))).res.errors).toBeUndefined();
    const past = await run(directed(DEFAULT_LIMITS.directives + 1));
    expect(past.res.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'directives' });
    expect(past.reached).toBe(0);
  });

  it('tokens (Apollo’s parser: a clean 400)', async () => {
    const tokens = (q: string) => {
      const lexer = new Lexer(new Source(q));
      let n = 0;
      while (lexer.advance().kind !== TokenKind.EOF) n++;
      return n;
    };
    const sized = (n: number) => `{ subjects { ${Array.from({ length: n - 5 }, () => 'code').join(' ')} } }`;
    expect(tokens(sized(DEFAULT_LIMITS.tokens))).toBe(DEFAULT_LIMITS.tokens);
    // At the limit the parser takes it (graphql-js may still refuse so many overlapping fields in validation).
    expect(codes((await run(sized(DEFAULT_LIMITS.tokens))).res)).not.toContain('GRAPHQL_PARSE_FAILED');
    const past = await run(sized(DEFAULT_LIMITS.tokens + 1));
    expect(past.res.status).toBe(400);
    expect(codes(past.res)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(past.reached).toBe(0);
  });

  it('cost: the estimate with the request’s variables', async () => {
    const estimate = createCostEstimator(readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'));
    // Schools owners with their teachers: a page nested in a page, priced by both `first`s.
    const q = 'query($n: Int!, $m: Int!) { schoolOwners(first: $n) { edges { node { teachers(first: $m) { edges { node { id school } } } } } } }';
    let n = 1;
    // As the directorate: a caller with a token has the partners' cost limit.
    while (estimate(parse(q), { n: n + 1, m: 100 }) <= DEFAULT_LIMITS.partnerCost) n++;
    expect(estimate(parse(q), { n, m: 100 })).toBeLessThanOrEqual(DEFAULT_LIMITS.partnerCost);
    const at = await run(q, { n, m: 100 });
    expect(codes(at.res)).not.toContain('LIMIT_EXCEEDED');
    const past = await run(q, { n: n + 1, m: 100 });
    expect(past.res.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'cost' });
    expect(past.reached).toBe(0);
  });

  it('page size', async () => {
    const at = await run('{ studies(first: 100) { edges { node { id } } } }');
    expect(at.res.data.studies.edges).toHaveLength(100);
    const past = await run('{ studies(first: 101) { edges { node { id } } } }');
    expect(past.res.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'pageSize', field: 'first' });
    expect(past.reached).toBe(0);
  });

  it('body size (413 without reading on) and no array batching', async () => {
    const body = (bytes: number) => {
      const base = JSON.stringify({ query: '{ subjects { code } }', extensions: { pad: '' } });
      return JSON.stringify({ query: '{ subjects { code } }', extensions: { pad: 'x'.repeat(bytes - base.length) } });
    };
    const post = (text: string) =>
      fetch(h.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${udir}` }, body: text });
    resetProxies();
    expect(Buffer.byteLength(body(DEFAULT_LIMITS.bodyBytes))).toBe(DEFAULT_LIMITS.bodyBytes);
    expect((await post(body(DEFAULT_LIMITS.bodyBytes))).status).toBe(200);
    resetProxies();
    const past = await post(body(DEFAULT_LIMITS.bodyBytes + 1));
    expect(past.status).toBe(413);
    expect((await past.json()).errors[0].extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'body' });
    const batch = await post(JSON.stringify([{ query: '{ subjects { code } }' }, { query: '{ subjects { code } }' }]));
    expect(batch.status).toBe(400);
    expect(reached()).toBe(0);
  });
});

describe('masking: what SECURITY.md lists never reaches a client, and the log has it under the same id', () => {
  const leaks = /stacktrace|\bat [\w.<>]+ \(|node_modules|127\.0\.0\.1|localhost|:\d{4,5}\b|ECONNREFUSED|E11000|dup key|t-secret-123|Mongo/;

  it('a subgraph’s 500 with its URL, body and stack', async () => {
    resetProxies();
    proxies.feedback.reply = {
      status: 500,
      body: JSON.stringify({ message: 'boom at Object.<anonymous> (/srv/feedback/node_modules/x.js:1:2) http://127.0.0.1:4004/graphql' }),
    };
    const res = await h.query<any>('{ unions { id } }', {}, { token: udir });
    expect(codes(res)).toEqual(['SUBGRAPH_BAD_RESPONSE']);
    expect(JSON.stringify(res)).not.toMatch(leaks);
    const id = res.errors![0]!.extensions!.requestId;
    expect(id).toBe(res.headers['x-request-id']);
    const logged = h.log.filter((e) => e.requestId === id);
    expect(JSON.stringify(logged)).toMatch(/boom/);
    proxies.feedback.reply = undefined;
  });

  it('a subgraph’s stack trace and a raw duplicate-key message with the key’s value', async () => {
    proxies.feedback.reply = {
      status: 200,
      body: JSON.stringify({
        data: null,
        errors: [
          {
            message: 'E11000 duplicate key error collection: feedback index: teacherId dup key: { teacherId: "t-secret-123" }',
            extensions: {
              code: 'INTERNAL_SERVER_ERROR',
              stacktrace: ['MongoServerError: E11000', '    at Connection.onMessage (/app/node_modules/mongodb/lib/cmap/connection.js:1:1)'],
            },
          },
        ],
      }),
    };
    const res = await h.query<any>('{ unions { id } }', {}, { token: udir });
    expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(JSON.stringify(res)).not.toMatch(leaks);
    expect(JSON.stringify(h.log.filter((e) => e.requestId === res.errors![0]!.extensions!.requestId))).toMatch(/E11000/);
    proxies.feedback.reply = undefined;
  });

  it('a subgraph that is down: SUBGRAPH_UNAVAILABLE, not `connect ECONNREFUSED host:port`', async () => {
    await h.stopSubgraph('admissions');
    try {
      const res = await h.query<any>('{ subjects { code } institution(orgNumber: "971035854") { name } }', {}, { token: udir });
      expect(res.status).toBe(200);
      expect(res.data.subjects.length).toBeGreaterThan(0);
      expect(res.data.institution).toBeNull();
      expect(res.errors?.map((e) => ({ path: e.path, ...e.extensions }))).toEqual([
        expect.objectContaining({ path: ['institution'], code: 'SUBGRAPH_UNAVAILABLE', partner: 'admissions', requestId: res.headers['x-request-id'] }),
      ]);
      expect(JSON.stringify(res)).not.toMatch(leaks);
    } finally {
      await h.restartSubgraph('admissions');
    }
  });

  it('passes the request’s id to every subgraph it calls', async () => {
    resetProxies();
    const res = await h.query<any>('{ studies(first: 2) { edges { node { id applicants rating { count } } } } }', {}, { token: udir });
    expect(res.errors).toBeUndefined();
    const ids = NAMES.flatMap((n) => proxies[n].requestIds);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ids)).toEqual(new Set([res.headers['x-request-id']]));
  });

  it('every error a client sees has a code from our list and the request’s id', async () => {
    const res = await h.query<any>('{ nope }');
    expect(res.errors?.every((e) => typeof e.extensions?.code === 'string' && e.extensions?.requestId === res.headers['x-request-id'])).toBe(true);
  });
});

describe('faults', () => {
  it('a subgraph slower than the timeout: HTTP 200 with the rest, SUBGRAPH_TIMEOUT, within the timeout', async () => {
    resetProxies();
    proxies.admissions.delayMs = 3000;
    const started = performance.now();
    const res = await h.query<any>('{ subjects { code } institution(orgNumber: "971035854") { name } }', {}, { token: udir });
    const elapsed = performance.now() - started;
    proxies.admissions.delayMs = 0;
    expect(res.status).toBe(200);
    expect(res.data.subjects.length).toBeGreaterThan(0);
    expect(res.data.institution).toBeNull();
    expect(codes(res)).toEqual(['SUBGRAPH_TIMEOUT']);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 700);
  });

  it('a query whose connection failed is sent once more; a mutation never', async () => {
    resetProxies();
    proxies.catalogue.dropNext = 1;
    const query = await h.query<any>('{ subjects { code } }', {}, { token: udir });
    expect(query.errors).toBeUndefined();
    expect(proxies.catalogue.count).toBe(2);
    resetProxies();
    proxies.catalogue.dropNext = 1;
    const mutation = await h.query<any>('mutation { cancelStudy(id: "K2NOPE-2024") { id } }', {}, { token: udir });
    expect(codes(mutation)).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(proxies.catalogue.count).toBe(1);
  });

  it('merges identical queries in flight for one identity, never across identities, never mutations', async () => {
    const q = '{ subjects { code name } }';
    const owner = await h.token({ role: 'school-owner', org: '4601' });
    resetProxies();
    proxies.catalogue.delayMs = 150;
    const same = await Promise.all(Array.from({ length: 5 }, () => h.query<any>(q, {}, { token: udir })));
    expect(same.every((r) => r.data.subjects.length > 0)).toBe(true);
    expect(proxies.catalogue.count).toBe(1);
    resetProxies();
    proxies.catalogue.delayMs = 150;
    await Promise.all([h.query(q, {}, { token: udir }), h.query(q, {}, { token: owner })]);
    expect(proxies.catalogue.count).toBe(2);
    resetProxies();
    proxies.catalogue.delayMs = 150;
    const m = 'mutation { cancelStudy(id: "K2NOPE-2024") { id } }';
    await Promise.all([h.query(m, {}, { token: udir }), h.query(m, {}, { token: udir })]);
    expect(proxies.catalogue.count).toBe(2);
    proxies.catalogue.delayMs = 0;
  });

  it('/health and /ready tell the truth on every service', async () => {
    for (const url of [h.gateway.url, ...NAMES.map((n) => h.subgraphs[n].url)]) {
      const base = new URL(url);
      expect((await fetch(new URL('/health', base))).status).toBe(200);
      const ready = await fetch(new URL('/ready', base));
      expect(ready.status, url).toBe(200);
    }
  });

  it('the gateway starts and serves while every subgraph is down', async () => {
    const secrets = Object.fromEntries(NAMES.map((n) => [n, 'x'.repeat(32)]));
    // A port nothing listens on: taken, then given back.
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const closed = (free.address() as AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const logger = memoryLogger();
    const gateway = createGatewayServer({
      supergraphSdl: readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'),
      subgraphUrls: Object.fromEntries(NAMES.map((n) => [n, `http://127.0.0.1:${closed}/graphql`])),
      development: false,
      authenticate: async () => ({ role: 'public' }),
      secrets,
      logger,
      subgraphCalls: { timeoutMs: 500, connections: 2 },
    });
    const listening = await listenGateway(gateway, { port: 0 });
    try {
      const ready = await (await fetch(new URL('/ready', listening.url))).json();
      expect(ready).toEqual({
        status: 'ready',
        checks: { supergraph: true },
        // Still ready: it serves what it can; /ready says which partners it cannot reach.
        partners: Object.fromEntries(NAMES.map((n) => [n, 'unreachable'])),
      });
      const res = await (
        await fetch(listening.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ subjects { code } }' }),
        })
      ).json();
      expect(
        res.errors.map((e: any) => e.extensions.code),
        JSON.stringify(logger.entries),
      ).toEqual(['SUBGRAPH_UNAVAILABLE']);
    } finally {
      await listening.stop();
    }
  });
});

describe('one partner down never takes the others’ data with it', () => {
  const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const EXAMPLE = /```graphql\n(query EnglishStudies[\s\S]*?)```/.exec(README)![1]!.replace(/#.*$/gm, '');
  const where = (res: { errors?: { path?: (string | number)[]; extensions?: Record<string, unknown> }[] }) =>
    (res.errors ?? []).map((e) => ({ path: e.path?.join('.'), code: e.extensions?.code, partner: e.extensions?.partner }));

  it('the README example with plans down: the rest stands, each missing figure has an error at its path naming the partner', async () => {
    const whole = await h.query<any>(EXAMPLE, { owner: '4601' }, { token: udir });
    expect(whole.errors).toBeUndefined();
    await h.stopSubgraph('plans');
    try {
      const res = await h.query<any>(EXAMPLE, { owner: '4601' }, { token: udir });
      expect(res.status).toBe(200);
      const edges = whole.data.studies.edges as { node: Record<string, unknown> }[];
      expect(edges.length).toBeGreaterThan(1);
      expect(res.data).toEqual({ studies: { ...whole.data.studies, edges: edges.map(({ node }) => ({ node: { ...node, approvedApplications: null } })) } });
      expect(where(res)).toEqual(
        edges.map((_, i) => ({ path: `studies.edges.${i}.node.approvedApplications`, code: 'SUBGRAPH_UNAVAILABLE', partner: 'plans' })),
      );
    } finally {
      await h.restartSubgraph('plans');
    }
  });

  it('an entity fetch: one error per field of each entity it would have filled, only the fields the client asked', async () => {
    await h.stopSubgraph('admissions');
    try {
      // vacantSeats needs places from catalogue, a field the client did not ask: no error points at it.
      const res = await h.query<any>('{ studies(first: 2) { edges { node { id applicants vacantSeats } } } }', {}, { token: udir });
      expect(res.data.studies.edges).toEqual([0, 1].map(() => ({ node: { id: expect.any(String), applicants: null, vacantSeats: null } })));
      expect(where(res)).toEqual(
        [0, 1].flatMap((i) =>
          ['applicants', 'vacantSeats'].map((f) => ({ path: `studies.edges.${i}.node.${f}`, code: 'SUBGRAPH_UNAVAILABLE', partner: 'admissions' })),
        ),
      );
    } finally {
      await h.restartSubgraph('admissions');
    }
  });

  it('a timeout of a root fetch points at each top-level field it feeds', async () => {
    resetProxies();
    proxies.admissions.delayMs = 3000;
    try {
      const res = await h.query<any>(
        '{ subjects { code } a: institution(orgNumber: "971035854") { name } b: institution(orgNumber: "000000000") { name } }',
        {},
        { token: udir },
      );
      expect(res.data.subjects.length).toBeGreaterThan(0);
      expect(where(res)).toEqual([
        { path: 'a', code: 'SUBGRAPH_TIMEOUT', partner: 'admissions' },
        { path: 'b', code: 'SUBGRAPH_TIMEOUT', partner: 'admissions' },
      ]);
    } finally {
      proxies.admissions.delayMs = 0;
    }
  });

  it('an HTML page with 200, or a 502 with a GraphQL body: SUBGRAPH_BAD_RESPONSE, the body never data, not retried', async () => {
    const q = '{ subject(code: "ENG") { code } unions { id } }';
    const html = '<!doctype html><html><body>Bad gateway</body></html>';
    const graphqlBody = JSON.stringify({ data: { subject: { code: 'FORGED' } } });
    for (const reply of [
      { status: 200, body: html },
      { status: 502, body: graphqlBody },
      { status: 200, body: '[]' },
    ]) {
      resetProxies();
      proxies.catalogue.reply = reply;
      const res = await h.query<any>(q, {}, { token: udir });
      expect(res.status).toBe(200);
      expect(res.data.unions.length).toBeGreaterThan(0);
      expect(res.data.subject).toBeNull();
      expect(where(res)).toEqual([{ path: 'subject', code: 'SUBGRAPH_BAD_RESPONSE', partner: 'catalogue' }]);
      expect(JSON.stringify(res)).not.toMatch(/FORGED|doctype|Bad gateway/);
      expect(proxies.catalogue.count).toBe(1);
    }
    proxies.catalogue.reset();
  });

  it('a partner’s null for a non-null field: an error at its path in `errors`, masked, no `extensions.valueCompletion`', async () => {
    resetProxies();
    proxies.catalogue.reply = { status: 200, body: JSON.stringify({ data: { subject: { code: null, name: 'Engelsk' } } }) };
    try {
      const res = await h.query<any>('{ subject(code: "ENG") { code name } }', {}, { token: udir });
      expect(res.data).toEqual({ subject: null });
      expect(res.errors).toEqual([
        { message: 'Internal server error', path: ['subject', 'code'], extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: res.headers['x-request-id'] } },
      ]);
      expect((res as { extensions?: unknown }).extensions).toBeUndefined();
      expect(JSON.stringify(h.log.filter((e) => e.requestId === res.headers['x-request-id']))).toMatch(/Cannot return null for non-nullable/);
    } finally {
      proxies.catalogue.reset();
    }
  });
});

describe('onError: the error behaviour a client asks for (PROPAGATE, NULL, HALT)', () => {
  /** Posts with `onError` beside the query (the request parameter of the spec proposal). */
  const ask = async (query: string, onError: unknown, variables: Record<string, unknown> = {}) => {
    const res = await fetch(h.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${udir}` },
      body: JSON.stringify({ query, variables, ...(onError === undefined ? {} : { onError }) }),
    });
    return { status: res.status, ...((await res.json()) as { data?: any; errors?: { path?: (string | number)[]; extensions?: Record<string, unknown> }[] }) };
  };
  // A partner's answer with a null in a non-null place (`code: String!`) beside an error there, as a
  // partner gives it under NULL: PROPAGATE nulls the parent, NULL keeps the rest of `subject`.
  const partial = JSON.stringify({
    data: { subject: { code: null, name: 'Engelsk' } },
    errors: [{ message: 'The partner’s database cannot be reached just now', path: ['subject', 'code'], extensions: { code: 'STORE_UNAVAILABLE' } }],
  });
  const q = '{ subject(code: "ENG") { code name } unions { id } }';

  it('PROPAGATE (the default, or asked) bubbles the null up to the nearest nullable field; the partner is not asked for NULL', async () => {
    for (const onError of [undefined, 'PROPAGATE']) {
      resetProxies();
      proxies.catalogue.reply = { status: 200, body: partial };
      const res = await ask(q, onError);
      expect(res.data.subject).toBeNull();
      expect(res.data.unions.length).toBeGreaterThan(0);
      expect(res.errors?.[0]).toMatchObject({ path: ['subject', 'code'], extensions: { code: 'STORE_UNAVAILABLE' } });
      expect(proxies.catalogue.bodies.map((b) => JSON.parse(b).onError)).toEqual([undefined]);
    }
    proxies.catalogue.reset();
  });

  it('NULL keeps a failed non-null field null in place with its error, passes NULL on to the partners, and answers as PROPAGATE when nothing fails', async () => {
    resetProxies();
    proxies.catalogue.reply = { status: 200, body: partial };
    try {
      const res = await ask(q, 'NULL');
      expect(res.status).toBe(200);
      expect(res.data.subject).toEqual({ code: null, name: 'Engelsk' });
      expect(res.data.unions.length).toBeGreaterThan(0);
      expect(res.errors).toEqual([expect.objectContaining({ path: ['subject', 'code'], extensions: expect.objectContaining({ code: 'STORE_UNAVAILABLE' }) })]);
      expect(proxies.catalogue.bodies.map((b) => JSON.parse(b).onError)).toEqual(['NULL']);
      expect(proxies.feedback.bodies.map((b) => JSON.parse(b).onError)).toEqual(['NULL']);
    } finally {
      proxies.catalogue.reset();
    }
    // With every partner up, a registered cross-partner operation answers the same under either behaviour.
    const operation = readFileSync(new URL('../operations/institution-applications.graphql', import.meta.url), 'utf8');
    const variables = { institution: '874789542', year: 2024, first: 10 };
    const [propagate, nulled] = [await ask(operation, undefined, variables), await ask(operation, 'NULL', variables)];
    expect(propagate.errors).toBeUndefined();
    expect(propagate.data.applications.edges.length).toBeGreaterThan(0);
    expect(nulled).toEqual(propagate);
  });

  it('HALT gives data: null beside any error, and the data when nothing failed', async () => {
    resetProxies();
    proxies.catalogue.reply = { status: 502, body: 'Bad gateway' };
    try {
      const res = await ask(q, 'HALT');
      expect(res.status).toBe(200);
      expect(res.data).toBeNull();
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['SUBGRAPH_BAD_RESPONSE']);
    } finally {
      proxies.catalogue.reset();
    }
    const fine = await ask('{ unions { id } }', 'HALT');
    expect(fine.errors).toBeUndefined();
    expect(fine.data.unions.length).toBeGreaterThan(0);
  });

  it('another value is a request error (400 BAD_REQUEST naming the parameter) that reaches no partner; GET takes it in the query string', async () => {
    // (JSON null is no value, as for operationName and variables: PROPAGATE.)
    expect((await ask('{ unions { id } }', null)).status).toBe(200);
    for (const onError of ['ABORT', 'null', 'nUlL', 1, { NULL: true }]) {
      resetProxies();
      const res = await ask('{ unions { id } }', onError);
      expect(res.status).toBe(400);
      expect(res.data).toBeUndefined();
      expect(res.errors).toEqual([
        expect.objectContaining({
          message: expect.stringContaining('onError'),
          extensions: expect.objectContaining({ code: 'BAD_REQUEST', field: 'onError' }),
        }),
      ]);
      expect(reached()).toBe(0);
    }
    const get = (onError: string) =>
      fetch(`${h.gateway.url}?query=${encodeURIComponent('{ unions { id } }')}&onError=${onError}`, {
        headers: { authorization: `Bearer ${udir}`, 'apollo-require-preflight': 'true' },
      });
    expect((await get('NULL')).status).toBe(200);
    expect((await get('SOMETIMES')).status).toBe(400);
  });
});
