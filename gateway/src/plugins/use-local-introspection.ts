import { createRequire } from 'node:module';
import { type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { type FragmentDefinitionNode, type GraphQLSchema, Kind, type SelectionSetNode } from 'graphql';

/**
 * graphql-js as Apollo's packages load it (CommonJS): the schema Apollo hands a plugin was built by
 * that copy, and graphql-js refuses a schema from the ES module copy this file would import.
 */
const { execute } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

/** Root fields graphql-js answers from the schema alone. */
const INTROSPECTION_ROOTS = new Set(['__schema', '__type', '__typename']);

/** Whether every root field of a selection set (fragments followed, each once) is an introspection field. */
function onlyIntrospection(set: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, seen = new Set<string>()): boolean {
  return set.selections.every((sel) => {
    if (sel.kind === Kind.FIELD) return INTROSPECTION_ROOTS.has(sel.name.value);
    if (sel.kind === Kind.INLINE_FRAGMENT) return onlyIntrospection(sel.selectionSet, fragments, seen);
    if (seen.has(sel.name.value)) return true;
    seen.add(sel.name.value);
    const fragment = fragments.get(sel.name.value);
    return fragment !== undefined && onlyIntrospection(fragment.selectionSet, fragments, seen);
  });
}

/**
 * Answers an operation that asks only about the schema (`__schema`, `__type`, `__typename`) with
 * graphql-js over the API schema, without the query planner. The planner's own copy of the
 * introspection types lags graphql-js: it refuses `__Type.isOneOf`, which graphql 16.9+ validates
 * and which codegen and IDE clients ask for, and the request became a 500. Whether introspection
 * is allowed at all is decided before this (Apollo's validation: development only).
 */
export function useLocalIntrospection(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async responseForOperation({ operation, document, schema, request }) {
          if (operation.operation !== 'query') return null;
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
          if (!onlyIntrospection(operation.selectionSet, fragments)) return null;
          const result = await execute({
            schema: schema as GraphQLSchema,
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
