import { type GraphQLDataSource, buildOperationContext, executeQueryPlan } from '@apollo/gateway';
import { ListType, type OutputType, type Schema, Supergraph, isListType, isNonNullType, operationFromDocument } from '@apollo/federation-internals';
import { type QueryPlan, QueryPlanner } from '@apollo/query-planner';
import { type GatewayExecutionResult, type GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { type GraphQLSchema } from 'graphql';
import { type OverrideDecision, planCacheKey } from './override.js';
import { type LoadedSupergraph } from './supergraph.js';

/** Plans kept per supergraph for `onError: NULL` (the gateway's own plan cache serves the other behaviours). */
const MAX_PLANS = 500;

/** What `NULL` needs of one supergraph: built at its first such request. */
interface NullState {
  planner: QueryPlanner;
  apiSchema: Schema;
  /** The API schema with every output nullable: result shaping then leaves a failed field's null in place. */
  nullable: Schema;
  supergraphSchema: GraphQLSchema;
  plans: Map<string, QueryPlan>;
}

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

function stateOf(loaded: LoadedSupergraph): NullState {
  const supergraph = Supergraph.build(loaded.loadable);
  const apiSchema = supergraph.apiSchema();
  return {
    planner: new QueryPlanner(supergraph),
    apiSchema,
    nullable: withNullableOutputs(apiSchema),
    supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
    plans: new Map(),
  };
}

/**
 * Executes a request that asked for `onError: NULL`: planned as the gateway plans (Apollo's planner
 * over the same supergraph, its plans kept apart), fetched through the same data sources (which
 * pass `onError` on, so each partner leaves its own failed fields in place), and shaped against
 * the API schema with nullable outputs, so a failed field is `null` where it is, with its error,
 * and no null climbs to a parent. `PROPAGATE` and `HALT` never come here.
 */
export function createNullOnErrorExecutor(dataSource: (name: string) => GraphQLDataSource | undefined) {
  const states = new WeakMap<LoadedSupergraph, NullState>();
  // `overrides`: the progressive @override labels on for this request (override.ts), planned and cached as the other behaviours are.
  return async (requestContext: GatewayGraphQLRequestContext, loaded: LoadedSupergraph, overrides?: OverrideDecision): Promise<GatewayExecutionResult> => {
    let state = states.get(loaded);
    if (!state) states.set(loaded, (state = stateOf(loaded)));
    const { document, request, queryHash } = requestContext;
    const named = request.operationName ? { operationName: request.operationName } : {};
    const key = planCacheKey(queryHash, request.operationName, overrides);
    let plan = state.plans.get(key);
    if (!plan) {
      const conditions = overrides ? { overrideConditions: new Map(overrides.conditions) } : undefined;
      plan = state.planner.buildQueryPlan(operationFromDocument(state.apiSchema, document, named), conditions);
      if (state.plans.size >= MAX_PLANS) state.plans.delete(state.plans.keys().next().value!);
      state.plans.set(key, plan);
    }
    const serviceMap = Object.fromEntries(
      loaded.subgraphs.flatMap(({ name }) => {
        const source = dataSource(name);
        return source ? [[name, source]] : [];
      }),
    );
    const operationContext = buildOperationContext({ schema: requestContext.schema, operationDocument: document, ...named });
    return executeQueryPlan(plan, serviceMap, requestContext, operationContext, state.supergraphSchema, state.nullable);
  };
}
