import { type GraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { type GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { CREDENTIAL_HEADER, ErrorCode, type Identity, PUBLIC, REQUEST_ID_HEADER, createCredentialSigner } from '@partnerskap/kit';
import { GraphQLError } from 'graphql';
import { Pool } from 'undici';

/** What the gateway keeps per request. */
export interface GatewayContext {
  identity: Identity;
  /** The correlation id: in the client's answer, every log line, and passed to the subgraphs. */
  requestId?: string;
}

/** How the gateway calls its subgraphs. */
export interface SubgraphCallOptions {
  /** A subgraph that has not answered after this long is cut off: its fields are null with SUBGRAPH_TIMEOUT. */
  timeoutMs: number;
  /** Connections per subgraph at most (a bounded pool; requests queue beyond it). */
  connections: number;
  /** Send one request for identical queries in flight at once with the same identity (default true). */
  dedupe?: boolean;
}

/** The defaults: a partner's query answers in milliseconds; 5 s means something is wrong. */
export const DEFAULT_SUBGRAPH_CALLS: SubgraphCallOptions = Object.freeze({ timeoutMs: 5000, connections: 64, dedupe: true });

/** What the data sources count (read by `/metrics` and the bench). */
export const subgraphStats = { requests: 0, deduplicated: 0, retries: 0 };

/** Errors that mean the connection failed before any answer: a query may be sent once more. */
const CONNECTION_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ENOTFOUND', 'EAI_AGAIN']);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function codeOf(error: unknown): string | undefined {
  let e = error as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 5; i++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** A subgraph's raw answer, shared by the requests that were merged into it. */
interface Raw {
  status: number;
  text: string;
}

/**
 * Calls one subgraph: the lean replacement of `RemoteGraphQLDataSource` (which builds a node-fetch
 * `Request` and `Headers` per call). One keep-alive undici `Pool` per subgraph, bounded; the
 * gateway's credential for the caller's identity and the request's correlation id, nothing the
 * client sent. Identical queries in flight at once for the same identity go as one request (never
 * mutations, never across identities: the credential is part of the key). A timeout gives
 * `SUBGRAPH_TIMEOUT`; a failed connection `SUBGRAPH_UNAVAILABLE`, after one more try for a query
 * (a mutation may have been applied, so never again). The rest of the answer stands.
 */
export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  readonly #sign: (identity: Identity) => Promise<string>;
  readonly #partner: string;
  readonly #path: string;
  readonly #pool: Pool;
  readonly #calls: SubgraphCallOptions;
  readonly #inflight = new Map<string, Promise<Raw>>();

  constructor(options: { name: string; url: string; secret: string; calls?: SubgraphCallOptions }) {
    this.#calls = options.calls ?? DEFAULT_SUBGRAPH_CALLS;
    const url = new URL(options.url);
    this.#path = `${url.pathname}${url.search}`;
    this.#pool = new Pool(url.origin, {
      connections: this.#calls.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: this.#calls.timeoutMs,
      bodyTimeout: this.#calls.timeoutMs,
      connectTimeout: Math.min(this.#calls.timeoutMs, 3000),
    });
    this.#sign = createCredentialSigner(options.name, options.secret);
    this.#partner = options.name;
  }

  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    const context = options.context as Partial<GatewayContext> | undefined;
    const credential = await this.#sign(context?.identity ?? PUBLIC);
    const body = JSON.stringify({ query: request.query, variables: request.variables, operationName: request.operationName });
    const mutation = /^\s*mutation\b/.test(request.query ?? '');
    const headers: Record<string, string> = { 'content-type': 'application/json', [CREDENTIAL_HEADER]: credential };
    if (context?.requestId) headers[REQUEST_ID_HEADER] = context.requestId;

    let raw: Raw;
    if (mutation || this.#calls.dedupe === false) {
      raw = await this.#send(body, headers, mutation);
    } else {
      const key = `${credential}\n${body}`;
      let pending = this.#inflight.get(key);
      if (pending) subgraphStats.deduplicated++;
      else {
        pending = this.#send(body, headers, false).finally(() => this.#inflight.delete(key));
        this.#inflight.set(key, pending);
      }
      raw = await pending;
    }
    let parsed: GatewayGraphQLResponse;
    try {
      parsed = JSON.parse(raw.text) as GatewayGraphQLResponse;
    } catch {
      parsed = {};
    }
    if (raw.status >= 400 && !parsed.errors) {
      throw new GraphQLError(`${raw.status} from the ${this.#partner} subgraph`, {
        extensions: { code: raw.status === 401 ? ErrorCode.UNAUTHENTICATED : ErrorCode.INTERNAL_SERVER_ERROR, response: { status: raw.status, body: raw.text.slice(0, 2000) } },
      });
    }
    return { ...(parsed.data !== undefined ? { data: parsed.data } : {}), ...(parsed.errors ? { errors: parsed.errors } : {}), ...(parsed.extensions ? { extensions: parsed.extensions } : {}) };
  }

  async #send(body: string, headers: Record<string, string>, mutation: boolean): Promise<Raw> {
    for (let attempt = 1; ; attempt++) {
      try {
        subgraphStats.requests++;
        // The pool's headersTimeout and bodyTimeout bound the call (no AbortSignal per request: it costs timers).
        const res = await this.#pool.request({ path: this.#path, method: 'POST', headers, body });
        return { status: res.statusCode, text: await res.body.text() };
      } catch (error) {
        const code = codeOf(error);
        if ((code && TIMEOUTS.has(code)) || (error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError') {
          throw new GraphQLError(`The ${this.#partner} partner did not answer within ${this.#calls.timeoutMs} ms`, {
            extensions: { code: ErrorCode.SUBGRAPH_TIMEOUT, partner: this.#partner },
            originalError: error as Error,
          });
        }
        if (code && CONNECTION_FAILURES.has(code) && !mutation && attempt === 1) {
          subgraphStats.retries++;
          continue;
        }
        throw new GraphQLError(`The ${this.#partner} partner cannot be reached just now`, {
          extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE, partner: this.#partner },
          originalError: error as Error,
        });
      }
    }
  }

  /** Closes the pool's connections. */
  close(): Promise<void> {
    return this.#pool.close();
  }
}
