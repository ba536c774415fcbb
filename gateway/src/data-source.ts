import { type GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';
import { CREDENTIAL_HEADER, ErrorCode, type Identity, PUBLIC, REQUEST_ID_HEADER, createCredentialSigner } from '@partnerskap/kit';
import { GraphQLError } from 'graphql';
import { Agent, fetch as undiciFetch } from 'undici';

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
}

/** The defaults: a partner's query answers in milliseconds; 5 s means something is wrong. */
export const DEFAULT_SUBGRAPH_CALLS: SubgraphCallOptions = Object.freeze({ timeoutMs: 5000, connections: 64 });

/** Errors that mean the connection failed before any answer: a query may be sent once more. */
const CONNECTION_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ENOTFOUND', 'EAI_AGAIN']);

function causeCode(error: unknown): string | undefined {
  let e = error as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 5; i++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

const isTimeout = (error: unknown): boolean => {
  const e = error as { name?: string; cause?: { name?: string } };
  return e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError' || causeCode(error) === 'UND_ERR_HEADERS_TIMEOUT' || causeCode(error) === 'UND_ERR_BODY_TIMEOUT';
};

/**
 * Calls one subgraph with the gateway's credential for the caller's identity and the request's
 * correlation id. Nothing the client sent is forwarded. Calls go through a bounded undici pool
 * with a timeout; a query whose connection failed is sent once more, a mutation never (it may
 * have been applied). A subgraph that cannot be reached or does not answer in time gives a
 * `SUBGRAPH_UNAVAILABLE` or `SUBGRAPH_TIMEOUT` error and null fields; the rest of the answer stands.
 */
export class CredentialDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly #sign: (identity: Identity) => Promise<string>;
  readonly #partner: string;
  readonly #timeoutMs: number;

  constructor(options: { name: string; url: string; secret: string; calls?: SubgraphCallOptions }) {
    const calls = options.calls ?? DEFAULT_SUBGRAPH_CALLS;
    const dispatcher = new Agent({ connections: calls.connections, keepAliveTimeout: 30_000, headersTimeout: calls.timeoutMs, bodyTimeout: calls.timeoutMs });
    super({
      url: options.url,
      fetcher: ((url: string, init: Record<string, unknown>) =>
        undiciFetch(url, { ...init, dispatcher, signal: AbortSignal.timeout(calls.timeoutMs) } as never)) as never,
    });
    this.#sign = createCredentialSigner(options.name, options.secret);
    this.#partner = options.name;
    this.#timeoutMs = calls.timeoutMs;
  }

  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    request.http?.headers.set(CREDENTIAL_HEADER, await this.#sign(context.identity ?? PUBLIC));
    if (context.requestId) request.http?.headers.set(REQUEST_ID_HEADER, context.requestId);
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const mutation = /^\s*mutation\b/.test(options.request.query ?? '');
    for (let attempt = 1; ; attempt++) {
      try {
        return await super.process(options);
      } catch (error) {
        if (isTimeout(error)) {
          throw new GraphQLError(`The ${this.#partner} partner did not answer within ${this.#timeoutMs} ms`, {
            extensions: { code: ErrorCode.SUBGRAPH_TIMEOUT, partner: this.#partner },
            originalError: error as Error,
          });
        }
        const code = causeCode(error);
        const connection = code !== undefined && CONNECTION_FAILURES.has(code);
        if (connection || (error as Error)?.message === 'fetch failed') {
          if (connection && !mutation && attempt === 1) continue;
          throw new GraphQLError(`The ${this.#partner} partner cannot be reached just now`, {
            extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE, partner: this.#partner },
            originalError: error as Error,
          });
        }
        throw error;
      }
    }
  }
}
