import { type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { type FormattedExecutionResult, OperationTypeNode } from 'graphql';
import { type GatewayContext } from '../data-source.js';

/** Options of {@link useResponseCache}. */
export interface ResponseCacheOptions {
  /** Seconds an answer may be served from the cache (default 0: the cache is off). */
  ttlSeconds?: number;
  /** Answers kept at most; the oldest goes first (default 5000). */
  maxEntries?: number;
}

interface Entry {
  body: FormattedExecutionResult;
  expiresAt: number;
}

/**
 * A short-lived cache of whole answers to public callers (no token: the catalogue, the public
 * figures), per gateway process. Its expiry is what keeps it correct across replicas: an answer
 * is at most `ttlSeconds` stale. Only queries, only answers without errors, never for a caller
 * with a token (their answers depend on who they are), emptied when the supergraph changes. Off
 * unless `ttlSeconds > 0`.
 */
export function useResponseCache(options: ResponseCacheOptions = {}): ApolloServerPlugin<GatewayContext> {
  const ttlSeconds = options.ttlSeconds ?? 0;
  const maxEntries = options.maxEntries ?? 5000;
  const entries = new Map<string, Entry>();
  const keyOf = (query: string | undefined, variables: unknown, operationName: string | null | undefined) =>
    `${operationName ?? ''}\n${query ?? ''}\n${JSON.stringify(variables ?? {})}`;
  return {
    // A new supergraph may answer differently: nothing cached under the old one is served after the swap.
    async serverWillStart() {
      return {
        schemaDidLoadOrUpdate() {
          entries.clear();
        },
      };
    },
    async requestDidStart({ contextValue }) {
      if (ttlSeconds <= 0 || contextValue.identity.role !== 'public') return;
      let key: string | undefined;
      return {
        async responseForOperation({ request, operation }) {
          if (operation.operation !== OperationTypeNode.QUERY) return null;
          key = keyOf(request.query, request.variables, request.operationName);
          const hit = entries.get(key);
          if (hit && hit.expiresAt > Date.now()) {
            contextValue.metrics?.responseCache(true);
            return { http: { status: 200, headers: new HeaderMap() }, body: { kind: 'single', singleResult: hit.body } };
          }
          contextValue.metrics?.responseCache(false);
          return null;
        },
        async willSendResponse({ response }) {
          if (!key || response.body.kind !== 'single' || response.body.singleResult.errors) return;
          if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
          entries.set(key, { body: response.body.singleResult, expiresAt: Date.now() + ttlSeconds * 1000 });
        },
      };
    },
  };
}
