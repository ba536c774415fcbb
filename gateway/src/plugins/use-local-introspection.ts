import { type ApolloServerPlugin, type GraphQLRequestContext, HeaderMap } from '@apollo/server';
import { GraphQLError, type GraphQLSchema, execute, OperationTypeNode } from 'graphql';
import { analysisOf } from '../analysis.js';
import { type GatewayContext } from '../data-source.js';

/** Options of {@link useLocalIntrospection}. */
export interface LocalIntrospectionOptions {
  /**
   * The schema a request's introspection is answered from, when not the request's own API schema
   * (the public contract for a caller without a token: plugins/use-public-contract.ts). Default: the request's.
   */
  schemaFor?(requestContext: GraphQLRequestContext<GatewayContext>): GraphQLSchema | undefined;
}

/** Root fields graphql-js answers from the schema alone. */
const INTROSPECTION_ROOTS = new Set(['__schema', '__type', '__typename']);

/**
 * Answers an operation that asks only about the schema (`__schema`, `__type`, `__typename`) with
 * graphql-js over the API schema, without the query planner. The planner's own copy of the
 * introspection types lags graphql-js: it refuses `__Type.isOneOf`, which graphql 16.9+ validates
 * and which codegen and IDE clients ask for, and the request became a 500. Whether introspection
 * is allowed at all is decided before this (Apollo's validation: development only).
 */
export function useLocalIntrospection(options: LocalIntrospectionOptions = {}): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async responseForOperation(requestContext) {
          const { operation, document, schema, request } = requestContext;
          if (operation.operation !== OperationTypeNode.QUERY) return null;
          // The root fields, fragments followed, from the request's analysis (analysis.ts).
          const analysis = analysisOf(requestContext);
          if (analysis instanceof GraphQLError || !analysis.rootFields.every((name) => INTROSPECTION_ROOTS.has(name))) return null;
          const result = await execute({
            schema: options.schemaFor?.(requestContext) ?? schema,
            document,
            operationName: request.operationName ?? null,
            variableValues: request.variables ?? {},
          });
          // Errors (a variable that does not coerce) take Apollo's usual path, with its codes and masking.
          if (result.errors?.length) return null;
          return { http: { status: 200, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: result.data ?? null } } };
        },
      };
    },
  };
}
