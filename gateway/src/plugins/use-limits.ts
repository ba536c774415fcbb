import { type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { ErrorCode } from '@partnerskap/common';
import { type DocumentNode, GraphQLError } from 'graphql';
import { type Analysis, analysisOf } from '../analysis.js';
import { type CostBudget, DEFAULT_LIMITS, type Limits, overCost, overLimits } from '../limits.js';

/** Estimates an operation's cost for a request: its document, variables, operation, schema, and the request's analysis. */
export type RequestCostEstimator = (
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | null | undefined,
  schema: unknown,
  analysis: Analysis,
) => number;

/** Options of {@link useLimits}. */
export interface LimitsOptions {
  /** The operation limits (default {@link DEFAULT_LIMITS}). */
  limits?: Limits;
  /**
   * The static cost estimate (cost.ts); the public's limit `limits.cost`, a caller with a token's
   * `limits.partnerCost`. Default none: the cost is neither checked nor charged to a budget.
   */
  estimateCost?: RequestCostEstimator;
}

/**
 * Refuses an operation over a limit before it is planned: depth, aliases, expanded fields,
 * directives, page size and, when an estimator is given, the static cost with the request's
 * variables (the public's limit, or the higher one for callers with a token). HTTP 400,
 * `LIMIT_EXCEEDED`, `extensions.limit` naming the limit. A request whose context carries a
 * `costBudget` (the public's, per address) has its cost taken from it: over the budget, HTTP 429
 * `RATE_LIMITED` with `Retry-After`. Every figure comes from the request's analysis (analysis.ts).
 */
export function useLimits<TContext extends { costBudget?: CostBudget; identity?: { role: string } }>(
  options: LimitsOptions = {},
): ApolloServerPlugin<TContext> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const { estimateCost } = options;
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const { document, request, schema, contextValue } = requestContext;
          const analysis = analysisOf(requestContext);
          // An operation that cannot be picked is useResolvedOperation's to refuse.
          if (analysis instanceof GraphQLError) return;
          const refused = overLimits(analysis, request.variables ?? {}, limits);
          if (refused) throw refused;
          if (!estimateCost) return;
          const cost = estimateCost(document, request.variables, request.operationName, schema, analysis);
          const limit = contextValue.identity && contextValue.identity.role !== 'public' ? limits.partnerCost : limits.cost;
          if (cost > limit) throw overCost(cost, limit);
          // What costs nothing (`{ __typename }`) is never refused for a spent budget.
          const retryAfterS = cost > 0 ? await contextValue.costBudget?.charge(cost) : undefined;
          if (retryAfterS !== undefined) {
            // Apollo reads a HeaderMap here; the type a dev dependency (graphql-yoga) declares for `http` says a record: typed as plain extensions.
            const extensions: Record<string, unknown> = {
              code: ErrorCode.RATE_LIMITED,
              http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterS)]]) },
            };
            throw new GraphQLError(`Too much work asked for in the last minute: try again in ${retryAfterS} s`, { extensions });
          }
        },
      };
    },
  };
}
