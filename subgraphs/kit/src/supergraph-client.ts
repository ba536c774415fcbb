import { type TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, print, visit } from 'graphql';
import { SERVICE_AUDIENCE, SERVICE_ISSUER, SERVICE_TOKEN_LIFETIME_S, secretKey, signHs256 } from '@partnerskap/common';
import { injectTraceContext, tracingEnabled } from '@partnerskap/common';
import { FeedDocument } from './generated/partners.js';

/**
 * The supergraph (through the gateway) as this subgraph's service: how its consumers read the other
 * partners' event feeds. No rule asks it: rules read projections (docs/events.md).
 */
export interface Supergraph {
  /**
   * The data of a query, typed by its document (`npm run codegen` makes one of each query in a
   * workspace's `src/partners.graphql`), or a plain error saying what failed (no log line: a
   * consumer's loop retries and logs once).
   */
  request<TData, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<TData>;
}

/** Options of {@link createSupergraphClient}. */
export interface SupergraphClientOptions {
  /** This subgraph's name: the service token's subject. */
  subgraph: string;
  /** The secret it shares with the gateway: signs the service token (HS256). */
  secret: string;
  /** The gateway's URL; a function, since in one process the gateway starts after its subgraphs. */
  url: () => string | undefined;
}

/** A service-token client of the supergraph: how one partner's consumers read another partner's feed. */
export function createSupergraphClient(options: SupergraphClientOptions): Supergraph {
  const key = secretKey(options.secret);
  let cached: { token: string; renewAt: number } | undefined;
  const token = async () => {
    if (cached && cached.renewAt > Date.now()) return cached.token;
    const iat = Math.floor(Date.now() / 1000);
    const t = signHs256({ role: 'service', iss: SERVICE_ISSUER, sub: options.subgraph, aud: SERVICE_AUDIENCE, iat, exp: iat + SERVICE_TOKEN_LIFETIME_S }, key);
    cached = { token: t, renewAt: Date.now() + 60_000 };
    return t;
  };
  // A document is printed once: the feed's are sent again and again.
  const printed = new WeakMap<DocumentNode, string>();
  const textOf = (document: DocumentNode): string => {
    let text = printed.get(document);
    if (text === undefined) printed.set(document, (text = print(document)));
    return text;
  };
  const request = async <TData, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<TData> => {
    const url = options.url();
    if (!url) throw new Error('no gateway URL configured (SUPERGRAPH_URL)');
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${await token()}` };
    // A traced request's call to another partner goes on in the same trace (docs/tracing.md).
    if (tracingEnabled()) injectTraceContext(headers);
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: textOf(document), variables }),
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
    const body = (await res.json()) as { data?: TData | null; errors?: { message: string; extensions?: { code?: string } }[] };
    if (body.errors?.length || !body.data) throw new Error(JSON.stringify(body.errors ?? 'no data'));
    return body.data;
  };
  return { request };
}

/** The field {@link FeedDocument} reads: it stands for every partner's `<name>Events`. */
const FEED_FIELD = 'catalogueEvents';

const feedQueries = new Map<string, typeof FeedDocument>();

/**
 * The query of a partner's feed (`<source>Events`, aliased `page`): the generated `Feed` document
 * with the source's own field. Every feed field has the catalogue's signature (tools/codegen/codegen.test.ts
 * validates the query of each registered subgraph against the supergraph).
 */
export function feedQuery(source: string): typeof FeedDocument {
  let query = feedQueries.get(source);
  if (!query) {
    query = visit(FeedDocument, {
      Field: (node) => (node.name.value === FEED_FIELD ? { ...node, name: { ...node.name, value: `${source}Events` } } : undefined),
    });
    feedQueries.set(source, query);
  }
  return query;
}
