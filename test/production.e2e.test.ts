import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// The gateway as it runs with NODE_ENV=production: no introspection, no Sandbox, no field
// suggestions, no stack traces, CORS for the configured partner origins only, Apollo's CSRF
// prevention on, and a rate limit per caller. The development gateway, for contrast.
const PARTNER = 'https://partner.example.no';
const PUBLIC_PER_MINUTE = 40;
let prod: Harness;
let dev: Harness;

beforeAll(async () => {
  [prod, dev] = await Promise.all([
    startHarness({
      seedProjections: false,
      development: false,
      gateway: { corsOrigins: [PARTNER], rateLimits: { publicPerMinute: PUBLIC_PER_MINUTE, partnerPerMinute: 10_000 } },
    }),
    startHarness({ seedProjections: false }),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([prod?.close(), dev?.close()]);
});

const codes = (res: { errors?: { extensions?: Record<string, unknown> }[] }) => res.errors?.map((e) => e.extensions?.code) ?? [];

const operation = (name: string) => readFileSync(new URL(`../operations/${name}.graphql`, import.meta.url), 'utf8');

// Before the rate limit's test, which spends the public's budget for this address.
describe('trusted documents in production', () => {
  const manifest = JSON.parse(readFileSync(new URL('../operations/manifest.json', import.meta.url), 'utf8')) as {
    operations: { id: string; name: string; body: string }[];
  };
  const heading = manifest.operations.find((o) => o.name === 'AdmissionDeskHeading')!;
  const send = async (h: Harness, body: unknown, token?: string) => {
    const res = await fetch(h.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] } };
  };
  const refused = (code: string) => ({ errors: [{ message: expect.any(String), extensions: { code, requestId: expect.any(String) } }] });

  it("lets a partner send registered documents only (by id or as their text), refuses any other before it is parsed; the public and the subgraphs' service tokens are not held to them", async () => {
    const institution = await prod.token({ role: 'institution', org: '874789542' });
    const variables = { orgNumber: '874789542' };
    // By id (the trusted documents convention's documentId, and APQ's hash), answered as the document's text is in development.
    const expected = await send(dev, { query: heading.body, variables });
    expect(expected).toMatchObject({ status: 200, body: { data: { institution: { __typename: 'Institution', orgNumber: '874789542' } } } });
    expect(await send(prod, { documentId: `sha256:${heading.id}`, variables }, institution)).toEqual(expected);
    expect(await send(prod, { extensions: { persistedQuery: { version: 1, sha256Hash: heading.id } }, variables }, institution)).toEqual(expected);
    // As its text: a registered file as it is (comments and all), without Apollo Client's __typename.
    const applications = await send(
      prod,
      { query: operation('institution-applications'), variables: { institution: '874789542', year: 2024, first: 2 } },
      institution,
    );
    expect(applications.status).toBe(200);
    expect(applications.body.errors).toBeUndefined();
    // Anything else: refused with a code, before parsing (development parses the same text and says it does not parse).
    expect(await send(prod, { query: '{ subjects { code } }' }, institution)).toEqual({ status: 403, body: refused('QUERY_NOT_IN_SAFELIST') });
    expect(await send(prod, { query: '{ study(id: "x") { id' }, institution)).toEqual({ status: 403, body: refused('QUERY_NOT_IN_SAFELIST') });
    expect(await send(dev, { query: '{ study(id: "x") { id' }, await dev.token({ role: 'institution', org: '874789542' }))).toMatchObject({
      status: 400,
      body: refused('GRAPHQL_PARSE_FAILED'),
    });
    expect(await send(prod, { documentId: `sha256:${'0'.repeat(64)}` }, institution)).toEqual({ status: 404, body: refused('PERSISTED_QUERY_NOT_IN_LIST') });
    // The public and the service role send any document (bounded by the limits and the contract).
    expect(await send(prod, { query: '{ subjects { code } }' })).toMatchObject({ status: 200, body: { data: { subjects: expect.any(Array) } } });
    expect(await send(prod, { query: '{ __typename }' }, await prod.token({ role: 'service' }))).toEqual({
      status: 200,
      body: { data: { __typename: 'Query' } },
    });
  });
});

describe('production mode', () => {
  it('refuses introspection (development allows it)', async () => {
    const q = '{ __schema { queryType { name } } }';
    expect(codes(await prod.query(q))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect((await dev.query<any>(q)).data.__schema.queryType.name).toBe('Query');
  });

  it('serves no Sandbox (development does)', async () => {
    const page = (url: string) => fetch(url, { headers: { accept: 'text/html' } });
    expect((await page(prod.gateway.url)).headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect((await page(dev.gateway.url)).headers.get('content-type')).toMatch(/text\/html/);
  });

  it('gives no field suggestions (development does)', async () => {
    const q = '{ studys(first: 1) { totalCount } }';
    const p = await prod.query(q);
    expect(codes(p)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(p.errors![0]!.message).not.toMatch(/Did you mean/);
    expect((await dev.query(q)).errors![0]!.message).toMatch(/Did you mean .*"studies"/);
  });

  it('shows no stack traces, in any error', async () => {
    for (const q of [
      '{ nope }',
      '{ studies(first: 0) { totalCount } }',
      '{ study(id: "x") { id',
      'mutation { eraseTeacherRecord(teacher: "t-x") { records } }',
    ]) {
      const res = await prod.query(q);
      expect(JSON.stringify(res)).not.toMatch(/stacktrace|exception|\.ts:\d+|node_modules/);
    }
  });

  it('serves /metrics only when asked to (development always)', async () => {
    expect((await fetch(new URL('/metrics', prod.gateway.url))).status).toBe(404);
    expect(await (await fetch(new URL('/metrics', dev.gateway.url))).text()).toMatch(/^partnerskap_in_flight_requests\{service="gateway"\} \d+$/m);
  });

  it('answers CORS for the configured partner origins only', async () => {
    const preflight = (origin: string) =>
      fetch(prod.gateway.url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
    const ok = await preflight(PARTNER);
    expect(ok.headers.get('access-control-allow-origin')).toBe(PARTNER);
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    const post = await fetch(prod.gateway.url, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{"query":"{ subjects { code } }"}',
    });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps Apollo’s CSRF prevention: a simple GET needs a preflight header', async () => {
    const url = `${prod.gateway.url}?query=${encodeURIComponent('{ subjects { code } }')}`;
    const simple = await fetch(url);
    expect(simple.status).toBe(400);
    const preflighted = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(200);
  });

  it('limits the public per address with 429 and Retry-After; X-Forwarded-For from an untrusted peer changes nothing; partners have their own bucket', async () => {
    let limited: Response | undefined;
    let sent = 0;
    while (!limited && sent < PUBLIC_PER_MINUTE + 2) {
      const res = await fetch(prod.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.0.0.${sent}` },
        body: '{"query":"{ subjects { code } }"}',
      });
      sent++;
      if (res.status === 429) limited = res;
    }
    expect(limited, 'the limit was reached').toBeDefined();
    expect(sent).toBeLessThanOrEqual(PUBLIC_PER_MINUTE + 1);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await limited!.json()).errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
    // A partner in production sends registered documents (trusted documents, below): this one as its file's text.
    const partner = await prod.query(
      operation('catalogue-studies'),
      { year: 2024, first: 1 },
      { token: await prod.token({ role: 'school-owner', org: '4601' }) },
    );
    expect(partner.status).toBe(200);
  });
});
