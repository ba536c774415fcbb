import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// The gateway compresses what it answers when the client accepts it (br preferred, then gzip), from
// 1 kB: a page of 100 studies and the insights page's script, as a browser asks for them.
const PAGE = '{ studies(first: 100) { totalCount edges { node { id name year places applicants admitted rating { average count } } } } }';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

/** A request whose body is read as sent (fetch would decode it). */
function send(url: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const json = body === undefined ? {} : { 'content-type': 'application/json' };
    request(url, { method: body === undefined ? 'GET' : 'POST', headers: { ...json, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end(body);
  });
}
const decoded = (res: { headers: Record<string, unknown>; body: Buffer }): string =>
  (res.headers['content-encoding'] === 'br'
    ? brotliDecompressSync(res.body)
    : res.headers['content-encoding'] === 'gzip'
      ? gunzipSync(res.body)
      : res.body
  ).toString('utf8');

describe('compression', () => {
  it('a page of 100 studies: br or gzip when accepted, a fraction of the bytes, the same JSON; as it is when not', async () => {
    const body = JSON.stringify({ query: PAGE });
    const plain = await send(h.gateway.url, {}, body);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('accept-encoding');
    const page = JSON.parse(plain.body.toString('utf8')) as { data: { studies: { edges: unknown[] } }; errors?: unknown };
    expect(page.errors).toBeUndefined();
    expect(page.data.studies.edges).toHaveLength(100);
    const sizes: Record<string, number> = { identity: plain.body.length };
    for (const [accept, encoding] of [
      ['br', 'br'],
      ['gzip', 'gzip'],
      ['gzip, deflate, br, zstd', 'br'],
      ['identity', undefined],
    ] as const) {
      const res = await send(h.gateway.url, { 'accept-encoding': accept }, body);
      expect([accept, res.status, res.headers['content-encoding']]).toEqual([accept, 200, encoding]);
      expect(Number(res.headers['content-length'])).toBe(res.body.length);
      expect(JSON.parse(decoded(res))).toEqual(page);
      sizes[accept] = res.body.length;
    }
    // Measured over the demo data: 15,857 bytes as JSON, 1,188 br and 1,183 gzip.
    expect(sizes.br).toBeLessThan(sizes.identity! / 5);
    expect(sizes.gzip).toBeLessThan(sizes.identity! / 5);
  });

  it('the insights page script, with an etag of its own per form; a small answer is never compressed', async () => {
    const script = new URL('/insights/insights.js', h.gateway.url).href;
    const plain = await send(script, {});
    const br = await send(script, { 'accept-encoding': 'br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.body.length).toBeLessThan(plain.body.length / 2);
    expect(decoded(br)).toBe(plain.body.toString('utf8'));
    expect(br.headers.etag).not.toBe(plain.headers.etag);
    const small = await send(h.gateway.url, { 'accept-encoding': 'br' }, JSON.stringify({ query: '{ __typename }' }));
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(small.body.toString('utf8'))).toEqual({ data: { __typename: 'Query' } });
  });
});
