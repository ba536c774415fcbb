import { createHash } from 'node:crypto';
import { type GraphQLDataSource, buildOperationContext, executeQueryPlan } from '@apollo/gateway';
import { type Schema, Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { type QueryPlan, QueryPlanner } from '@apollo/query-planner';
import { type GatewayExecutionResult, type GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { type Attributes, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { type Identity } from '@partnerskap/common';
import { type ConstArgumentNode, type DocumentNode, type GraphQLError, type GraphQLSchema, Kind, getVariableValues } from 'graphql';
import { type GatewayContext } from './data-source.js';
import { type LoadedSupergraph } from './supergraph.js';

/**
 * Progressive `@override`: a field moving from one subgraph to another, planned per request.
 * Composition writes `@join__field(graph: ADMISSIONS, override: "catalogue", overrideLabel: "percent(10)")`;
 * @apollo/gateway plans every label as off (the field stays with `from`), so when a label is on for
 * a request the gateway plans that request itself, with Apollo's planner given the conditions, and
 * executes the plan with Apollo's `executeQueryPlan` over the same data sources. A request with no
 * label on (and every request of a supergraph without labels) goes through Apollo's own executor.
 */

/** One `@override` of a supergraph: a field moved from one subgraph to another, progressively when it has a label. */
export interface OverrideMove {
  /** As `Study.credits`. */
  coordinate: string;
  /** The subgraph the field moves from. */
  from: string;
  /** The subgraph the field moves to (the one carrying `@override`). */
  to: string;
  /** The progressive label, as `percent(10)`; absent for a plain (complete) `@override`. */
  label?: string;
}

/** The label's grammar as composition accepts it (federation 2.7): a percentage, 0 to 100 with up to 8 decimals. */
const PERCENT = /^percent\((\d{1,2}(?:\.\d{1,8})?|100)\)$/;

/** A label as the gateway decides it: a percentage of callers, or a name switched on by `OVERRIDE_LABELS`. */
export type OverrideLabel = { kind: 'percent'; percent: number } | { kind: 'named'; name: string };

/** Reads a label: `percent(N)` (N from 0 to 100, up to 8 decimals) or any other name. */
export function parseOverrideLabel(label: string): OverrideLabel {
  const percent = PERCENT.exec(label);
  return percent ? { kind: 'percent', percent: Math.min(100, Number(percent[1])) } : { kind: 'named', name: label };
}

const stringArg = (args: readonly ConstArgumentNode[] | undefined, name: string): string | undefined => {
  const value = args?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
};

/** The `@override`s a composed supergraph records (`@join__field(override:, overrideLabel:)`), in SDL order. */
export function readOverrides(document: DocumentNode): OverrideMove[] {
  // `graph: ADMISSIONS` names a join__Graph value; its @join__graph(name:) is the subgraph's name.
  const graphs = new Map<string, string>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph') continue;
    for (const value of definition.values ?? []) {
      const name = stringArg(value.directives?.find((d) => d.name.value === 'join__graph')?.arguments, 'name');
      if (name) graphs.set(value.name.value, name);
    }
  }
  const moves: OverrideMove[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    for (const field of definition.fields ?? []) {
      for (const directive of field.directives ?? []) {
        if (directive.name.value !== 'join__field') continue;
        const from = stringArg(directive.arguments, 'override');
        if (from === undefined) continue;
        const graph = directive.arguments?.find((a) => a.name.value === 'graph')?.value;
        const to = graph?.kind === Kind.ENUM ? (graphs.get(graph.value) ?? graph.value) : '';
        const label = stringArg(directive.arguments, 'overrideLabel');
        moves.push({ coordinate: `${definition.name.value}.${field.name.value}`, from, to, ...(label ? { label } : {}) });
      }
    }
  }
  return moves;
}

/** The progressive labels of a supergraph's moves, each with the fields it moves (sorted): the salt of a caller's bucket. */
export function overrideLabelsOf(moves: readonly OverrideMove[]): ReadonlyMap<string, readonly string[]> {
  const labels = new Map<string, string[]>();
  for (const { label, coordinate } of moves) if (label) labels.set(label, [...(labels.get(label) ?? []), coordinate].sort());
  return labels;
}

/**
 * Where a caller falls for a move, from 0 (inclusive) to 100 (exclusive): the first 48 bits of
 * SHA-256 over the moved fields and the caller. The label's percentage is not in it, so raising
 * `percent(10)` to `percent(50)` keeps every caller already moved and adds more.
 */
export function callerBucket(fields: readonly string[], caller: string): number {
  return (
    (createHash('sha256')
      .update(`${fields.join(',')}\u0000${caller}`)
      .digest()
      .readUIntBE(0, 6) /
      2 ** 48) *
    100
  );
}

/** Who a caller is for the decision: the role and organisation of an identified caller; none for the public (decided per request). */
export function overrideCallerOf(identity: Identity | undefined): string | undefined {
  return !identity || identity.role === 'public' ? undefined : `${identity.role}:${identity.org ?? ''}`;
}

/** The labels chosen for one request. */
export interface OverrideDecision {
  /** Every label of the supergraph, on or off: what the planner is given. */
  conditions: ReadonlyMap<string, boolean>;
  /** The labels on, sorted and joined: the part of a plan's cache key the decision makes ('' when none is on). */
  key: string;
}

/** Options of {@link decideOverrides}. */
export interface DecideOptions {
  /** Named labels (not `percent(...)`) on for every request (`OVERRIDE_LABELS`); default none: a named label is off. */
  enabledLabels?: ReadonlySet<string>;
  /** A number from 0 to 1 for a public request's draw (default `Math.random`). */
  random?: () => number;
}

/**
 * Decides each label for one request. `percent(N)`: on for N % of requests; an identified caller
 * gets the same answer on every request ({@link callerBucket}), so one user never sees a field flip
 * between its sources; the public is drawn per request. A named label: on when listed in `enabledLabels`.
 */
export function decideOverrides(labels: ReadonlyMap<string, readonly string[]>, caller: string | undefined, options: DecideOptions = {}): OverrideDecision {
  const conditions = new Map<string, boolean>();
  const on: string[] = [];
  for (const [label, fields] of labels) {
    const parsed = parseOverrideLabel(label);
    const value =
      parsed.kind === 'named'
        ? (options.enabledLabels?.has(parsed.name) ?? false)
        : parsed.percent >= 100 ||
          (parsed.percent > 0 && (caller === undefined ? (options.random ?? Math.random)() * 100 : callerBucket(fields, caller)) < parsed.percent);
    conditions.set(label, value);
    if (value) on.push(label);
  }
  return { conditions, key: on.sort().join('\n') };
}

/** The plan cache's key: the query, the operation picked, and the labels on. */
export function planCacheKey(queryHash: string, operationName: string | null | undefined, decision: OverrideDecision | undefined): string {
  return `${queryHash}\n${operationName ?? ''}\n${decision?.key ?? ''}`;
}

/** Plans kept per supergraph for requests with a label on (Apollo's plan cache serves the others). */
const MAX_PLANS = 500;

/** A bounded map of plans: the least recently used goes first. */
export class PlanCache {
  readonly #plans = new Map<string, QueryPlan>();
  constructor(readonly max = MAX_PLANS) {}
  get(key: string): QueryPlan | undefined {
    const plan = this.#plans.get(key);
    if (plan) {
      this.#plans.delete(key);
      this.#plans.set(key, plan);
    }
    return plan;
  }
  set(key: string, plan: QueryPlan): void {
    this.#plans.delete(key);
    if (this.#plans.size >= this.max) this.#plans.delete(this.#plans.keys().next().value!);
    this.#plans.set(key, plan);
  }
  get size(): number {
    return this.#plans.size;
  }
}

/**
 * What planning here needs of one supergraph (Apollo's planner over it, its API and supergraph
 * schemas, the plans made): built at its first request planned here, a label on or `onError: NULL`
 * (error-behaviour.ts), and shared by both: a plan depends on the labels, not on the error behaviour.
 */
export interface PlanningState {
  planner: QueryPlanner;
  apiSchema: Schema;
  supergraphSchema: GraphQLSchema;
  plans: PlanCache;
}

const planning = new WeakMap<LoadedSupergraph, PlanningState>();

/** The planning state of a supergraph (see {@link PlanningState}), built once. */
export function planningOf(loaded: LoadedSupergraph): PlanningState {
  let state = planning.get(loaded);
  if (!state) {
    const supergraph = Supergraph.build(loaded.loadable);
    state = {
      planner: new QueryPlanner(supergraph),
      apiSchema: supergraph.apiSchema(),
      supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
      plans: new PlanCache(),
    };
    planning.set(loaded, state);
  }
  return state;
}

/** A request's plan under the labels decided (none: every label off, as Apollo plans): from the cache, or made by `build` (which a caller may run in a span) and kept. */
export function cachedPlan(
  state: PlanningState,
  requestContext: GatewayGraphQLRequestContext,
  decision: OverrideDecision | undefined,
  run: (build: () => QueryPlan) => QueryPlan = (build) => build(),
): QueryPlan {
  const { request, document, queryHash } = requestContext;
  const key = planCacheKey(queryHash, request.operationName, decision);
  let plan = state.plans.get(key);
  if (!plan) {
    const named = request.operationName ? { operationName: request.operationName } : {};
    const conditions = decision ? { overrideConditions: new Map(decision.conditions) } : undefined;
    plan = run(() => state.planner.buildQueryPlan(operationFromDocument(state.apiSchema, document, named), conditions));
    state.plans.set(key, plan);
  }
  return plan;
}

/** Apollo's span names (@apollo/gateway `utilities/opentelemetry`): a trace of a request planned here looks like one of Apollo's executor. */
const SPAN = { REQUEST: 'gateway.request', VALIDATE: 'gateway.validate', PLAN: 'gateway.plan' } as const;
const tracer = trace.getTracer('@partnerskap/gateway');

/** Runs `work` in an active span, marked failed when it throws; the span ends with it. */
function inSpan<T>(name: string, attributes: Attributes, work: (span: Span) => T): T {
  return tracer.startActiveSpan(name, { attributes }, (span) => {
    try {
      return work(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The same for asynchronous work: the span ends when it settles. */
function inAsyncSpan<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Options of {@link createProgressiveOverride}. */
export interface ProgressiveOverrideOptions {
  /** The data source of a subgraph by name (the gateway's own, shared with Apollo's executor). */
  dataSource: (name: string) => GraphQLDataSource | undefined;
  /** The supergraph a request's API schema was built from. */
  supergraphOf: (schema: GraphQLSchema) => LoadedSupergraph | undefined;
  /** Named labels on for every request (`OVERRIDE_LABELS`); default none. */
  enabledLabels?: readonly string[];
  /** A number from 0 to 1 for a public request's draw (default `Math.random`; tests give a seeded one). */
  random?: () => number;
}

/** The gateway's progressive `@override`: which labels a request gets, and its execution when one is on. */
export interface ProgressiveOverride {
  /** The labels of this request (counted in `partnerskap_override_requests_total`), or undefined when none is on: Apollo's plan then. */
  decide(requestContext: GatewayGraphQLRequestContext): OverrideDecision | undefined;
  /** Plans (or takes from the cache) and executes a request with the labels decided, as Apollo's executor does. */
  execute(requestContext: GatewayGraphQLRequestContext, decision: OverrideDecision): Promise<GatewayExecutionResult>;
}

/** Creates the gateway's progressive `@override` (see {@link ProgressiveOverride}). */
export function createProgressiveOverride(options: ProgressiveOverrideOptions): ProgressiveOverride {
  const decideOptions: DecideOptions = { enabledLabels: new Set(options.enabledLabels ?? []), ...(options.random ? { random: options.random } : {}) };
  return {
    decide(requestContext) {
      const labels = options.supergraphOf(requestContext.schema)?.overrideLabels;
      if (!labels || labels.size === 0) return undefined;
      const context = requestContext.context as Partial<GatewayContext>;
      const decision = decideOverrides(labels, overrideCallerOf(context.identity), decideOptions);
      for (const [label, value] of decision.conditions) context.metrics?.overrideDecided(label, value);
      return decision.key === '' ? undefined : decision;
    },
    execute(requestContext, decision) {
      const loaded = options.supergraphOf(requestContext.schema);
      if (!loaded) throw new Error('no supergraph is loaded');
      const state = planningOf(loaded);
      const { request, document, operationName } = requestContext;
      const named = request.operationName ? { operationName: request.operationName } : {};
      const nameAttributes: Attributes = operationName ? { operationName, 'graphql.operation.name': operationName } : {};
      return inAsyncSpan(SPAN.REQUEST, nameAttributes, async (span) => {
        const operationContext = buildOperationContext({ schema: requestContext.schema, operationDocument: document, ...named });
        span.setAttributes({ 'graphql.operation.type': operationContext.operation.operation });
        // What Apollo's executor checks before planning (`validateIncomingRequest`): the variables against their types.
        const invalid = inSpan(SPAN.VALIDATE, {}, (validation) => {
          const definitions = operationContext.operation.variableDefinitions;
          const errors: readonly GraphQLError[] = definitions
            ? (getVariableValues(operationContext.schema, definitions, request.variables ?? {}).errors ?? [])
            : [];
          if (errors.length > 0) validation.setStatus({ code: SpanStatusCode.ERROR });
          return errors;
        });
        if (invalid.length > 0) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          return { errors: invalid };
        }
        const plan = cachedPlan(state, requestContext, decision, (build) =>
          inSpan(SPAN.PLAN, operationName ? { 'graphql.operation.name': operationName } : {}, build),
        );
        const serviceMap = Object.fromEntries(
          loaded.subgraphs.flatMap(({ name }) => {
            const source = options.dataSource(name);
            return source ? [[name, source]] : [];
          }),
        );
        const response = await executeQueryPlan(plan, serviceMap, requestContext, operationContext, state.supergraphSchema, state.apiSchema);
        if (response.errors) span.setStatus({ code: SpanStatusCode.ERROR });
        return response;
      });
    },
  };
}
