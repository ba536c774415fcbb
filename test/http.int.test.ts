import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { getJson, refused } from './net.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { ApolloServer } from '@apollo/server';
import { afterEach, describe, expect, it } from 'vitest';
import { errorBody, type ListeningService, serveGraphQL } from '@partnerskap/common';
import { type ServiceMetrics, createServiceMetrics, useRequestMetrics } from '@partnerskap/common';
import { parsePrometheusText, sumOf } from '@partnerskap/common';

// serveGraphQL on a free port: `/metrics`, what it counts before GraphQL runs, and the graceful stop.
const typeDefs = 'type Query { hello: String, slow(ms: Int!): String, never: String }';

/** Resolved when the next `slow` or `never` resolver starts: the request is then in flight. */
let started: () => void = () => undefined;
const inFlight = () => new Promise<void>((resolve) => (started = resolve));
const resolvers = {
  Query: {
    hello: () => 'hei',
    slow: async (_: unknown, { ms }: { ms: number }) => {
      started();
      await new Promise((resolve) => setTimeout(resolve, ms));
      return `after ${ms} ms`;
    },
    never: () => {
      started();
      return new Promise(() => undefined);
    },
  },
};

let service: ListeningService | undefined;
let metrics: ServiceMetrics;
afterEach(async () => {
  await service?.stop({ graceMs: 0 });
  service = undefined;
});

async function start(): Promise<ListeningService> {
  metrics = createServiceMetrics({ service: 'test' });
  service = await serveGraphQL({
    server: new ApolloServer({ typeDefs, resolvers, plugins: [useRequestMetrics()] }),
    port: 0,
    path: '/graphql',
    bodyLimitBytes: 1000,
    admit: async (req) => (req.headers['x-refuse'] ? { status: 401, body: errorBody('UNAUTHENTICATED', 'no') } : { context: {} }),
    ready: async () => ({ server: true }),
    metrics,
    log: () => undefined,
  });
  return service;
}

const post = (s: ListeningService, body: unknown, headers: Record<string, string> = {}) =>
  fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('/metrics', () => {
  it('serves the registry and counts requests refused before GraphQL runs', async () => {
    const s = await start();
    expect((await post(s, { query: 'query Hello { hello }' })).status).toBe(200);
    expect((await post(s, { query: 'query Hello { hello }', operationName: 'Hello' }, { 'x-refuse': '1' })).status).toBe(401);
    expect((await post(s, { query: `{ hello } #${'x'.repeat(2000)}` })).status).toBe(413);
    // Apollo refuses a GET without a query before its pipeline runs: counted by the HTTP layer.
    expect((await fetch(`${s.url}?operationName=Hello`, { headers: { 'apollo-require-preflight': '1' } })).status).toBe(400);
    const res = await fetch(new URL('/metrics', s.url));
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parsePrometheusText(await res.text());
    expect(sumOf(m, 'partnerskap_graphql_requests_total', { operation: 'Hello', status: 'ok' })).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_requests_total', { operation: 'Hello', status: 'error' })).toBe(2);
    expect(sumOf(m, 'partnerskap_graphql_requests_total')).toBe(4);
    expect(sumOf(m, 'partnerskap_graphql_errors_total', { operation: 'Hello', code: 'BAD_REQUEST' })).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_errors_total', { operation: 'Hello', code: 'UNAUTHENTICATED' })).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_errors_total', { operation: 'anonymous', code: 'LIMIT_EXCEEDED' })).toBe(1);
    expect(sumOf(m, 'partnerskap_in_flight_requests')).toBe(0);
  });
});

describe('stop()', () => {
  it('answers /ready with 503, refuses new connections and lets a request in flight finish', async () => {
    const s = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await getJson(s.port, '/ready', agent)).status).toBe(200);
    const running = inFlight();
    const slow = post(s, { query: '{ slow(ms: 700) }' });
    await running;
    expect(sumOf(parsePrometheusText(await metrics.text()), 'partnerskap_in_flight_requests')).toBe(1);
    const t0 = performance.now();
    const stopping = s.stop({ graceMs: 10_000 });
    // The load balancer's probe, on the keep-alive connection it already had.
    expect(await getJson(s.port, '/ready', agent)).toEqual({ status: 503, connection: 'close', body: { status: 'draining', checks: { accepting: false } } });
    expect(await refused(s.port)).toBe(true);
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { slow: 'after 700 ms' } });
    await stopping;
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(await refused(s.port)).toBe(true);
    agent.destroy();
  });

  it('stops at once with nothing in flight, idle keep-alive connections included', async () => {
    const s = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await getJson(s.port, '/health', agent)).status).toBe(200);
    const t0 = performance.now();
    await s.stop({ graceMs: 10_000 });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await refused(s.port)).toBe(true);
    agent.destroy();
  });

  it('cuts a request that outlives the grace period', async () => {
    const s = await start();
    const running = inFlight();
    const never = post(s, { query: '{ never }' }).then(
      () => 'answered',
      () => 'cut',
    );
    await running;
    const t0 = performance.now();
    await s.stop({ graceMs: 300 });
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
    expect(await never).toBe('cut');
  });
});

describe('assets', () => {
  /** A raw request: the path goes out as written (fetch would resolve `..` before sending). */
  function raw(
    port: number,
    path: string,
    method = 'GET',
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
        .on('error', reject)
        .end();
    });
  }

  it('serves only the listed paths, with their headers, an etag and 304, and nothing beside them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-assets-'));
    try {
      writeFileSync(join(dir, 'page.html'), '<!doctype html><title>x</title>');
      writeFileSync(join(dir, 'secret.txt'), 'not listed');
      const logged: Record<string, unknown>[] = [];
      service = await serveGraphQL({
        server: new ApolloServer({ typeDefs, resolvers }),
        port: 0,
        path: '/graphql',
        admit: async () => ({ context: {} }),
        ready: async () => ({ server: true }),
        assets: {
          '/page': { file: join(dir, 'page.html'), contentType: 'text/html; charset=utf-8', headers: { 'content-security-policy': "default-src 'self'" } },
          '/gone': { file: join(dir, 'missing.js'), contentType: 'text/javascript; charset=utf-8' },
        },
        log: (entry) => logged.push(entry),
      });
      const { port } = service;
      const page = await raw(port, '/page');
      expect(page).toMatchObject({ status: 200, body: '<!doctype html><title>x</title>' });
      expect(page.headers).toMatchObject({
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'self'",
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
        'content-length': '31',
      });
      const etag = page.headers.etag as string;
      expect(etag).toMatch(/^"[\w-]{27}"$/);
      expect(await raw(port, '/page?v=1', 'HEAD')).toMatchObject({ status: 200, body: '', headers: { etag, 'content-length': '31' } });
      expect(await raw(port, '/page', 'GET', { 'if-none-match': `W/"other", ${etag}` })).toMatchObject({ status: 304, body: '' });
      expect((await raw(port, '/page', 'POST')).status).toBe(405);
      // A changed file is read again: a new etag.
      writeFileSync(join(dir, 'page.html'), '<!doctype html><title>changed</title>');
      const changed = await raw(port, '/page', 'GET', { 'if-none-match': etag });
      expect(changed).toMatchObject({ status: 200, body: '<!doctype html><title>changed</title>' });
      expect(changed.headers.etag).not.toBe(etag);
      for (const path of [
        '/page/',
        '/page/../secret.txt',
        '/secret.txt',
        '/page/%2e%2e/secret.txt',
        '/page%2F..%2Fsecret.txt',
        '/__proto__',
        '/constructor',
        `/${dir}/secret.txt`,
      ]) {
        const res = await raw(port, path);
        expect(res.status, path).toBe(404);
        expect(res.body, path).not.toContain('not listed');
      }
      // A listed file that is missing is a 404, and logged for whoever deployed it.
      expect((await raw(port, '/gone')).status).toBe(404);
      expect(logged).toEqual([expect.objectContaining({ level: 'error', path: '/gone' })]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('refusals as GraphQL responses', () => {
  const GRAPHQL_RESPONSE = 'application/graphql-response+json; charset=utf-8';
  const JSON_TYPE = 'application/json; charset=utf-8';
  // Apollo Client 4's Accept: it reads a graphql-response+json body as GraphQL errors whatever the status.
  const APOLLO_CLIENT = { accept: 'application/graphql-response+json,application/json;q=0.9' };

  it('answers every refusal before GraphQL runs with errors[].extensions.code, in the media type Accept prefers, as Apollo does its own', async () => {
    const s = await start();
    const send = (body: string, headers: Record<string, string> = {}) =>
      fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const cases = [
      { what: 'unauthenticated', res: () => send('{"query":"{ hello }"}', { ...APOLLO_CLIENT, 'x-refuse': '1' }), status: 401, code: 'UNAUTHENTICATED' },
      { what: 'too large', res: () => send(JSON.stringify({ query: `{ hello } #${'x'.repeat(2000)}` }), APOLLO_CLIENT), status: 413, code: 'LIMIT_EXCEEDED' },
      { what: 'not JSON', res: () => send('{"query":', APOLLO_CLIENT), status: 400, code: 'BAD_REQUEST' },
      // Apollo's own: a request without a query.
      { what: "Apollo's", res: () => send('{}', APOLLO_CLIENT), status: 400, code: 'BAD_REQUEST' },
      { what: 'wrong path', res: () => fetch(new URL('/other', s.url), { headers: APOLLO_CLIENT }), status: 404, code: 'NOT_FOUND' },
    ];
    for (const c of cases) {
      const res = await c.res();
      expect([c.what, res.status, res.headers.get('content-type')]).toEqual([c.what, c.status, GRAPHQL_RESPONSE]);
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors.map((e) => e.extensions)).toEqual([expect.objectContaining({ code: c.code, requestId: res.headers.get('x-request-id') })]);
    }
    // Without Accept (curl), or with one that prefers it, application/json, as Apollo answers.
    for (const headers of [{}, { accept: '*/*' }, { accept: 'application/json' }]) {
      expect((await send('{"query":', headers)).headers.get('content-type')).toBe(JSON_TYPE);
      expect((await send('{}', headers)).headers.get('content-type')).toBe(JSON_TYPE);
    }
    // Health is not GraphQL: plain JSON whatever Accept says.
    expect((await fetch(new URL('/health', s.url), { headers: APOLLO_CLIENT })).headers.get('content-type')).toBe(JSON_TYPE);
  });

  it('answers a failure of the HTTP layer 500 INTERNAL_SERVER_ERROR in the same shape', async () => {
    service = await serveGraphQL({
      server: new ApolloServer({ typeDefs, resolvers }),
      port: 0,
      path: '/graphql',
      admit: async () => {
        throw new Error('the identity provider is down');
      },
      ready: async () => ({ server: true }),
      log: () => undefined,
    });
    const res = await post(service, { query: '{ hello }' }, APOLLO_CLIENT);
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe(GRAPHQL_RESPONSE);
    expect(await res.json()).toEqual({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  });
});

describe('compression', () => {
  /** A request whose body is left as sent (fetch would decode it). */
  function rawBytes(
    port: number,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: body === undefined ? 'GET' : 'POST',
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        },
      )
        .on('error', reject)
        .end(body);
    });
  }
  const decode = (res: { headers: Record<string, unknown>; body: Buffer }) =>
    res.headers['content-encoding'] === 'br' ? brotliDecompressSync(res.body) : res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.body) : res.body;

  it('compresses GraphQL answers and assets of 1 kB or more with br, else gzip, when accepted; small ones and other clients get them as they are', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-gzip-'));
    try {
      const script = `// ${'a script of some length '.repeat(100)}\n`;
      writeFileSync(join(dir, 'page.js'), script);
      service = await serveGraphQL({
        server: new ApolloServer({
          typeDefs: 'type Query { words(n: Int!): [String!]! }',
          resolvers: { Query: { words: (_: unknown, { n }: { n: number }) => Array.from({ length: n }, (_, i) => `ord ${i}`) } },
        }),
        port: 0,
        path: '/graphql',
        corsOrigins: ['https://app.example'],
        admit: async () => ({ context: {} }),
        ready: async () => ({ server: true }),
        assets: { '/page.js': { file: join(dir, 'page.js'), contentType: 'text/javascript; charset=utf-8' } },
        log: () => undefined,
      });
      const { port } = service;
      const big = JSON.stringify({ query: '{ words(n: 300) }' });
      const plain = await rawBytes(port, '/graphql', {}, big);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.vary).toBe('accept-encoding');
      expect(plain.body.length).toBeGreaterThan(2000);
      for (const [accept, encoding] of [
        ['gzip, deflate, br', 'br'],
        ['gzip', 'gzip'],
        ['br;q=0, gzip', 'gzip'],
        ['identity', undefined],
      ] as const) {
        const res = await rawBytes(port, '/graphql', { 'accept-encoding': accept, origin: 'https://app.example' }, big);
        expect([accept, res.headers['content-encoding']]).toEqual([accept, encoding]);
        // Field names, so any case (RFC 9110): the cors middleware writes `Origin`.
        expect(String(res.headers.vary).toLowerCase()).toBe('origin, accept-encoding');
        expect(Number(res.headers['content-length'])).toBe(res.body.length);
        expect(JSON.parse(decode(res).toString('utf8'))).toEqual(JSON.parse(plain.body.toString('utf8')));
        if (encoding) expect(res.body.length).toBeLessThan(plain.body.length / 3);
      }
      const small = await rawBytes(port, '/graphql', { 'accept-encoding': 'br' }, JSON.stringify({ query: '{ words(n: 3) }' }));
      expect(small.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(small.body.toString('utf8'))).toEqual({ data: { words: ['ord 0', 'ord 1', 'ord 2'] } });

      const asset = await rawBytes(port, '/page.js', { 'accept-encoding': 'br' });
      expect(asset.headers).toMatchObject({ 'content-encoding': 'br', vary: 'accept-encoding', 'content-length': String(asset.body.length) });
      expect(decode(asset).toString('utf8')).toBe(script);
      const identity = await rawBytes(port, '/page.js', {});
      expect(identity.body.toString('utf8')).toBe(script);
      // Each form has its own etag; either answers 304 to a revalidation.
      expect(asset.headers.etag).toBe(`${String(identity.headers.etag).slice(0, -1)}-br"`);
      expect((await rawBytes(port, '/page.js', { 'accept-encoding': 'br', 'if-none-match': String(asset.headers.etag) })).status).toBe(304);
      expect((await rawBytes(port, '/page.js', { 'accept-encoding': 'gzip', 'if-none-match': String(asset.headers.etag) })).status).toBe(304);
      const gz = await rawBytes(port, '/page.js', { 'accept-encoding': 'gzip' });
      expect(gz.headers.etag).toBe(`${String(identity.headers.etag).slice(0, -1)}-gzip"`);
      expect(decode(gz).toString('utf8')).toBe(script);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CORS', () => {
  const APP = 'https://app.example';
  const serve = (corsOrigins: string[]) =>
    serveGraphQL({
      server: new ApolloServer({ typeDefs, resolvers }),
      port: 0,
      path: '/graphql',
      corsOrigins,
      admit: async () => ({ context: {} }),
      ready: async () => ({ server: true }),
      log: () => undefined,
    });
  /** The `access-control-*` headers of an answer and its `vary`. */
  const corsOf = (res: Response) => Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-') || name === 'vary'));
  const preflight = (s: ListeningService, origin: string) =>
    fetch(s.url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });

  it('answers an allowed origin with itself (a preflight with the methods, headers and max-age), any other with no CORS header', async () => {
    service = await serve([APP, 'http://localhost:*']);
    const ok = await preflight(service, APP);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('x-request-id')).toMatch(/^[\da-f-]{36}$/);
    expect(corsOf(ok)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, x-request-id',
      'access-control-max-age': '600',
      'access-control-expose-headers': 'x-request-id',
      vary: 'Origin',
    });
    expect(corsOf(await preflight(service, 'http://localhost:5173'))).toMatchObject({ 'access-control-allow-origin': 'http://localhost:5173' });
    const refusedPreflight = await preflight(service, 'https://evil.example');
    expect([refusedPreflight.status, corsOf(refusedPreflight)]).toEqual([204, {}]);
    const answer = await post(service, { query: '{ hello }' }, { origin: APP });
    expect(corsOf(answer)).toEqual({ 'access-control-allow-origin': APP, 'access-control-expose-headers': 'x-request-id', vary: 'Origin, accept-encoding' });
    expect(corsOf(await post(service, { query: '{ hello }' }, { origin: 'https://evil.example' }))).toEqual({ vary: 'accept-encoding' });
    expect(corsOf(await post(service, { query: '{ hello }' }))).toEqual({ vary: 'accept-encoding' });
    // Every path answers CORS the same way: a refusal too, so a browser can read its code.
    expect(corsOf(await fetch(new URL('/other', service.url), { headers: { origin: APP } }))).toMatchObject({ 'access-control-allow-origin': APP });
  });

  it('answers * to any origin when * is configured, still varying on Origin', async () => {
    service = await serve(['*']);
    expect(corsOf(await post(service, { query: '{ hello }' }, { origin: 'https://anything.example' }))).toEqual({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'x-request-id',
      vary: 'Origin, accept-encoding',
    });
    expect(corsOf(await post(service, { query: '{ hello }' }))).toEqual({ vary: 'accept-encoding' });
  });
});

describe('the body limit', () => {
  /** Sends raw HTTP/1.1 on one socket and returns what came back (several answers when kept alive). */
  async function rawExchange(port: number, text: string, answers: number): Promise<string> {
    const { connect } = await import('node:net');
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(text));
      let got = '';
      socket.on('data', (chunk: Buffer) => {
        got += chunk.toString('utf8');
        if ((got.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= answers && /\r\n\r\n[\s\S]*\}\n?$/.test(got)) {
          socket.destroy();
          resolve(got);
        }
      });
      socket.on('error', reject);
      setTimeout(() => (socket.destroy(), reject(new Error(`no ${answers} answers: ${got}`))), 5000);
    });
  }

  it('refuses 413 a chunked body that grows past it, and the connection then carries the next request', async () => {
    const s = await start();
    const big = `{"query":"{ hello } #${'x'.repeat(1500)}"}`;
    const chunked = `POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`;
    const small = '{"query":"{ hello }"}';
    const next = `POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${small.length}\r\n\r\n${small}`;
    const got = await rawExchange(s.port, chunked + next, 2);
    expect(got.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 413', 'HTTP/1.1 200']);
    expect(got).toContain('"code":"LIMIT_EXCEEDED"');
    expect(got).toContain('{"data":{"hello":"hei"}}');
  });

  it('refuses 413 a declared content-length over it without waiting for the body', async () => {
    const s = await start();
    // Only the head is sent: the answer must not wait for 5,000 bytes that never come.
    const got = await rawExchange(s.port, 'POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{', 1);
    expect(got).toMatch(/^HTTP\/1\.1 413/);
    expect(got).toContain('"limit":"body"');
  });
});
