import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server';
import { ErrorCode } from './errors.js';

/** The header that carries a request's correlation id: answered to clients, passed to subgraphs, in every log line. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** The largest request body accepted (bytes): the registered operations are far below it. */
export const DEFAULT_BODY_LIMIT = 100_000;

/** A plain HTTP answer (a refusal before GraphQL runs, or a health check). */
export interface PlainAnswer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
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
  /** The request id: a trusted upstream's, or a new one. */
  requestId?(req: IncomingMessage): string;
  /** The service's counters in Prometheus' text format, for `GET /metrics` (none if absent). */
  metrics?(): string;
  /** What `/ready` checks (each must be true for 200). */
  ready(): Promise<Record<string, boolean>>;
  /** Where unexpected failures of the HTTP layer are logged. */
  log(entry: Record<string, unknown>): void;
}

/** A GraphQL service listening for HTTP. */
export interface ListeningService {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const json = (res: ServerResponse, answer: PlainAnswer, extra: Record<string, string>) => {
  const body = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extra, ...answer.headers });
  res.end(body);
};

/** A JSON error body with one error of our codes. */
export function errorBody(code: string, message: string, extensions: Record<string, unknown> = {}): unknown {
  return { errors: [{ message, extensions: { code, ...extensions } }] };
}

/** Reads a body up to `limit` bytes; undefined when it is larger (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
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
 * Serves an Apollo Server over node:http, instead of `startStandaloneServer` (which always answers
 * CORS `*` and accepts 50 MB bodies): explicit CORS origins, a body cap (413), a correlation id on
 * every answer and error, `/health` (the process is alive) and `/ready` (it can serve), and a hook
 * that admits or refuses each request before GraphQL runs (credentials, rate limits).
 */
export async function serveGraphQL<C extends BaseContext>(options: ServeOptions<C>): Promise<ListeningService> {
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const origins = new Set(options.corsOrigins ?? []);
  await options.server.start();

  const cors = (req: IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    if (!origin || (!origins.has('*') && !origins.has(origin))) return {};
    return {
      'access-control-allow-origin': origins.has('*') ? '*' : origin,
      vary: 'origin',
      'access-control-allow-headers': 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, x-request-id',
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-expose-headers': REQUEST_ID_HEADER,
      'access-control-max-age': '600',
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = options.requestId?.(req) ?? randomUUID();
    const common = { ...cors(req), [REQUEST_ID_HEADER]: requestId };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') return json(res, { status: 200, body: { status: 'alive' } }, common);
    if (url.pathname === '/ready') {
      const checks = await options.ready().catch(() => ({ ready: false }));
      const ok = Object.values(checks).every(Boolean);
      return json(res, { status: ok ? 200 : 503, body: { status: ok ? 'ready' : 'not ready', checks } }, common);
    }
    if (url.pathname === '/metrics' && options.metrics) {
      const text = options.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text), ...common });
      res.end(text);
      return;
    }
    if (url.pathname !== options.path) return json(res, { status: 404, body: errorBody('NOT_FOUND', `GraphQL is served at ${options.path}`) }, common);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, common);
      res.end();
      return;
    }
    const raw = req.method === 'POST' ? await readBody(req, limit) : '';
    if (raw === undefined) {
      return json(res, { status: 413, body: errorBody(ErrorCode.LIMIT_EXCEEDED, `The request body is over ${limit} bytes`, { limit: 'body', requestId }) }, common);
    }
    let body: unknown = undefined;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        return json(res, { status: 400, body: errorBody('BAD_REQUEST', 'The request body is not JSON', { requestId }) }, common);
      }
    }
    const admitted = await options.admit(req, requestId);
    if (!('context' in admitted)) {
      addRequestId(admitted.body, requestId);
      return json(res, admitted, common);
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    const answer = await options.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: async () => admitted.context,
    });
    const out: Record<string, string> = { ...common };
    for (const [key, value] of answer.headers) out[key] = value;
    if (answer.body.kind === 'complete') {
      const text = (answer.status ?? 200) >= 400 || answer.body.string.includes('"errors"') ? withRequestId(answer.body.string, requestId) : answer.body.string;
      out['content-length'] = String(Buffer.byteLength(text));
      res.writeHead(answer.status ?? 200, out);
      res.end(text);
      return;
    }
    res.writeHead(answer.status ?? 200, out);
    for await (const chunk of answer.body.asyncIterator) res.write(chunk);
    res.end();
  };

  const http: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log({ level: 'error', msg: 'the HTTP layer failed', error: String((err as Error)?.stack ?? err) });
      if (!res.headersSent) json(res, { status: 500, body: errorBody(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error') }, {});
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
  return {
    url: `http://${host}:${port}${options.path}`,
    port,
    stop: async () => {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await options.server.stop();
    },
  };
}
