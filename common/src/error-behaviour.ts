import { type ApolloServerOptionsWithGateway, type BaseContext } from '@apollo/server';
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type TypeNode,
  defaultFieldResolver,
  execute,
  isNonNullType,
  isObjectType,
  visit,
} from 'graphql';

/**
 * The error behaviours a client may ask for with the request parameter `onError` (the GraphQL spec
 * proposal "error behaviors", graphql-spec#1163): `PROPAGATE`, the default and what every GraphQL
 * server did before, bubbles a failed non-null field's null up to its nearest nullable parent;
 * `NULL` leaves the null where the field failed, with its error, and bubbles nothing; `HALT` gives
 * `data: null` as soon as anything failed.
 */
export const ERROR_BEHAVIOURS = Object.freeze(['PROPAGATE', 'NULL', 'HALT'] as const);
export type ErrorBehaviour = (typeof ERROR_BEHAVIOURS)[number];
export const DEFAULT_ERROR_BEHAVIOUR: ErrorBehaviour = 'PROPAGATE';

/** The request parameter's name, in a POST body and in a GET query string alike. */
export const ERROR_BEHAVIOUR_PARAMETER = 'onError';

/**
 * The behaviour a request asks for: `onError` in the JSON body (POST) or the query string (GET),
 * `PROPAGATE` when absent; `undefined` when the value is not one of the three (a request error:
 * the proposal forbids guessing).
 */
export function requestedErrorBehaviour(body: unknown, search: URLSearchParams): ErrorBehaviour | undefined {
  const inBody = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[ERROR_BEHAVIOUR_PARAMETER] : undefined;
  const value = inBody ?? search.get(ERROR_BEHAVIOUR_PARAMETER) ?? DEFAULT_ERROR_BEHAVIOUR;
  return (ERROR_BEHAVIOURS as readonly unknown[]).includes(value) ? (value as ErrorBehaviour) : undefined;
}

// The behaviour of an admitted request, on its context (set by serveGraphQL, read by executors). A
// symbol key: Apollo Server copies a context per request (own properties, symbols too), which a
// WeakMap by context would miss, and no resolver or log walks over it.
const BEHAVIOUR = Symbol('partnerskap.errorBehaviour');

/** Records the behaviour a request asked for on its context. */
export function setErrorBehaviour(context: object, behaviour: ErrorBehaviour): void {
  if (behaviour !== DEFAULT_ERROR_BEHAVIOUR) (context as { [BEHAVIOUR]?: ErrorBehaviour })[BEHAVIOUR] = behaviour;
}

/** The behaviour the request of this context asked for (`PROPAGATE` when it asked none). */
export function errorBehaviourOf(context: object | undefined): ErrorBehaviour {
  return (context as { [BEHAVIOUR]?: ErrorBehaviour } | undefined)?.[BEHAVIOUR] ?? DEFAULT_ERROR_BEHAVIOUR;
}

/** `HALT`: nothing of an answer with an error is data. */
export function halted<T extends { data?: unknown; errors?: readonly unknown[] }>(result: T): T {
  return result.errors && result.errors.length > 0 ? { ...result, data: null } : result;
}

const nullable = (type: TypeNode): TypeNode => {
  const inner = type.kind === Kind.NON_NULL_TYPE ? type.type : type;
  return inner.kind === Kind.LIST_TYPE ? { ...inner, type: nullable(inner.type) } : inner;
};

/**
 * A subgraph's SDL with every output field nullable (at every list level), arguments and inputs
 * untouched: the schema `NULL` executes against, so graphql-js leaves a failed field's null where
 * it is. Queries valid against the SDL are valid against it; only where a null may go differs.
 */
export function withNullableOutputs(typeDefs: DocumentNode): DocumentNode {
  const fields = (node: { fields?: readonly { type: TypeNode }[] }) => ({ ...node, fields: node.fields?.map((f) => ({ ...f, type: nullable(f.type) })) });
  return visit(typeDefs, {
    ObjectTypeDefinition: fields,
    ObjectTypeExtension: fields,
    InterfaceTypeDefinition: fields,
    InterfaceTypeExtension: fields,
  });
}

/**
 * In the nullable twin, a field the contract makes non-null still may not resolve to null: that is
 * an error (graphql-js's own message) at the field, and under `NULL` it stays there. (A null item
 * of a non-null list item type is left as it is: the twin cannot tell it apart.)
 */
export function keepNonNullErrors(contract: GraphQLSchema, twin: GraphQLSchema): void {
  for (const type of Object.values(twin.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const declared = contract.getType(type.name);
    if (!isObjectType(declared)) continue;
    const contractFields = declared.getFields();
    for (const field of Object.values(type.getFields())) {
      if (!isNonNullType(contractFields[field.name]?.type)) continue;
      const resolve = field.resolve ?? defaultFieldResolver;
      const where = `${type.name}.${field.name}`;
      const checked = (value: unknown) => {
        if (value === null || value === undefined) throw new GraphQLError(`Cannot return null for non-nullable field ${where}.`);
        return value;
      };
      field.resolve = (source, args, context, info) => {
        const value: unknown = resolve(source, args, context, info);
        return value instanceof Promise ? value.then(checked) : checked(value);
      };
    }
  }
}

/**
 * A subgraph's schema served through Apollo Server's gateway interface, so each request runs
 * against the schema its error behaviour needs: the contract (`PROPAGATE`, `HALT`) or its twin
 * with nullable outputs (`NULL`, built on first use). Apollo Server parses, validates, formats
 * and masks errors and runs every plugin as it would for a plain schema.
 */
export function schemaWithErrorBehaviours<C extends BaseContext>(
  schema: GraphQLSchema,
  twin: () => GraphQLSchema,
): ApolloServerOptionsWithGateway<C>['gateway'] {
  let nullOnError: GraphQLSchema | undefined;
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    async load() {
      return {
        executor: async (requestContext) => {
          const behaviour = errorBehaviourOf(requestContext.context);
          const result = await execute({
            schema: behaviour === 'NULL' ? (nullOnError ??= twin()) : schema,
            document: requestContext.document,
            contextValue: requestContext.context,
            variableValues: requestContext.request.variables ?? null,
            operationName: requestContext.operationName ?? requestContext.request.operationName ?? null,
          });
          return behaviour === 'HALT' ? halted(result) : result;
        },
      };
    },
    async stop() {},
  };
}
