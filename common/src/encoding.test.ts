import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPRESS_SYNC_MAX_BYTES, MEDIA_TYPES, chooseEncoding, compress, graphqlMediaType, isCompressible } from './encoding.js';

const ACCEPTS = [
  undefined,
  '',
  '*/*',
  'application/json',
  'application/graphql-response+json',
  // Apollo Client 4's default.
  'application/graphql-response+json,application/json;q=0.9',
  'application/json, application/graphql-response+json',
  'application/graphql-response+json, application/json',
  'application/json;q=0.5, application/graphql-response+json;q=0.6',
  'application/*',
  'application/graphql-response+json;charset=utf-8, */*;q=0.1',
  'application/graphql-response+json;charset=latin1, application/json;q=0.2',
  'application/graphql-response+json;q=0, */*',
  'text/html',
  'text/html, application/xhtml+xml, */*;q=0.8',
];

describe('graphqlMediaType', () => {
  let server: ApolloServer;
  beforeAll(async () => {
    server = new ApolloServer({ typeDefs: 'type Query { hello: String }' });
    await server.start();
  });
  afterAll(() => server.stop());

  it.each(ACCEPTS.map((a) => [a]))('picks what Apollo Server 5 picks for its own 400 with Accept %j', async (accept) => {
    const headers = new HeaderMap([['content-type', 'application/json']]);
    if (accept !== undefined) headers.set('accept', accept);
    // A POST without a query: refused by Apollo before its pipeline, with the content type it negotiated.
    const answer = await server.executeHTTPGraphQLRequest({ httpGraphQLRequest: { method: 'POST', headers, search: '', body: {} }, context: async () => ({}) });
    expect(answer.status).toBe(400);
    expect(graphqlMediaType(accept)).toBe(answer.headers.get('content-type'));
  });

  it('answers application/graphql-response+json to Apollo Client 4 and application/json to curl', () => {
    expect(graphqlMediaType('application/graphql-response+json,application/json;q=0.9')).toBe(MEDIA_TYPES.GRAPHQL_RESPONSE_JSON);
    expect(graphqlMediaType('*/*')).toBe(MEDIA_TYPES.JSON);
  });
});

describe('chooseEncoding', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['identity', undefined],
    ['gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br', 'br'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip;q=1, br;q=0.5', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['*', 'br'],
    ['*;q=0.5, br;q=0', 'gzip'],
    ['deflate', undefined],
    [['gzip', 'br'], 'br'],
    ['GZIP', 'gzip'],
    ['gzip;q=0.5, br;q=0.5', 'br'],
    ['br;q=0.4, x-gzip;q=0.6', 'gzip'],
    ['*;q=0', undefined],
    ['identity, gzip;q=0.1', 'gzip'],
  ] as const)('Accept-Encoding %j: %s', (header, chosen) => {
    expect(chooseEncoding(header as string | string[] | undefined)).toBe(chosen);
  });
});

describe('compress', () => {
  it('gives bodies that decode to the same bytes', async () => {
    const body = Buffer.from(JSON.stringify({ data: { studies: Array.from({ length: 100 }, (_, i) => ({ id: `s-${i}`, name: `Matematikk ${i}` })) } }));
    const br = await compress(body, 'br');
    const gz = await compress(body, 'gzip');
    expect(brotliDecompressSync(br)).toEqual(body);
    expect(gunzipSync(gz)).toEqual(body);
    expect(br.length).toBeLessThan(body.length / 4);
    expect(gz.length).toBeLessThan(body.length / 4);
  });

  it('compresses on the event loop up to COMPRESS_SYNC_MAX_BYTES and on the thread pool past it, to the same bytes', async () => {
    const page = (n: number) =>
      Buffer.from(JSON.stringify({ data: { studies: Array.from({ length: n }, (_, i) => ({ id: `s-${i}`, name: `Matematikk ${i}` })) } }));
    const small = page(100);
    const large = page(1000);
    expect([small.length <= COMPRESS_SYNC_MAX_BYTES, large.length > COMPRESS_SYNC_MAX_BYTES]).toEqual([true, true]);
    for (const body of [small, large]) {
      expect(brotliDecompressSync(await compress(body, 'br'))).toEqual(body);
      expect(gunzipSync(await compress(body, 'gzip'))).toEqual(body);
    }
  });

  it('knows what is worth compressing', () => {
    expect(isCompressible(MEDIA_TYPES.GRAPHQL_RESPONSE_JSON)).toBe(true);
    expect(isCompressible('text/javascript; charset=utf-8')).toBe(true);
    expect(isCompressible('image/png')).toBe(false);
    expect(isCompressible(undefined)).toBe(false);
  });
});
