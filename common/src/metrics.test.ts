import { ApolloServer } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceMetrics, createServiceMetrics, useRequestMetrics } from './metrics.js';
import { parsePrometheusText, sumOf } from './metrics-text.js';

const typeDefs = `type Query { hello: String, denied: String, both: Both }
type Both { ok: String, denied: String }`;
const denied = () => {
  throw new GraphQLError('no', { extensions: { code: 'FORBIDDEN' } });
};
const resolvers = { Query: { hello: () => 'hei', denied, both: () => ({}) }, Both: { ok: () => 'ja', denied } };

describe('operation labels', () => {
  it('are the name, anonymous without one, other past the cap or for names that never resolved', () => {
    const m = createServiceMetrics({ service: 'test', maxOperations: 2 });
    expect(m.operationLabel(undefined, true)).toBe('anonymous');
    expect(m.operationLabel(null, false)).toBe('anonymous');
    expect(m.operationLabel('Claimed', false)).toBe('other');
    expect(m.operationLabel('One', true)).toBe('One');
    expect(m.operationLabel('not a name!', true)).toBe('other');
    expect(m.operationLabel('Two', true)).toBe('Two');
    expect(m.operationLabel('Three', true)).toBe('other');
    expect(m.operationLabel('One', false)).toBe('One');
  });
});

describe('useRequestMetrics', () => {
  let server: ApolloServer;
  let metrics: ServiceMetrics;
  const run = (query: string, operationName?: string) =>
    server.executeOperation({ query, ...(operationName ? { operationName } : {}) }, { contextValue: { metrics } });
  const scrape = async () => parsePrometheusText(await metrics.text());

  beforeAll(async () => {
    server = new ApolloServer({ typeDefs, resolvers, plugins: [useRequestMetrics()] });
    await server.start();
    metrics = createServiceMetrics({ service: 'catalogue' });
  });
  afterAll(() => server.stop());

  it('counts each request by operation and status, each error by code, and the duration', async () => {
    await run('query Hello { hello }');
    await run('query Hello { hello }');
    await run('query Both { both { ok denied } }');
    await run('query Denied { denied }');
    await run('{ hello }');
    await run('query Broken { hello', 'Broken');
    const m = await scrape();
    const requests = (operation: string, status: string) => sumOf(m, 'partnerskap_graphql_requests_total', { operation, status });
    expect(requests('Hello', 'ok')).toBe(2);
    expect(requests('Both', 'partial')).toBe(1);
    expect(requests('Denied', 'partial')).toBe(1); // `denied` is nullable: data is { denied: null }
    expect(requests('anonymous', 'ok')).toBe(1);
    // A document that does not parse never adds its claimed name.
    expect(requests('other', 'error')).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_errors_total', { operation: 'Both', code: 'FORBIDDEN' })).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_errors_total', { operation: 'other', code: 'GRAPHQL_PARSE_FAILED' })).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_request_duration_seconds_count', { operation: 'Hello' })).toBe(2);
    expect(sumOf(m, 'partnerskap_graphql_request_duration_seconds_bucket', { operation: 'Hello', le: '+Inf' })).toBe(2);
    expect(m.types.get('partnerskap_graphql_request_duration_seconds')).toBe('histogram');
  });

  it('labels every series with the service, and carries the process metrics', async () => {
    const m = await scrape();
    expect(m.samples.every((s) => s.labels.service === 'catalogue')).toBe(true);
    expect(sumOf(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.types.get('partnerskap_in_flight_requests')).toBe('gauge');
  });

  it('keeps one registry per instance', async () => {
    const other = createServiceMetrics({ service: 'plans' });
    await server.executeOperation({ query: 'query Hello { hello }' }, { contextValue: { metrics: other } });
    expect(sumOf(parsePrometheusText(await other.text()), 'partnerskap_graphql_requests_total')).toBe(1);
    expect(sumOf(await scrape(), 'partnerskap_graphql_requests_total', { operation: 'Hello' })).toBe(2);
  });

  it('counts nothing for a context without metrics', async () => {
    const before = sumOf(await scrape(), 'partnerskap_graphql_requests_total');
    await server.executeOperation({ query: 'query Hello { hello }' }, { contextValue: {} });
    expect(sumOf(await scrape(), 'partnerskap_graphql_requests_total')).toBe(before);
  });
});

describe('parsePrometheusText', () => {
  it('reads samples with labels and special values', () => {
    const m = parsePrometheusText(
      '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1",y="q\\"uote"} 3\n# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 0.5\nh_count 2\n',
    );
    expect(m.samples).toEqual([
      { name: 'a_total', labels: { x: '1', y: 'q"uote' }, value: 3 },
      { name: 'h_bucket', labels: { le: '+Inf' }, value: 2 },
      { name: 'h_sum', labels: {}, value: 0.5 },
      { name: 'h_count', labels: {}, value: 2 },
    ]);
  });

  it('refuses what is not the text format', () => {
    expect(() => parsePrometheusText('# TYPE a counter\na{x=1} 3\n')).toThrow(/malformed labels/);
    expect(() => parsePrometheusText('# TYPE a counter\na three\n')).toThrow(/sample value/);
    expect(() => parsePrometheusText('b 1\n')).toThrow(/without a # TYPE/);
    expect(() => parsePrometheusText('# TYPE a countr\n')).toThrow(/unknown metric type/);
    expect(() => parsePrometheusText('<html>\n')).toThrow(/malformed sample/);
  });
});
