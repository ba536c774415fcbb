import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type ListeningGateway, createGatewayServer, listenGateway, memoryLogger } from '@partnerskap/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What an outside attack sent the gateway: a tiny document whose fragments double at every link,
// and request shapes Apollo turned into HTTP 500 with a stack in the log. Each must be answered or
// refused at once, with the event loop free, the same way in production and in development. The
// gateway runs over the committed supergraph with every subgraph unreachable: nothing here may
// need one.
const NAMES = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
const gateways = {} as Record<'production' | 'development', { listening: ListeningGateway; logger: ReturnType<typeof memoryLogger> }>;

beforeAll(async () => {
  const free = createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const closed = (free.address() as AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  for (const mode of ['production', 'development'] as const) {
    const logger = memoryLogger();
    const gateway = createGatewayServer({
      supergraphSdl: readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'),
      subgraphUrls: Object.fromEntries(NAMES.map((n) => [n, `http://127.0.0.1:${closed}/graphql`])),
      development: mode === 'development',
      authenticate: async () => ({ role: 'public' }),
      secrets: Object.fromEntries(NAMES.map((n) => [n, 'x'.repeat(32)])),
      logger,
      rateLimits: { publicPerMinute: 100_000, partnerPerMinute: 100_000 },
      subgraphCalls: { timeoutMs: 300, connections: 2 },
    });
    gateways[mode] = { listening: await listenGateway(gateway, { port: 0 }), logger };
    // Warm: a fresh process's first requests pay for compiling the pipeline, not for the document.
    for (const query of ['{ __typename }', fragmentChain(3, (next) => `...${next} ...${next}`)]) await post(gateways[mode].listening.url, { query });
  }
}, 60_000);
afterAll(async () => {
  await Promise.all(Object.values(gateways).map((g) => g.listening.stop()));
});

/** `query { ...F0 }` (or what `head` says) and fragments F0..F(links-1), each spreading the next as `body` says. */
const fragmentChain = (links: number, body: (next: string) => string, head = 'query { ...F0 }'): string =>
  [head, ...Array.from({ length: links }, (_, i) => `fragment F${i} on Query { ${body(`F${i + 1}`)} }`), `fragment F${links} on Query { __typename }`].join(
    '\n',
  );

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

/** How long the event loop was held while a request ran: the largest gap between 1 ms timers. */
async function withLoopWatch<T>(run: () => Promise<T>): Promise<{ result: T; ms: number; heldMs: number }> {
  let last = performance.now();
  let held = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    held = Math.max(held, now - last);
    last = now;
  }, 1);
  const started = performance.now();
  try {
    const result = await run();
    return { result, ms: performance.now() - started, heldMs: held };
  } finally {
    clearInterval(timer);
  }
}

describe.each(['production', 'development'] as const)('the %s gateway', (mode) => {
  const url = () => gateways[mode].listening.url;

  const chains = {
    'fragments each spreading the next twice': fragmentChain(30, (next) => `...${next} ...${next}`),
    'the same inside inline fragments': fragmentChain(30, (next) => `... on Query { ...${next} } ... { ...${next} }`),
    'the chain under a field of the graph': fragmentChain(30, (next) => `...${next} ...${next}`, 'query { subjects { code } ...F0 }'),
    'several operations in one document, the chain in each': fragmentChain(30, (next) => `...${next} ...${next}`, 'query A { ...F0 } query B { ...F1 }'),
  };
  // Retried: another test file runs on the other core, and a scheduling hiccup can cost a few ms; an
  // expansion that blew up would take seconds, every time.
  it.each(Object.entries(chains))('refuses %s (n = 30) within 50 ms, the event loop free', { retry: 2 }, async (_, query) => {
    // In the gateway's own process: a held loop would delay the 1 ms timer as it delays every other request.
    const several = query.includes('query A');
    for (const operationName of several ? [undefined, 'A', 'B'] : [undefined]) {
      const { result: res, ms, heldMs } = await withLoopWatch(() => post(url(), { query, ...(operationName ? { operationName } : {}) }));
      const body = (await res.json()) as { errors: { extensions: Record<string, unknown> }[] };
      expect(res.status).toBe(400);
      // Several operations and no name: malformed before it is measured.
      const refusal = several && !operationName ? { code: 'BAD_REQUEST' } : { code: 'LIMIT_EXCEEDED', limit: 'fields' };
      expect(body.errors.map((e) => e.extensions)).toEqual([{ ...refusal, requestId: expect.any(String) }]);
      expect(ms).toBeLessThan(50);
      expect(heldMs).toBeLessThan(50);
    }
  });

  it('answers { __typename } at once while a chain is being refused', async () => {
    const chain = post(url(), { query: chains['fragments each spreading the next twice'] });
    const started = performance.now();
    const plain = await post(url(), { query: '{ __typename }' });
    expect(await plain.json()).toEqual({ data: { __typename: 'Query' } });
    expect(performance.now() - started).toBeLessThan(50);
    expect((await chain).status).toBe(400);
  });

  const malformed: Record<string, unknown> = {
    'two operations and no operationName': { query: 'query A { __typename } query B { __typename }' },
    'operationName "__proto__"': { query: 'query A { __typename }', operationName: '__proto__' },
    'operationName "constructor"': { query: 'query A { __typename } query B { __typename }', operationName: 'constructor' },
    'an operationName the document does not have': { query: 'query A { __typename }', operationName: 'B' },
    'operationName not a string': { query: '{ __typename }', operationName: 7 },
    'a query that is not a string': { query: { kind: 'Document' } },
    'variables that are not an object': { query: 'query($y: Int) { __typename }', variables: [1] },
    'extensions that are not an object': { query: '{ __typename }', extensions: 'x' },
    'no query': { variables: {} },
    'a body that is not an object': [{ query: '{ __typename }' }],
    'a body that is not JSON': '{"query": ',
  };
  it.each(Object.entries(malformed))('answers %s with HTTP 400 and no stack in the log', async (_, body) => {
    const logger = gateways[mode].logger;
    const before = logger.entries.length;
    const res = await post(url(), body);
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(text).not.toMatch(/stack|\bat \w+ \(|node_modules|\.ts:\d+/);
    const json = JSON.parse(text) as { errors: { extensions: { code: string } }[] };
    expect(json.errors.map((e) => e.extensions.code)).toEqual([expect.stringMatching(/^(BAD_REQUEST|GRAPHQL_PARSE_FAILED)$/)]);
    const logged = logger.entries.slice(before);
    expect(logged.filter((e) => e.level === 'error' || ('stack' in e && e.stack))).toEqual([]);
  });

  it('answers an introspection query that asks for isOneOf (graphql 16.9+) as valid, never a 500', async () => {
    const res = await post(url(), { query: '{ __schema { types { name isOneOf } } }' });
    const body = (await res.json()) as { data?: unknown; errors?: { extensions: { code: string } }[] };
    if (mode === 'development') {
      expect(res.status).toBe(200);
      expect(body.errors).toBeUndefined();
    } else {
      expect(res.status).toBe(400);
      expect(body.errors!.map((e) => e.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    }
  });

  it('answers a document the query planner refuses after validation with 400 GRAPHQL_VALIDATION_FAILED, not a 500', async () => {
    // isOneOf beside a field of the graph goes to the planner, whose introspection types lack it.
    const logger = gateways[mode].logger;
    const before = logger.entries.length;
    const res = await post(url(), { query: '{ __type(name: "Study") { name isOneOf } subjects { code } }' });
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(res.status).toBe(400);
    expect(body.errors.map((e) => e.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(logger.entries.slice(before).filter((e) => e.level === 'error')).toEqual([]);
  });
});
