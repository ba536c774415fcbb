import { type ApolloServerPlugin } from '@apollo/server';
import { type Guard, type Identity, scopesOf } from '@partnerskap/common';
import { GraphQLError } from 'graphql';
import { analysisOf } from '../analysis.js';
import { type GatewayContext } from '../data-source.js';

/** Options of {@link useGuards}. */
export interface GuardsOptions {
  /**
   * The guards of the supergraph a request's schema came from (read from the supergraph SDL: the
   * gateway's schema object carries none); a request keeps its schema's guards across a reload.
   */
  guardsOf(schema: unknown): ReadonlyMap<string, Guard>;
}

/** What a caller can never see of a guard: `UNAUTHENTICATED`, `FORBIDDEN` or nothing. Policies depend on data: the subgraphs decide them. */
function refusal(guard: Guard, identity: Identity): 'UNAUTHENTICATED' | 'FORBIDDEN' | undefined {
  if (identity.role === 'public' && (guard.authenticated || (guard.scopes?.length ?? 0) > 0 || (guard.policies?.length ?? 0) > 0)) return 'UNAUTHENTICATED';
  if (guard.scopes && guard.scopes.length > 0) {
    const held = new Set(scopesOf(identity));
    if (!guard.scopes.some((all) => all.every((s) => held.has(s)))) return 'FORBIDDEN';
  }
  return undefined;
}

/**
 * Refuses, before the query is planned and any subgraph is called, an operation that selects a
 * field the caller can never see: one guarded by `@authenticated` or `@requiresScopes` in the
 * supergraph SDL. 401 for a caller without a token, 403 otherwise.
 */
export function useGuards(options: GuardsOptions): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const { contextValue, schema } = requestContext;
          // The `Type.field`s the operation selects, from the request's analysis (analysis.ts), typed by the request's schema.
          const analysis = analysisOf(requestContext);
          // An operation that cannot be picked is useResolvedOperation's to refuse.
          if (analysis instanceof GraphQLError) return;
          const denied = new Map<string, 'UNAUTHENTICATED' | 'FORBIDDEN'>();
          const guards = options.guardsOf(schema);
          for (const field of analysis.selected) {
            const guard = guards.get(field);
            const code = guard ? refusal(guard, contextValue.identity) : undefined;
            if (code) denied.set(field, code);
          }
          if (denied.size === 0) return;
          const code = [...denied.values()].includes('UNAUTHENTICATED') ? 'UNAUTHENTICATED' : 'FORBIDDEN';
          throw new GraphQLError(`This operation selects fields the caller may not see: ${[...denied.keys()].join(', ')}`, {
            extensions: { code, fields: [...denied.keys()], http: { status: code === 'UNAUTHENTICATED' ? 401 : 403 } },
          });
        },
      };
    },
  };
}
