import { type GraphQLDataSource, buildOperationContext, executeQueryPlan } from '@apollo/gateway';
import { ListType, type OutputType, type Schema, isListType, isNonNullType } from '@apollo/federation-internals';
import { type GatewayExecutionResult, type GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { type OverrideDecision, cachedPlan, planningOf } from './override.js';
import { type LoadedSupergraph } from './supergraph.js';

/** The type with every non-null wrapper removed, at every list level. */
function nullable(type: OutputType): OutputType {
  const inner = isNonNullType(type) ? (type.ofType as OutputType) : type;
  return isListType(inner) ? new ListType(nullable(inner.ofType as OutputType)) : inner;
}

function withNullableOutputs(apiSchema: Schema): Schema {
  const twin = apiSchema.clone();
  for (const type of twin.types()) {
    if (type.kind !== 'ObjectType' && type.kind !== 'InterfaceType') continue;
    for (const field of type.fields()) if (field.type) field.type = nullable(field.type);
  }
  return twin;
}

/**
 * Executes a request that asked for `onError: NULL`: planned as the gateway plans (Apollo's planner
 * over the same supergraph, the plans shared with progressive @override's: override.ts), fetched through the same data sources (which
 * pass `onError` on, so each partner leaves its own failed fields in place), and shaped against
 * the API schema with nullable outputs, so a failed field is `null` where it is, with its error,
 * and no null climbs to a parent. `PROPAGATE` and `HALT` never come here.
 */
export function createNullOnErrorExecutor(dataSource: (name: string) => GraphQLDataSource | undefined) {
  // Per supergraph, the API schema with every output nullable: result shaping then leaves a failed field's null in place.
  const nullables = new WeakMap<LoadedSupergraph, Schema>();
  // `overrides`: the progressive @override labels on for this request (override.ts); planned with the plans of override.ts, which are the same whatever the error behaviour.
  return async (requestContext: GatewayGraphQLRequestContext, loaded: LoadedSupergraph, overrides?: OverrideDecision): Promise<GatewayExecutionResult> => {
    const planning = planningOf(loaded);
    let shaping = nullables.get(loaded);
    if (!shaping) nullables.set(loaded, (shaping = withNullableOutputs(planning.apiSchema)));
    const plan = cachedPlan(planning, requestContext, overrides);
    const { document, request } = requestContext;
    const named = request.operationName ? { operationName: request.operationName } : {};
    const serviceMap = Object.fromEntries(
      loaded.subgraphs.flatMap(({ name }) => {
        const source = dataSource(name);
        return source ? [[name, source]] : [];
      }),
    );
    const operationContext = buildOperationContext({ schema: requestContext.schema, operationDocument: document, ...named });
    return executeQueryPlan(plan, serviceMap, requestContext, operationContext, planning.supergraphSchema, shaping);
  };
}
