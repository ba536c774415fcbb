import { createHash, randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo, Server as NetServer } from 'node:net';
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server';
import cors from 'cors';
import getRawBody from 'raw-body';
import { COMPRESS_MIN_BYTES, type ContentEncoding, MEDIA_TYPES, chooseEncoding, compress, graphqlMediaType, isCompressible } from './encoding.js';
import { ERROR_BEHAVIOURS, ERROR_BEHAVIOUR_PARAMETER, requestedErrorBehaviour, setErrorBehaviour } from './error-behaviour.js';
import { ErrorCode } from './errors.js';
import { type ServiceMetrics, statusOf } from './metrics.js';
import { type Tracer, describeRequest, traceRequest } from './telemetry.js';

/** The header that carries a request's correlation id: answered to clients, passed to subgraphs, in every log line. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** The largest request body accepted (bytes): the registered operations are far below it. */
export const DEFAULT_BODY_LIMIT = 100_000;

/** How long `stop()` lets requests in flight finish before it closes their connections (ms). */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** A plain HTTP answer (a refusal before GraphQL runs, or a health check). */
export interface PlainAnswer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** What {@link ServeOptions.prepare} decides: the request goes on to Apollo Server as given back (its body and query string, as `?a=b`), or is answered here (undefined: it goes on as it came). */
export type PreparedRequest = { body: unknown; search: string } | { refused: PlainAnswer };

/** A file served as it is on disk at one exact path: a page or one of its assets. */
export interface StaticAsset {
  /** The file's absolute path (read at the first request, and again when it changes on disk). */
  file: string;
  /** Its `content-type`. */
  contentType: string;
  /** More headers on its answers (a page's `content-security-policy`). */
  headers?: Readonly<Record<string, string>>;
}

/** What {@link serveGraphQL} needs. */
export interface ServeOptions<C extends BaseContext> {
  /** The Apollo Server (not started: this starts it). */
  server: ApolloServer<C>;
  port: number;
  host?: string;
  /** Where GraphQL is served: `/` for the gateway, `/graphql` for subgraphs. */
  path: string;
  /** Request bodies over this many bytes get 413 without being read further. */
  bodyLimitBytes?: number;
  /** Origins allowed to call from a browser (`*` for any; empty: no CORS headers at all). */
  corsOrigins?: readonly string[];
  /** Whose request it is: an id for the context, or a plain answer that refuses it (401, 429). */
  admit(req: IncomingMessage, requestId: string): Promise<{ context: C } | PlainAnswer>;
  /**
   * Looks at an admitted request before Apollo Server reads its document (the gateway's trusted
   * documents): what goes on to Apollo (a registered document's id replaced by its text), or a plain
   * answer that refuses it. Absent: every request goes on as it came.
   */
  prepare?(request: { context: C; method: string; body: unknown; search: URLSearchParams }): PreparedRequest | undefined;
  /** The request id: a trusted upstream's, or a new one. */
  requestId?(req: IncomingMessage): string;
  /**
   * The service's metrics: served at `GET /metrics`, put into each admitted request's context (as
   * `metrics`, for {@link useRequestMetrics}), and counting what is answered before GraphQL runs.
   * Absent: no `/metrics` and nothing counted.
   */
  metrics?: ServiceMetrics;
  /** How long `stop()` lets requests in flight finish (default {@link DEFAULT_SHUTDOWN_GRACE_MS}). */
  shutdownGraceMs?: number;
  /**
   * Files served by URL path (`GET` and `HEAD`; default none): only these exact paths, looked up,
   * never joined onto a directory, so no other file can be reached. Each answer carries
   * `x-content-type-options: nosniff`, a strong `etag` (304 for `if-none-match`) and
   * `cache-control: no-cache` (the paths carry no version: a browser revalidates, and gets 304).
   */
  assets?: Readonly<Record<string, StaticAsset>>;
  /** What `/ready` checks (each must be true for 200). */
  ready(): Promise<Record<string, boolean>>;
  /** What `/ready` reports beside its checks, without deciding its status (the gateway's `partners`); a failure leaves it out. */
  readyDetails?(): Promise<Record<string, unknown>>;
  /** Where unexpected failures of the HTTP layer are logged. */
  log(entry: Record<string, unknown>): void;
  /**
   * Traces each request to `path` in a server span of this tracer, continuing the caller's W3C trace
   * context (telemetry.ts, docs/tracing.md). Absent (tracing off): no tracing work at all.
   */
  tracer?: Tracer;
}

/** Options of {@link ListeningService.stop}. */
export interface StopOptions {
  /** Overrides the service's grace period (ms). */
  graceMs?: number;
}

/** A GraphQL service listening for HTTP. */
export interface ListeningService {
  url: string;
  port: number;
  /**
   * Stops gracefully: `/ready` answers 503 at once and no new connection is accepted; requests in
   * flight finish, and every answer from then on closes its connection (a keep-alive client's next
   * request is still answered); once none is in flight, idle connections close; after the grace
   * period whatever is still open is cut. Then the Apollo Server stops. Calling it again returns
   * the same promise.
   */
  stop(options?: StopOptions): Promise<void>;
}

/**
 * Writes a plain answer: a refusal (a body with `errors`) as a GraphQL response in the media type
 * the client's `Accept` prefers, as Apollo Server answers its own (`application/graphql-response+json`
 * for Apollo Client 4, whose HttpLink then reads it as GraphQL errors whatever the status; else
 * `application/json`); anything else (health) as JSON. Small: never compressed.
 */
const json = (req: IncomingMessage, res: ServerResponse, answer: PlainAnswer, extra: Record<string, string>) => {
  const refusal = Array.isArray((answer.body as { errors?: unknown } | null)?.errors);
  // Every refusal carries the id a client may quote (404 and 405 too).
  if (refusal && extra[REQUEST_ID_HEADER]) addRequestId(answer.body, extra[REQUEST_ID_HEADER]);
  const body = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': refusal ? graphqlMediaType(req.headers.accept) : MEDIA_TYPES.JSON,
    'content-length': Buffer.byteLength(body),
    ...extra,
    ...answer.headers,
  });
  res.end(body);
};

/** `Vary` with `Accept-Encoding` added to what is there (CORS's `Origin`). */
const varyOnEncoding = (headers: Record<string, string>): string => (headers.vary ? `${headers.vary}, accept-encoding` : 'accept-encoding');

/**
 * Writes a body, compressed when its type is text, it is at least {@link COMPRESS_MIN_BYTES} and the
 * client accepts br (preferred) or gzip; `Vary: Accept-Encoding` on every compressible answer.
 */
async function sendBody(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer): Promise<void> {
  if (!isCompressible(headers['content-type'])) {
    res.writeHead(status, { ...headers, 'content-length': String(body.length) });
    res.end(body);
    return;
  }
  const encoding = body.length >= COMPRESS_MIN_BYTES ? chooseEncoding(req.headers['accept-encoding']) : undefined;
  const sent = encoding ? await compress(body, encoding) : body;
  res.writeHead(status, {
    ...headers,
    vary: varyOnEncoding(headers),
    ...(encoding ? { 'content-encoding': encoding } : {}),
    'content-length': String(sent.length),
  });
  res.end(sent);
}

/** A JSON error body with one error of our codes. */
export function errorBody(code: string, message: string, extensions: Record<string, unknown> = {}): unknown {
  return { errors: [{ message, extensions: { code, ...extensions } }] };
}

/** A file as last read: served from memory until its size or modification time changes. */
interface ReadAsset {
  mtimeMs: number;
  size: number;
  body: Buffer;
  etag: string;
  /** Its compressed forms, made at the first request that accepts each. */
  encoded: Partial<Record<ContentEncoding, Promise<Buffer>>>;
}

/** Serves one {@link StaticAsset} (its file read again only when it changed on disk). */
async function serveAsset(
  req: IncomingMessage,
  res: ServerResponse,
  asset: StaticAsset,
  cache: Map<string, ReadAsset>,
  extra: Record<string, string>,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return json(req, res, { status: 405, headers: { allow: 'GET, HEAD' }, body: errorBody('BAD_REQUEST', 'Only GET and HEAD are served here') }, extra);
  const info = await stat(asset.file);
  let read = cache.get(asset.file);
  if (!read || read.mtimeMs !== info.mtimeMs || read.size !== info.size) {
    const body = await readFile(asset.file);
    read = { mtimeMs: info.mtimeMs, size: info.size, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, encoded: {} };
    cache.set(asset.file, read);
  }
  const compressible = isCompressible(asset.contentType);
  const encoding = compressible && read.body.length >= COMPRESS_MIN_BYTES ? chooseEncoding(req.headers['accept-encoding']) : undefined;
  // A compressed form is another representation: its own strong etag ("<hash>-br").
  const etag = encoding ? `${read.etag.slice(0, -1)}-${encoding}"` : read.etag;
  const headers: Record<string, string> = {
    ...extra,
    'content-type': asset.contentType,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
    etag,
    ...asset.headers,
  };
  if (compressible) headers.vary = varyOnEncoding(extra);
  const tags = req.headers['if-none-match']?.split(',').map((t) =>
    t
      .trim()
      .replace(/^W\//, '')
      .replace(/-(?:br|gzip)"$/, '"'),
  );
  if (tags?.includes(read.etag) || tags?.includes('*')) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = encoding ? await (read.encoded[encoding] ??= compress(read.body, encoding)) : read.body;
  res.writeHead(200, { ...headers, ...(encoding ? { 'content-encoding': encoding } : {}), 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Reads a body up to `limit` bytes (`raw-body`: a declared `content-length` over it is refused
 * before a byte is read); undefined when it is larger. The rest is then read and dropped, not
 * kept, so the connection can carry its next request.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  try {
    return (await getRawBody(req, { length: req.headers['content-length'] ?? null, limit })).toString('utf8');
  } catch (err) {
    if ((err as { type?: unknown }).type !== 'entity.too.large') throw err;
    req.resume();
    return undefined;
  }
}

/** Puts the request id into every error of a GraphQL answer, so a client can quote it. */
function addRequestId(body: unknown, requestId: string): void {
  const errors = (body as { errors?: { extensions?: Record<string, unknown> }[] } | null)?.errors;
  if (Array.isArray(errors)) for (const e of errors) e.extensions = { ...e.extensions, requestId };
}

/** The same for an answer already serialised: parsed and written again only when it holds errors. */
function withRequestId(body: string, requestId: string): string {
  if (!body.includes('"errors"')) return body;
  try {
    const parsed: unknown = JSON.parse(body);
    addRequestId(parsed, requestId);
    return JSON.stringify(parsed);
  } catch {
    return body;
  }
}

/**
 * Whether a browser origin is one of `origins`: exactly, `*` for any, or `http://localhost:*` for
 * that scheme and host on any port (a frontend's dev server moves between 3000, 5173, 8080...).
 */
export function originMatcher(origins: readonly string[]): (origin: string) => boolean {
  const exact = new Set(origins.filter((o) => !o.endsWith(':*')));
  const anyPort = origins.filter((o) => o.endsWith(':*')).map((o) => o.slice(0, -1));
  return (origin) => exact.has('*') || exact.has(origin) || anyPort.some((p) => origin.startsWith(p) && /^\d{1,5}$/.test(origin.slice(p.length)));
}

/**
 * Serves an Apollo Server over node:http, instead of `startStandaloneServer` (which always answers
 * CORS `*` and accepts 50 MB bodies): explicit CORS origins, a body cap (413), a correlation id on
 * every answer and error, `/health` (the process is alive) and `/ready` (it can serve), and a hook
 * that admits or refuses each request before GraphQL runs (credentials, rate limits). CORS is the
 * `cors` middleware's, the body cap `raw-body`'s, content negotiation `negotiator`'s; static files,
 * compression and draining are ours, each measured faster or kept for what it does
 * (docs/performance.md, "The HTTP layer").
 */
export async function serveGraphQL<C extends BaseContext>(options: ServeOptions<C>): Promise<ListeningService> {
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const anyOrigin = (options.corsOrigins ?? []).includes('*');
  const allowed = originMatcher(options.corsOrigins ?? []);
  const { metrics } = options;
  // A Map, not the options' object: a path such as `/__proto__` must not find anything inherited.
  const assets = new Map(Object.entries(options.assets ?? {}));
  const assetCache = new Map<string, ReadAsset>();
  await options.server.start();

  // CORS by the `cors` middleware: an allowed origin is answered with itself (`*` when any is
  // allowed), any other with no CORS header at all; a preflight gets the methods, headers and max-age.
  const corsMiddleware = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed(origin) ? (anyOrigin ? '*' : true) : false),
    methods: 'GET, POST, OPTIONS',
    allowedHeaders: 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, x-request-id',
    exposedHeaders: REQUEST_ID_HEADER,
    maxAge: 600,
    // Not answered by cors: a preflight to the GraphQL path gets 204 below, with the request id.
    preflightContinue: true,
  });
  /**
   * The CORS headers of an answer, as the middleware writes them (one `setHeader` each), gathered
   * into the headers object every answer here is written with: `writeHead` then takes it as it is
   * (Node's fast path), and a refusal written by {@link json} carries them as before.
   */
  const corsHeaders = (req: IncomingMessage): Promise<Record<string, string>> => {
    const headers: Record<string, string> = {};
    const gather = {
      getHeader: (name: string) => headers[name.toLowerCase()],
      setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    };
    return new Promise((resolve, reject) =>
      // cors passes on only what the origin callback reports, and ours reports no error.
      corsMiddleware(req, gather as unknown as ServerResponse, (err?: Error) => {
        if (err) return reject(err);
        // `*` leaves out `Vary: Origin`, yet with no Origin the answer has no CORS headers.
        if (anyOrigin && headers['access-control-allow-origin']) headers.vary = 'Origin';
        resolve(headers);
      }),
    );
  };

  /** Set by `stop()`: `/ready` answers 503 and every answer closes its connection. */
  let draining = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = options.requestId?.(req) ?? randomUUID();
    // Without an Origin (a server, such as the gateway calling a subgraph) cors adds nothing.
    const common = { ...(req.headers.origin === undefined ? {} : await corsHeaders(req)), [REQUEST_ID_HEADER]: requestId };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') return json(req, res, { status: 200, body: { status: 'alive' } }, common);
    if (url.pathname === '/ready') {
      if (draining) return json(req, res, { status: 503, body: { status: 'draining', checks: { accepting: false } } }, common);
      const [checks, details] = await Promise.all([options.ready().catch(() => ({ ready: false })), options.readyDetails?.().catch(() => ({})) ?? {}]);
      const ok = Object.values(checks).every(Boolean);
      return json(req, res, { status: ok ? 200 : 503, body: { status: ok ? 'ready' : 'not ready', checks, ...details } }, common);
    }
    if (url.pathname === '/metrics' && metrics) {
      return sendBody(req, res, 200, { 'content-type': metrics.contentType, ...common }, Buffer.from(await metrics.text()));
    }
    const asset = assets.get(url.pathname);
    if (asset) {
      return serveAsset(req, res, asset, assetCache, common).catch((err: unknown) => {
        options.log({ level: 'error', msg: 'a static asset could not be read', path: url.pathname, file: asset.file, error: String(err) });
        if (!res.headersSent) json(req, res, { status: 404, body: errorBody('NOT_FOUND', 'Not found') }, common);
      });
    }
    if (url.pathname !== options.path) return json(req, res, { status: 404, body: errorBody('NOT_FOUND', `GraphQL is served at ${options.path}`) }, common);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, common);
      res.end();
      return;
    }
    const started = performance.now();
    if (metrics) {
      metrics.inFlight.inc();
      res.once('close', () => metrics.inFlight.dec());
    }
    /** Counts a request answered here, before Apollo's pipeline (which counts the others itself). */
    const count = (httpStatus: number, body: unknown, claimed: unknown) => {
      if (!metrics) return;
      const errors = (body as Formatted | undefined)?.errors;
      metrics.recordRequest({
        operation: metrics.operationLabel(typeof claimed === 'string' ? claimed : undefined, false),
        status: statusOf(httpStatus, body as Formatted | undefined),
        seconds: (performance.now() - started) / 1000,
        codes: Array.isArray(errors) ? errors.map((e) => e?.extensions?.code) : [],
      });
    };
    const raw = req.method === 'POST' ? await readBody(req, limit) : '';
    if (raw === undefined) {
      const answer = { status: 413, body: errorBody(ErrorCode.LIMIT_EXCEEDED, `The request body is over ${limit} bytes`, { limit: 'body', requestId }) };
      count(answer.status, answer.body, undefined);
      return json(req, res, answer, common);
    }
    let body: unknown = undefined;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        const answer = { status: 400, body: errorBody('BAD_REQUEST', 'The request body is not JSON', { requestId }) };
        count(answer.status, answer.body, undefined);
        return json(req, res, answer, common);
      }
    }
    const claimed = (body as { operationName?: unknown } | undefined)?.operationName ?? url.searchParams.get('operationName');
    if (options.tracer) describeRequest(requestId, claimed);
    const behaviour = requestedErrorBehaviour(body, url.searchParams);
    if (!behaviour) {
      const message = `The request parameter ${ERROR_BEHAVIOUR_PARAMETER} must be one of ${ERROR_BEHAVIOURS.join(', ')}`;
      const answer = { status: 400, body: errorBody('BAD_REQUEST', message, { field: ERROR_BEHAVIOUR_PARAMETER, requestId }) };
      count(answer.status, answer.body, claimed);
      return json(req, res, answer, common);
    }
    const admitted = await options.admit(req, requestId);
    if (!('context' in admitted)) {
      addRequestId(admitted.body, requestId);
      count(admitted.status, admitted.body, claimed);
      return json(req, res, admitted, common);
    }
    // Trusted documents (ServeOptions.prepare): after the identity is known, before Apollo parses anything.
    const prepared = options.prepare?.({ context: admitted.context, method: req.method ?? 'GET', body, search: url.searchParams });
    if (prepared && 'refused' in prepared) {
      addRequestId(prepared.refused.body, requestId);
      count(prepared.refused.status, prepared.refused.body, claimed);
      return json(req, res, prepared.refused, common);
    }
    setErrorBehaviour(admitted.context, behaviour);
    metrics?.attach(admitted.context);
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    const answer = await options.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: prepared?.search ?? url.search, body: prepared ? prepared.body : body },
      context: async () => admitted.context,
    });
    // Apollo refuses some requests before its pipeline runs (CSRF prevention, a missing query): count those here.
    if (metrics && !metrics.wasRecorded(admitted.context))
      count(answer.status ?? 200, answer.body.kind === 'complete' ? parseOrUndefined(answer.body.string) : undefined, claimed);
    const out: Record<string, string> = { ...common };
    for (const [key, value] of answer.headers) out[key] = value;
    if (answer.body.kind === 'complete') {
      const text = (answer.status ?? 200) >= 400 || answer.body.string.includes('"errors"') ? withRequestId(answer.body.string, requestId) : answer.body.string;
      return sendBody(req, res, answer.status ?? 200, out, Buffer.from(text));
    }
    res.writeHead(answer.status ?? 200, out);
    for await (const chunk of answer.body.asyncIterator) res.write(chunk);
    res.end();
  };

  /** Every request being answered, on any path: `stop()` waits for them. */
  const active = new Set<ServerResponse>();
  let drained: (() => void) | undefined;
  const http: Server = createServer((req, res) => {
    active.add(res);
    // Once stopping, an answer closes its connection, so keep-alive clients reconnect elsewhere.
    if (draining) res.setHeader('connection', 'close');
    res.once('close', () => {
      active.delete(res);
      if (active.size === 0) drained?.();
    });
    (options.tracer ? traceRequest(options.tracer, options.path, req, res, () => handle(req, res)) : handle(req, res)).catch((err: unknown) => {
      options.log({ level: 'error', msg: 'the HTTP layer failed', error: String((err as Error)?.stack ?? err) });
      if (!res.headersSent) json(req, res, { status: 500, body: errorBody(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error') }, {});
      else res.end();
    });
  });
  http.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';

  const drain = async (graceMs: number): Promise<void> => {
    draining = true;
    // Stop listening only: http.Server#close would also drop idle keep-alive connections at once
    // (Node 19 and later), and a client holding one (a load balancer's probe) should still see
    // /ready's 503; its next answer closes the connection.
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(http, () => resolve()));
    for (const res of active) if (!res.headersSent) res.setHeader('connection', 'close');
    if (active.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => (drained = resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    // Now http's own close (idle connections, its timers), then whatever outlived the grace period is cut.
    http.close();
    http.closeAllConnections();
    await closed;
    await options.server.stop();
  };
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}${options.path}`,
    port,
    stop: (stopOptions = {}) => (stopping ??= drain(stopOptions.graceMs ?? options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS)),
  };
}

type Formatted = { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };

function parseOrUndefined(text: string): Formatted | undefined {
  try {
    return JSON.parse(text) as Formatted;
  } catch {
    return undefined;
  }
}
