import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { type Identity, PUBLIC } from './identity.js';
import { type MetricsContext, createServiceMetrics } from './metrics.js';
import { parsePrometheusText, sumOf } from './metrics-text.js';
import { createSubgraphServer } from './server.js';

describe('createSubgraphServer', () => {
  const entries: Record<string, unknown>[] = [];
  const server = createSubgraphServer<MetricsContext & { identity: Identity; requestId: string }>({
    name: 'catalogue',
    typeDefs: parse('type Query { boom: String, fine: String }'),
    resolvers: {
      Query: {
        boom: () => {
          throw new Error('connection to db-3.internal:27017 reset');
        },
        fine: () => 'ok',
      },
    },
    development: false,
    log: (entry) => entries.push(entry),
  });

  it('logs a masked error with the service, the operation and the request id', async () => {
    const metrics = createServiceMetrics({ service: 'catalogue' });
    const res = await server.executeOperation({ query: 'query Boom__catalogue__0 { boom fine }' }, { contextValue: { identity: PUBLIC, requestId: 'req-12345678', metrics } });
    expect(res.body.kind === 'single' && res.body.singleResult.errors?.map((e) => e.extensions?.code)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(entries).toEqual([
      expect.objectContaining({ level: 'error', service: 'catalogue', operationName: 'Boom__catalogue__0', requestId: 'req-12345678', msg: 'connection to db-3.internal:27017 reset' }),
    ]);
    // Counted by the metrics plugin every subgraph server has, under the masked code.
    const m = parsePrometheusText(await metrics.text());
    expect(sumOf(m, 'partnerskap_graphql_requests_total', { operation: 'Boom__catalogue__0', status: 'partial' })).toBe(1);
    expect(sumOf(m, 'partnerskap_graphql_errors_total', { operation: 'Boom__catalogue__0', code: 'INTERNAL_SERVER_ERROR' })).toBe(1);
  });
});
