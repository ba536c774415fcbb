import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { getJson, refused } from '../../../test/net.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { afterEach, describe, expect, it } from 'vitest';
import { errorBody, type ListeningService, serveGraphQL } from './http.js';
import { type ServiceMetrics, createServiceMetrics, useRequestMetrics } from './metrics.js';
import { parsePrometheusText, sumOf } from './metrics-text.js';

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
    admit: async (req) =>
      req.headers['x-refuse'] ? { status: 401, body: errorBody('UNAUTHENTICATED', 'no') } : { context: {} },
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
  function raw(port: number, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
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
      for (const path of ['/page/', '/page/../secret.txt', '/secret.txt', '/page/%2e%2e/secret.txt', '/page%2F..%2Fsecret.txt', '/__proto__', '/constructor', `/${dir}/secret.txt`]) {
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
