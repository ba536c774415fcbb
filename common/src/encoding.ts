import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

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

/** One element of an `Accept` or `Accept-Encoding` list: its name, parameters (lower-case, `q` apart), weight and place. */
interface Preference {
  name: string;
  params: Record<string, string>;
  q: number;
  order: number;
}

function parseList(header: string): Preference[] {
  return header.split(',').flatMap((part, order) => {
    const [name, ...rest] = part.split(';').map((s) => s.trim());
    if (!name) return [];
    const params: Record<string, string> = {};
    let q = 1;
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
      if (key === 'q') q = Number.isFinite(Number(value)) ? Math.min(1, Math.max(0, Number(value))) : 0;
      else params[key] = value;
    }
    return [{ name: name.toLowerCase(), params, q, order }];
  });
}

/** How well an `Accept` list takes `type/subtype; charset=utf-8`: its weight by the most specific range that matches. */
function weightOf(ranges: readonly Preference[], mediaType: string): { q: number; specificity: number; order: number } | undefined {
  const [type, subtype] = mediaType.split(';')[0]!.split('/') as [string, string];
  let best: { q: number; specificity: number; order: number } | undefined;
  for (const range of ranges) {
    const [rt, rs] = range.name.split('/');
    let specificity = 0;
    if (rt === type) specificity |= 4;
    else if (rt !== '*') continue;
    if (rs === subtype) specificity |= 2;
    else if (rs !== '*') continue;
    // A range with parameters matches only ours (charset=utf-8).
    const params = Object.entries(range.params);
    if (params.length > 0) {
      if (params.every(([k, v]) => v === '*' || (k === 'charset' && v === 'utf-8'))) specificity |= 1;
      else continue;
    }
    const candidate = { q: range.q, specificity, order: range.order };
    if (!best || (best.specificity - specificity || best.q - candidate.q || best.order - candidate.order) < 0) best = candidate;
  }
  return best;
}

/**
 * The media type of a GraphQL answer for a request's `Accept`, chosen as Apollo Server 5 chooses it
 * (the `negotiator` package over `application/json` then `application/graphql-response+json`): no
 * `Accept` or `*∕*` is `application/json`; `application/graphql-response+json` when the client
 * prefers it (Apollo Client 4 sends `application/graphql-response+json,application/json;q=0.9`).
 * An `Accept` that takes neither still gets `application/json`: a refusal is sent anyway.
 */
export function graphqlMediaType(accept: string | undefined): string {
  if (!accept) return MEDIA_TYPES.JSON;
  const ranges = parseList(accept);
  const candidates = [MEDIA_TYPES.JSON, MEDIA_TYPES.GRAPHQL_RESPONSE_JSON].map((type, index) => ({ type, index, weight: weightOf(ranges, type) }));
  const ranked = candidates
    .filter((c) => c.weight && c.weight.q > 0)
    .sort((a, b) => b.weight!.q - a.weight!.q || b.weight!.specificity - a.weight!.specificity || a.weight!.order - b.weight!.order || a.index - b.index);
  return ranked[0]?.type ?? MEDIA_TYPES.JSON;
}

/**
 * The content coding for a request's `Accept-Encoding`: `br` or `gzip`, the one with the higher
 * weight, brotli on a tie; undefined when neither is accepted (or there is no header: RFC 9110
 * allows any coding then, but a client that sends none may not decode one).
 */
export function chooseEncoding(acceptEncoding: string | string[] | undefined): ContentEncoding | undefined {
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(',') : acceptEncoding;
  if (!header) return undefined;
  const listed = parseList(header);
  const weight = (...names: string[]) => {
    const found = listed.find((p) => names.includes(p.name)) ?? listed.find((p) => p.name === '*');
    return found?.q ?? 0;
  };
  const br = weight('br');
  const gz = weight('gzip', 'x-gzip');
  if (br > 0 && br >= gz) return 'br';
  return gz > 0 ? 'gzip' : undefined;
}

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

/** Compresses a body (on libuv's thread pool: the event loop stays free). */
export function compress(body: Buffer, encoding: ContentEncoding): Promise<Buffer> {
  if (encoding === 'gzip') return gzipped(body);
  return brotli(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  });
}
