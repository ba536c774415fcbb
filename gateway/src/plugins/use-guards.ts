import { type ApolloServerPlugin } from '@apollo/server';
import { type Guard, type Identity, scopesOf } from '@partnerskap/common';
import { type DocumentNode, type FragmentDefinitionNode, GraphQLError, Kind, type SelectionSetNode } from 'graphql';
import { type GatewayContext } from '../data-source.js';
import { perOperation } from '../per-operation.js';

/** Options of {@link useGuards}. */
export interface GuardsOptions {
  /**
   * The guards of the supergraph a request's schema came from (read from the supergraph SDL: the
   * gateway's schema object carries none); a request keeps its schema's guards across a reload.
   */
  guardsOf(schema: unknown): ReadonlyMap<string, Guard>;
}

interface SchemaLike {
  getType(name: string): { getFields?: () => Record<string, { type: unknown }> } | undefined | null;
}

/** The named type under list and non-null wrappers, by shape (the schema may come from another copy of graphql). */
function namedTypeName(type: unknown): string | undefined {
  let t = type as { ofType?: unknown; name?: string } | undefined;
  while (t && t.ofType) t = t.ofType as typeof t;
  return t?.name;
}

/** The `Type.field` pairs an operation selects (fragments followed), with the type each is on. */
function selectedFields(document: DocumentNode, operationName: string | null | undefined, schema: SchemaLike): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const operation = document.definitions.find(
    (d) => d.kind === Kind.OPERATION_DEFINITION && (operationName ? d.name?.value === operationName : true),
  );
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return [];
  const root = operation.operation === 'mutation' ? 'Mutation' : operation.operation === 'subscription' ? 'Subscription' : 'Query';
  const out = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode, typeName: string): void => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value.startsWith('__')) continue;
        out.add(`${typeName}.${sel.name.value}`);
        const field = schema.getType(typeName)?.getFields?.()[sel.name.value];
        const next = field ? namedTypeName(field.type) : undefined;
        if (sel.selectionSet && next) walk(sel.selectionSet, next);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        walk(sel.selectionSet, sel.typeCondition?.name.value ?? typeName);
      } else {
        const fragment = fragments.get(sel.name.value);
        const key = `${sel.name.value}@${typeName}`;
        if (!fragment || seen.has(key)) continue;
        seen.add(key);
        walk(fragment.selectionSet, fragment.typeCondition.name.value);
      }
    }
  };
  walk(operation.selectionSet, root);
  return [...out];
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
  // What an operation selects depends on its text and the schema; Apollo parses documents anew for
  // a new schema, so a document always goes with the schema of the request that brought it.
  let schemaOf: SchemaLike | undefined;
  const selected = perOperation((document, operationName) => selectedFields(document, operationName, schemaOf!));
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName, contextValue, schema }) {
          const denied = new Map<string, 'UNAUTHENTICATED' | 'FORBIDDEN'>();
          schemaOf = schema as unknown as SchemaLike;
          const guards = options.guardsOf(schema);
          for (const field of selected(document, operationName)) {
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
