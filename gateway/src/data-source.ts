import { type GraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { type GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { CREDENTIAL_HEADER, ErrorCode, type Identity, PUBLIC, REQUEST_ID_HEADER, createCredentialSigner, errorBehaviourOf } from '@partnerskap/common';
import { injectTraceContext } from '@partnerskap/common';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { Pool } from 'undici';
import { type FetchPath, type RequiredBy, fetchPaths } from './fetch-paths.js';
import { type CostBudget } from './limits.js';
import { type Logger } from './log.js';
import { type FetchStatus, type GatewayMetrics } from './metrics.js';

/** What the gateway keeps per request. */
export interface GatewayContext {
  identity: Identity;
  /** The correlation id: in the client's answer, every log line, and passed to the subgraphs. */
  requestId?: string;
  /** The gateway's metrics, when `/metrics` is on (`serveGraphQL` sets it). */
  metrics?: GatewayMetrics;
  /** The caller's budget of cost units per minute (the public's, per address); none for partners. */
  costBudget?: CostBudget;
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

/** Errors that mean the connection failed before any answer: a query may be sent once more. */
const CONNECTION_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ENOTFOUND', 'EAI_AGAIN']);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

const isObjectOrNull = (value: unknown) => value === null || (typeof value === 'object' && !Array.isArray(value));

function codeOf(error: unknown): string | undefined {
  let e = error as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 5; i++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** What a call logs and counts by: the client's operation and correlation id, and the metrics. */
interface CallInfo {
  operationName: string | null | undefined;
  requestId: string | undefined;
  metrics: GatewayMetrics | undefined;
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
 * (a mutation may have been applied, so never again); an answer that is not a 2xx GraphQL response
 * `SUBGRAPH_BAD_RESPONSE`, its body never used as data. Each error carries the path of every field
 * the call would have filled and the partner's name. The rest of the answer stands.
 */
export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  readonly #sign: (identity: Identity) => Promise<string>;
  readonly #partner: string;
  readonly #path: string;
  readonly #pool: Pool;
  readonly #calls: SubgraphCallOptions;
  readonly #inflight = new Map<string, Promise<Raw>>();
  readonly #logger: Logger | undefined;

  /** `logger` hears the retries (failures reach the client's answer and the gateway's error log). */
  readonly #requiredBy: RequiredBy | undefined;

  /** Whether the gateway traces (docs/tracing.md): each call then carries the active span's W3C trace context, `gateway.fetch`'s. */
  readonly #propagate: boolean;

  /** `requiredBy` names the fields a failed fetch leaves missing beside its own (the served supergraph's `@requires`); `propagate` sends the trace context. */
  constructor(options: {
    name: string;
    url: string;
    secret: string;
    calls?: SubgraphCallOptions;
    logger?: Logger;
    requiredBy?: RequiredBy;
    propagate?: boolean;
  }) {
    this.#propagate = options.propagate ?? false;
    this.#requiredBy = options.requiredBy;
    this.#calls = options.calls ?? DEFAULT_SUBGRAPH_CALLS;
    this.#logger = options.logger;
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
    // `onError: NULL` goes on to the partner, which then leaves its own failed fields in place too.
    const onError = context && errorBehaviourOf(context) === 'NULL' ? { onError: 'NULL' } : {};
    const body = JSON.stringify({ query: request.query, variables: request.variables, operationName: request.operationName, ...onError });
    const mutation = /^\s*mutation\b/.test(request.query ?? '');
    const headers: Record<string, string> = { 'content-type': 'application/json', [CREDENTIAL_HEADER]: credential };
    if (context?.requestId) headers[REQUEST_ID_HEADER] = context.requestId;
    if (this.#propagate) injectTraceContext(headers);
    const call: CallInfo = {
      operationName: 'incomingRequestContext' in options ? options.incomingRequestContext.operationName : request.operationName,
      requestId: context?.requestId,
      metrics: context?.metrics,
    };

    let raw: Raw;
    try {
      if (mutation || this.#calls.dedupe === false) {
        raw = await this.#send(body, headers, mutation, call);
      } else {
        const key = `${credential}\n${body}`;
        let pending = this.#inflight.get(key);
        if (pending) call.metrics?.deduplicated(this.#partner);
        else {
          pending = this.#send(body, headers, false, call).finally(() => this.#inflight.delete(key));
          this.#inflight.set(key, pending);
        }
        raw = await pending;
      }
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      return this.#failed(options, error.message, error.extensions);
    }
    let parsed: GatewayGraphQLResponse | undefined;
    try {
      parsed = JSON.parse(raw.text) as GatewayGraphQLResponse;
    } catch {
      parsed = undefined;
    }
    const graphql = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && (isObjectOrNull(parsed.data) || Array.isArray(parsed.errors));
    // Only a 2xx GraphQL answer is data: a proxy's HTML page, a 502 with a GraphQL body, a refusal are
    // the partner's fault, never retried (the call reached it), and their bodies go to the log only.
    if (raw.status < 200 || raw.status >= 300 || !graphql) {
      call.metrics?.subgraphError(this.#partner, raw.status >= 200 && raw.status < 300 ? 'bad_response' : `http_${raw.status}`);
      return this.#failed(options, `The ${this.#partner} partner gave an answer that is not a GraphQL response`, {
        code: ErrorCode.SUBGRAPH_BAD_RESPONSE,
        partner: this.#partner,
        response: { status: raw.status, body: raw.text.slice(0, 2000) },
      });
    }
    return {
      ...(parsed!.data !== undefined ? { data: parsed!.data } : {}),
      ...(parsed!.errors ? { errors: parsed!.errors } : {}),
      ...(parsed!.extensions ? { extensions: parsed!.extensions } : {}),
    };
  }

  /**
   * A failed call as an answer with no data and one error per field it would have filled, each with
   * that field's path and the partner's name (Apollo maps an entity's path into the client's answer):
   * a client sees which pieces are missing and who to blame. An error thrown here would reach the
   * client once, without a path. A fetch that fed the client nothing directly gives one error without one.
   */
  #failed(options: GraphQLDataSourceProcessOptions<GatewayContext>, message: string, extensions: Record<string, unknown>): GatewayGraphQLResponse {
    const paths =
      'incomingRequestContext' in options
        ? fetchPaths(
            {
              ...(options.document ? { document: options.document } : {}),
              ...(options.request.query ? { query: options.request.query } : {}),
              ...(options.request.variables ? { variables: options.request.variables } : {}),
            },
            options.incomingRequestContext.document,
            this.#requiredBy,
          )
        : [];
    const error = (path?: FetchPath) =>
      ({ message, ...(path ? { path } : {}), extensions: { ...extensions, partner: this.#partner } }) as GraphQLFormattedError;
    return { errors: paths.length > 0 ? paths.map(error) : [error()] };
  }

  async #send(body: string, headers: Record<string, string>, mutation: boolean, call: CallInfo): Promise<Raw> {
    const { metrics } = call;
    const started = performance.now();
    const done = (status: FetchStatus) => metrics?.subgraphFetch(this.#partner, status, (performance.now() - started) / 1000);
    for (let attempt = 1; ; attempt++) {
      try {
        metrics?.subgraphRequest(this.#partner);
        // The pool's headersTimeout and bodyTimeout bound the call (no AbortSignal per request: it costs timers).
        const res = await this.#pool.request({ path: this.#path, method: 'POST', headers, body });
        const text = await res.body.text();
        done(`${res.statusCode}`);
        return { status: res.statusCode, text };
      } catch (error) {
        const code = codeOf(error);
        if ((code && TIMEOUTS.has(code)) || (error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError') {
          done('timeout');
          metrics?.subgraphError(this.#partner, 'timeout');
          throw new GraphQLError(`The ${this.#partner} partner did not answer within ${this.#calls.timeoutMs} ms`, {
            extensions: { code: ErrorCode.SUBGRAPH_TIMEOUT, partner: this.#partner, cause: code ?? (error as Error)?.name ?? null },
          });
        }
        if (code && CONNECTION_FAILURES.has(code) && !mutation && attempt === 1) {
          metrics?.retried(this.#partner);
          this.#logger?.warn({
            requestId: call.requestId,
            operationName: call.operationName ?? null,
            subgraph: this.#partner,
            cause: code,
            msg: 'subgraph connection failed; sending the query once more',
          });
          continue;
        }
        done('unavailable');
        metrics?.subgraphError(this.#partner, 'unavailable');
        throw new GraphQLError(`The ${this.#partner} partner cannot be reached just now`, {
          extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE, partner: this.#partner, cause: code ?? null },
        });
      }
    }
  }

  /**
   * Closes the pool's connections at once. The gateway calls it after its requests have drained
   * (or the grace period is over), so a call still open has lost its client and is aborted rather
   * than awaited until the subgraph timeout.
   */
  close(): Promise<void> {
    return this.#pool.destroy();
  }
}
