import { promisify } from 'node:util';
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync } from 'node:zlib';
import Negotiator from 'negotiator';

/** The media types of a GraphQL answer over HTTP, spelt as Apollo Server spells them. */
export const MEDIA_TYPES = Object.freeze({
  JSON: 'application/json; charset=utf-8',
  GRAPHQL_RESPONSE_JSON: 'application/graphql-response+json; charset=utf-8',
} as const);

/** A content coding {@link chooseEncoding} picks. */
export type ContentEncoding = 'br' | 'gzip';

/** Bodies under this many bytes go out as they are: a header and a dictionary cost more than they save. */
export const COMPRESS_MIN_BYTES = 1024;

/** Brotli's quality (0 to 11): 4 compresses JSON nearly as well as gzip's 6 in less CPU; 11 is for build steps, not requests. */
export const BROTLI_QUALITY = 4;

/** Media types worth compressing (JSON, text, scripts, SVG); images and the like already are. */
const COMPRESSIBLE = /^(?:text\/|application\/(?:json|graphql-response\+json|javascript|manifest\+json)|image\/svg\+xml)/i;

/** Whether a `content-type` is worth compressing. */
export function isCompressible(contentType: string | undefined): boolean {
  return contentType !== undefined && COMPRESSIBLE.test(contentType);
}

/**
 * The media type of a GraphQL answer for a request's `Accept`, chosen as Apollo Server 5 chooses it:
 * with the same `negotiator` over `application/json` then `application/graphql-response+json`, so
 * a refusal written here and an answer written by Apollo agree. No `Accept` is `application/json`;
 * `application/graphql-response+json` when the client prefers it (Apollo Client 4 sends
 * `application/graphql-response+json,application/json;q=0.9`). An `Accept` that takes neither
 * still gets `application/json`: a refusal is sent anyway.
 */
export function graphqlMediaType(accept: string | undefined): string {
  if (!accept) return MEDIA_TYPES.JSON;
  return new Negotiator({ headers: { accept } }).mediaType([MEDIA_TYPES.JSON, MEDIA_TYPES.GRAPHQL_RESPONSE_JSON]) ?? MEDIA_TYPES.JSON;
}

/** negotiator 1's `encodings` (its published types are 0.6's, without `preferred`, which breaks ties). */
type Encodings = (available: readonly string[], options: { preferred: readonly string[] }) => string[];
/** What we offer, best first on a tie: `x-gzip` is gzip's old name (RFC 9110). */
const CODINGS = ['br', 'gzip', 'x-gzip'] as const;

/**
 * The content coding for a request's `Accept-Encoding` (by `negotiator`, as Express and Apollo
 * negotiate): `br` or `gzip`, the one with the higher weight, brotli on a tie; undefined when
 * neither is accepted (or there is no header: RFC 9110 allows any coding then, but a client that
 * sends none may not decode one).
 */
export function chooseEncoding(acceptEncoding: string | string[] | undefined): ContentEncoding | undefined {
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(', ') : acceptEncoding;
  if (!header) return undefined;
  const negotiator = new Negotiator({ headers: { 'accept-encoding': header } });
  const [best] = (negotiator.encodings as unknown as Encodings).call(negotiator, CODINGS, { preferred: CODINGS });
  return best === undefined ? undefined : best === 'br' ? 'br' : 'gzip';
}

/**
 * Bodies up to this many bytes are compressed on the event loop, larger ones on libuv's thread
 * pool. Handing a small body to the pool costs more CPU than compressing it (a 5 kB answer with br:
 * about 35 µs of CPU on the loop, 95 µs through the pool), and the loop is held no longer than that.
 * 8 kB is the bound `@fastify/compress` computes for two cores (its `syncThreshold`).
 */
export const COMPRESS_SYNC_MAX_BYTES = 8192;

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

/** Compresses a body: on the event loop up to {@link COMPRESS_SYNC_MAX_BYTES}, else on the thread pool. */
export function compress(body: Buffer, encoding: ContentEncoding): Promise<Buffer> {
  const sync = body.length <= COMPRESS_SYNC_MAX_BYTES;
  if (encoding === 'gzip') return sync ? Promise.resolve(gzipSync(body)) : gzipped(body);
  const options = {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  };
  return sync ? Promise.resolve(brotliCompressSync(body, options)) : brotli(body, options);
}
