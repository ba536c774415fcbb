import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { DEFAULT_LIMITS, type ListeningGateway, createCostEstimator, createGatewayServer, listenGateway, memoryLogger } from '@partnerskap/gateway';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The public pays for what it asks in cost units, per address: a budget per minute that bounds the
// CPU one address can buy whatever mix of cheap and dear operations it sends (docs/security.md).
// Charged before planning, so the subgraphs here are unreachable on purpose: nothing may need one.
const NAMES = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
const SUPERGRAPH = readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8');
const DEAR = '{ studies(first: 100) { edges { node { id name } } } }';
const BUDGET = 1000;
let gateway: ListeningGateway;

beforeAll(async () => {
  const free = createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const closed = (free.address() as AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  const server = createGatewayServer({
    supergraphSdl: SUPERGRAPH,
    subgraphUrls: Object.fromEntries(NAMES.map((n) => [n, `http://127.0.0.1:${closed}/graphql`])),
    development: false,
    // "Bearer partner" is the directorate; no header is the public.
    authenticate: async (authorization) => (authorization === 'Bearer partner' ? { role: 'directorate' } : { role: 'public' }),
    secrets: Object.fromEntries(NAMES.map((n) => [n, 'x'.repeat(32)])),
    logger: memoryLogger(),
    rateLimits: { publicPerMinute: 100_000, partnerPerMinute: 100_000, publicCostPerMinute: BUDGET },
    // The partner here sends the public's documents, no registered one: nobody is held to the registry (trusted-documents.ts).
    trustedDocuments: { roles: [] },
    subgraphCalls: { timeoutMs: 200, connections: 2 },
  });
  gateway = await listenGateway(server, { port: 0 });
}, 30_000);
afterAll(async () => {
  await gateway?.stop();
});

const send = (query: string, authorization?: string) =>
  fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query }),
  });

describe('the public cost budget', () => {
  it('refuses a public address with 429 RATE_LIMITED and Retry-After once its operations have cost the budget; partners and free operations go on', async () => {
    const cost = createCostEstimator(SUPERGRAPH)(parse(DEAR), {});
    expect(cost).toBeGreaterThan(100);
    const allowed = Math.floor(BUDGET / cost);
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i <= allowed && !refused; i++) {
      const res = await send(DEAR);
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      else await res.arrayBuffer();
    }
    // Every request the budget covers went through (to an unreachable subgraph: 200 with its error), the next did not.
    expect(statuses).toEqual([...Array.from({ length: allowed }, () => 200), 429]);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await refused!.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors.map((e) => e.extensions.code)).toEqual(['RATE_LIMITED']);
    // An operation that costs nothing still goes through; a partner has no cost budget of this kind.
    expect(await (await send('{ __typename }')).json()).toEqual({ data: { __typename: 'Query' } });
    expect((await send(DEAR, 'Bearer partner')).status).toBe(200);
  });
});

describe('the cost limits', () => {
  it("refuse the public an operation between its limit and the partners' one; a partner runs it", async () => {
    const page = 'studies(first: 100) { edges { node { id name places applicants admitted rating { average count } } } }';
    const query = `{ a: ${page} b: ${page} c: ${page} d: ${page} e: ${page} f: ${page} g: ${page} }`;
    const cost = createCostEstimator(SUPERGRAPH)(parse(query), {});
    expect(cost).toBeGreaterThan(DEFAULT_LIMITS.cost);
    expect(cost).toBeLessThanOrEqual(DEFAULT_LIMITS.partnerCost);
    const refused = (await (await send(query)).json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(refused.errors.map((e) => e.extensions)).toEqual([{ code: 'LIMIT_EXCEEDED', limit: 'cost', requestId: expect.any(String) }]);
    const partner = (await (await send(query, 'Bearer partner')).json()) as { errors?: { extensions: Record<string, unknown> }[] };
    // Past the limits, it reaches the (unreachable) subgraphs.
    expect(partner.errors?.map((e) => e.extensions.code)).not.toContain('LIMIT_EXCEEDED');
  });
});
