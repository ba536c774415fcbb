import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { getJson, refused } from './net.js';
import { catalogue } from '@partnerskap/catalogue';
import { type ListeningGateway, createGatewayServer, listenGateway, memoryLogger } from '@partnerskap/gateway';
import { type Exposition, DEFAULT_MAX_OPERATIONS, parsePrometheusText, startSubgraph, sumOf } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';
import { type SubgraphProxy, startProxy } from './proxy.js';

// Operations: every service's /metrics after real traffic through the gateway, the operation
// label's bound, the error log's fields, and the gateway's graceful stop with a slow subgraph.
const NAMES = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
type Name = (typeof NAMES)[number];
const TIMEOUT_MS = 1000;
let h: Harness;
const proxies = {} as Record<Name, SubgraphProxy>;
let owner = '';
let udir = '';

beforeAll(async () => {
  for (const name of NAMES) proxies[name] = await startProxy();
  h = await startHarness({
    seedProjections: false,
    subgraphUrl: (name, url) => {
      const proxy = proxies[name as Name];
      proxy.target = url;
      return proxy.url;
    },
    gateway: { subgraphCalls: { timeoutMs: TIMEOUT_MS, connections: 16 } },
  });
  owner = await h.token({ role: 'school-owner', org: '4601' });
  udir = await h.token({ role: 'directorate' });
}, 120_000);
afterAll(async () => {
  await h?.close();
  for (const name of NAMES) await proxies[name]?.close();
});

const ENGLISH = readFileSync(new URL('../operations/english-studies.graphql', import.meta.url), 'utf8');
const SUBJECTS = 'query Subjects { subjects { code name } }';

/** Reads and parses a service's `/metrics` (throws when it is not Prometheus' text format). */
async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(new URL('/metrics', url));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(done()).toBe(true);
};

describe('/metrics after traffic through the gateway', () => {
  it('the gateway counts operations by name and status, errors by code, and each subgraph fetch', async () => {
    for (let i = 0; i < 2; i++) expect((await h.query(ENGLISH, { owner: '4601' }, { token: owner })).errors).toBeUndefined();
    const pub = await h.query(ENGLISH.replace('query EnglishStudies', 'query PublicEnglish'), { owner: '4601' });
    expect(pub.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
    const over = await h.query('query TooBig { studies(first: 101) { totalCount } }', {}, { token: udir });
    expect(over.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');

    const m = await scrape(h.gateway.url);
    const requests = (labels: Record<string, string>) => sumOf(m, 'partnerskap_graphql_requests_total', labels);
    expect(requests({ operation: 'EnglishStudies', status: 'ok' })).toBe(2);
    expect(requests({ operation: 'PublicEnglish', status: 'partial' })).toBe(1);
    expect(requests({ operation: 'TooBig', status: 'error' })).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_errors_total', { operation: 'PublicEnglish', code: 'FORBIDDEN' })).toBeGreaterThanOrEqual(1);
    expect(sumOf(m, 'partnerskap_graphql_errors_total', { operation: 'TooBig', code: 'LIMIT_EXCEEDED' })).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_request_duration_seconds_count', { operation: 'EnglishStudies' })).toBe(2);
    // The README's query reaches every partner; an operation over a limit reaches none.
    for (const subgraph of NAMES) {
      expect(sumOf(m, 'partnerskap_subgraph_request_duration_seconds_count', { subgraph, status: '200' }), subgraph).toBeGreaterThanOrEqual(2);
      expect(sumOf(m, 'partnerskap_subgraph_requests_total', { subgraph }), subgraph).toBeGreaterThanOrEqual(2);
    }
    expect(m.types.get('partnerskap_subgraph_request_duration_seconds')).toBe('histogram');
    expect(m.types.get('partnerskap_in_flight_requests')).toBe('gauge');
    expect(m.types.get('partnerskap_supergraph_reloads_total')).toBe('counter');
    expect(m.types.get('partnerskap_subgraph_deduplicated_total')).toBe('counter');
    expect(m.types.get('partnerskap_response_cache_hits_total')).toBe('counter');
    expect(sumOf(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sumOf(m, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(m.samples.every((s) => s.labels.service === 'gateway')).toBe(true);
  });

  it('a subgraph counts the fetches it answered under the name the gateway gave them', async () => {
    const m = await scrape(h.subgraphs.plans.url);
    // Apollo names a subgraph fetch `<operation>__<subgraph>__<n>`: each of the query's fetches from plans, once per query.
    const fetches = m.samples.filter((s) => s.name === 'partnerskap_graphql_requests_total' && /^EnglishStudies__plans__\d+$/.test(s.labels.operation ?? ''));
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    for (const s of fetches) expect(s).toMatchObject({ labels: { status: 'ok' }, value: 2 });
    const publicFetch = m.samples.find((s) => s.name === 'partnerskap_graphql_errors_total' && s.labels.code === 'FORBIDDEN');
    expect(publicFetch?.labels.operation).toMatch(/^PublicEnglish__plans__\d+$/);
    expect(sumOf(m, 'partnerskap_graphql_request_duration_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(sumOf(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.samples.every((s) => s.labels.service === 'plans')).toBe(true);
  });

  it('counts failed subgraph fetches by reason, and logs them with the operation and the subgraph', async () => {
    proxies.feedback.reply = { status: 500, body: 'upstream exploded' };
    proxies.admissions.delayMs = TIMEOUT_MS + 500;
    let status: string;
    try {
      const res = await h.query(ENGLISH.replace('query EnglishStudies', 'query Faulty'), { owner: '4601' }, { token: owner });
      expect(res.status).toBe(200);
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(expect.arrayContaining(['SUBGRAPH_TIMEOUT', 'SUBGRAPH_BAD_RESPONSE']));
      // A non-null field of a failed subgraph may null the whole answer: then it is an error, not partial.
      status = res.data ? 'partial' : 'error';
      const requestId = res.headers['x-request-id'];
      const entries = h.log.filter((e) => e.requestId === requestId);
      expect(entries).toContainEqual(expect.objectContaining({ operationName: 'Faulty', subgraph: 'admissions', code: 'SUBGRAPH_TIMEOUT' }));
      expect(entries).toContainEqual(expect.objectContaining({ operationName: 'Faulty', subgraph: 'feedback', code: 'SUBGRAPH_BAD_RESPONSE' }));
    } finally {
      proxies.feedback.reset();
      proxies.admissions.reset();
    }
    const m = await scrape(h.gateway.url);
    // The query fetches from admissions more than once: each fetch is counted.
    const timeouts = sumOf(m, 'partnerskap_subgraph_errors_total', { subgraph: 'admissions', reason: 'timeout' });
    expect(timeouts).toBeGreaterThanOrEqual(1);
    expect(sumOf(m, 'partnerskap_subgraph_request_duration_seconds_count', { subgraph: 'admissions', status: 'timeout' })).toBe(timeouts);
    const http500 = sumOf(m, 'partnerskap_subgraph_errors_total', { subgraph: 'feedback', reason: 'http_500' });
    expect(http500).toBeGreaterThanOrEqual(1);
    expect(sumOf(m, 'partnerskap_subgraph_request_duration_seconds_count', { subgraph: 'feedback', status: '500' })).toBe(http500);
    expect(sumOf(m, 'partnerskap_graphql_requests_total', { operation: 'Faulty', status })).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_errors_total', { operation: 'Faulty', code: 'SUBGRAPH_TIMEOUT' })).toBeGreaterThanOrEqual(1);
  });

  it('bounds the operation label: an unbounded stream of names ends in `other`', async () => {
    const before = await scrape(h.gateway.url);
    const otherBefore = sumOf(before, 'partnerskap_graphql_requests_total', { operation: 'other' });
    const n = DEFAULT_MAX_OPERATIONS + 50;
    for (let i = 0; i < n; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, n - i) }, (_, j) => h.query(`query Flood${i + j} { __typename }`, {}, { token: udir })));
    }
    const m = await scrape(h.gateway.url);
    const names = new Set(m.samples.filter((s) => s.name === 'partnerskap_graphql_requests_total').map((s) => s.labels.operation));
    expect(names.size).toBeLessThanOrEqual(DEFAULT_MAX_OPERATIONS + 2);
    expect(names.has('other')).toBe(true);
    const kept = [...names].filter((name) => name?.startsWith('Flood')).length;
    expect(sumOf(m, 'partnerskap_graphql_requests_total', { operation: 'other' }) - otherBefore).toBe(n - kept);
    // A name kept before the cap is still counted under its own name.
    expect(names.has('EnglishStudies')).toBe(true);
  });

  it('is served by a subgraph in development or when asked, not in production', async () => {
    const options = { db: h.dbs.catalogue, port: 0, gatewaySecret: h.secrets.catalogue };
    const prod = await startSubgraph(catalogue as never, { ...options, development: false });
    const asked = await startSubgraph(catalogue as never, { ...options, development: false, metrics: true });
    try {
      expect((await fetch(new URL('/metrics', prod.url))).status).toBe(404);
      expect(sumOf(await scrape(asked.url), 'partnerskap_in_flight_requests', { service: 'catalogue' })).toBe(0);
    } finally {
      await Promise.all([prod.stop(), asked.stop()]);
    }
  });
});

describe('graceful stop of the gateway', () => {
  /** A gateway of its own over the proxies, so the harness's keeps serving. */
  const startGateway = (timeoutMs: number): Promise<ListeningGateway> =>
    listenGateway(
      createGatewayServer({
        supergraphSdl: readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'),
        subgraphUrls: Object.fromEntries(NAMES.map((n) => [n, proxies[n].url])),
        development: true,
        authenticate: async () => ({ role: 'public' }),
        secrets: h.secrets,
        logger: memoryLogger(),
        subgraphCalls: { timeoutMs, connections: 4 },
      }),
      { port: 0 },
    );
  const post = (gateway: ListeningGateway, query: string) =>
    fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });

  it('lets a slow request finish with its data while /ready answers 503 and new connections are refused', async () => {
    const expected = await h.query(SUBJECTS);
    expect(expected.errors).toBeUndefined();
    const gateway = await startGateway(10_000);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await getJson(gateway.port, '/ready', agent)).status).toBe(200);
      proxies.catalogue.reset();
      proxies.catalogue.delayMs = 800;
      const slow = post(gateway, SUBJECTS);
      await until(() => proxies.catalogue.count === 1);
      expect(sumOf(parsePrometheusText(await gateway.metrics!.text()), 'partnerskap_in_flight_requests')).toBe(1);
      const t0 = performance.now();
      const stopping = gateway.stop({ graceMs: 10_000 });
      expect(await getJson(gateway.port, '/ready', agent)).toMatchObject({ status: 503, body: { status: 'draining', checks: { accepting: false } } });
      expect(await refused(gateway.port)).toBe(true);
      const res = await slow;
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: expected.data });
      await stopping;
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(await refused(gateway.port)).toBe(true);
    } finally {
      proxies.catalogue.reset();
      agent.destroy();
      await gateway.stop();
    }
  });

  it('cuts a request that outlives the grace period', async () => {
    const gateway = await startGateway(30_000);
    try {
      proxies.catalogue.reset();
      proxies.catalogue.delayMs = 5000;
      const stuck = post(gateway, SUBJECTS).then(
        () => 'answered',
        () => 'cut',
      );
      await until(() => proxies.catalogue.count === 1);
      const t0 = performance.now();
      await gateway.stop({ graceMs: 400 });
      const elapsed = performance.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(390);
      expect(elapsed).toBeLessThan(2500);
      expect(await stuck).toBe('cut');
      expect(await refused(gateway.port)).toBe(true);
    } finally {
      proxies.catalogue.reset();
      await gateway.stop();
    }
  });
});
