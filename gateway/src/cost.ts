/**
 * A static cost estimate of an operation, computed before query planning from the `@cost` and
 * `@listSize` directives of the supergraph SDL, with the weights of Apollo's demand control (the
 * GraphOS Router's `static_estimated` strategy, after the IBM cost spec):
 * https://www.apollographql.com/docs/graphos/routing/security/demand-control
 * (checked against the router's `demand_control/cost_calculator/static_cost.rs` and `directives.rs`).
 *
 * - An operation costs its fields, plus 10 for a mutation (0 for a query or subscription).
 * - A field costs `count * (weight + its selections) + its arguments + what its @requires needs`.
 * - weight: the field's `@cost(weight:)`, else its type's, else 1 for an object, interface or
 *   union and 0 for a scalar or enum. `__typename` costs 0.
 * - count: 1 unless the field is a list. A list counts the size its parent's
 *   `@listSize(sizedFields:)` gives it (a connection's `edges`), else its own `@listSize`: the
 *   largest of its slicing arguments (a literal, a variable, else the argument's default), else
 *   `assumedSize`; else {@link DEFAULT_LIST_SIZE}.
 * - An argument: an input object costs 1 (or its `@cost`) plus its fields, one per object, not
 *   per field; a list its items (plus its `@cost`); a scalar or enum its `@cost`, else 0; null 0.
 *   A variable costs what its value would.
 * - A field under a literal `@skip(if: true)` or `@include(if: false)` costs 0; one whose condition
 *   is a variable is counted (an upper bound), as Apollo does.
 * - Named and inline fragments are scored where they are spread, so every spread and every alias
 *   counts. The estimate reads the operation's analysis (analysis.ts: the fields with the types
 *   they are selected on, each fragment analysed once) and scores each fragment once per sizing.
 *
 * Where we differ from Apollo, and why:
 * - Apollo scores the query plan (each subgraph fetch, entity fetches included); we score the
 *   operation against the supergraph before planning, so the fields the planner adds (keys,
 *   `_entities`) are not counted: our figures run a little under the router's.
 * - The operation's own variable defaults count (`query ($n: Int = 100)`): Apollo reads only the
 *   request's variables, which would price such a page at the SDL's default.
 * - A negative or non-integer slicing value is ignored (the subgraphs refuse it); Apollo takes
 *   any integer. `requireOneSlicingArgument` is not enforced (Apollo refuses the operation): our
 *   SDL sets it false, and the subgraphs validate `first` themselves.
 * - The operation is picked as Apollo picks it (the one named, or the only one); a document whose
 *   operation cannot be picked (a request is refused before) costs its dearest operation.
 * - A field the SDL does not define (introspection, or an invalid operation that validation
 *   refuses) costs 0; so does a fragment spread inside its own fragment (a cycle).
 * - Federation 2.9's `@cost` takes `weight: Int!` (the IBM spec: `weight: String!`); both read.
 */
import {
  type ConstDirectiveNode,
  type ConstValueNode,
  type DocumentNode,
  type FieldNode,
  GraphQLError,
  type InputValueDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type TypeNode,
  isTypeDefinitionNode,
  isTypeExtensionNode,
  OperationTypeNode,
  parse,
  valueFromASTUntyped,
} from 'graphql';
import {
  type AnalysedFragment,
  type Analysis,
  type SchemaTypes,
  type SelectedField,
  type Selections,
  analyseOperation,
  analyseSelectionSet,
  createAnalyser,
} from './analysis.js';

/**
 * The size of a list without `@listSize`. Apollo's router has no default: `static_estimated.list_size`
 * must be configured (its docs use 10). Every list of our SDL carries `@listSize`, so this only
 * prices a list added without one.
 */
export const DEFAULT_LIST_SIZE = 10;

/**
 * What one unit of estimated cost makes the backend spend, in µs of CPU (the store, the subgraphs
 * and the gateway), at the demo volume: the conversion the weights follow. `npm run bench:cost`
 * measures it: the registered operations at a full page spend 28 to 35 µs per unit, rounded up
 * here; a report field's `@cost` is its measured CPU over this (docs/security.md).
 */
export const CPU_US_PER_COST_UNIT = 40;

/** What a mutation costs before its fields (Apollo's operation-type cost). */
export const MUTATION_BASE_COST = 10;

/**
 * Estimates an operation's cost from its document and variables; `operationName` picks one of
 * several. A request hands its {@link Analysis} (analysis.ts) so the document is not walked again.
 */
export type CostEstimator = (
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName?: string | null,
  analysis?: Analysis,
) => number;

interface InputValue {
  type: string;
  /** How many list wrappers the type has: a variable's arrays are followed no deeper. */
  listDepth: number;
  weight?: number;
  defaultValue?: ConstValueNode;
}

interface ListSize {
  assumedSize?: number;
  slicingArguments: string[];
  sizedFields: string[];
}

interface OutputField {
  type: string;
  list: boolean;
  weight?: number;
  listSize?: ListSize;
  args: Map<string, InputValue>;
  /** The selection its `@requires` fetches first (`join__field(requires:)`). */
  requires?: SelectionSetNode;
  /** The same, analysed (on first use). */
  requiresSelections?: Selections;
}

interface TypeInfo {
  composite: boolean;
  input: boolean;
  weight?: number;
  fields: Map<string, OutputField>;
  inputFields: Map<string, InputValue>;
}

interface CostSchema {
  types: Map<string, TypeInfo>;
  roots: Record<'query' | 'mutation' | 'subscription', string>;
}

/** A list field's resolved `@listSize`, handed to its selections for `sizedFields`. */
interface Sized {
  size: number | undefined;
  fields: readonly string[];
}

/** Builds the estimator once from the supergraph SDL (or its parsed document, when the caller has it). */
export function createCostEstimator(supergraphSdl: string | DocumentNode): CostEstimator {
  const schema = readSchema(typeof supergraphSdl === 'string' ? parse(supergraphSdl) : supergraphSdl);
  const types: SchemaTypes = {
    root: (operation) => schema.roots[operation],
    field: (parentType, field) => schema.types.get(parentType)?.fields.get(field)?.type,
  };
  // Called without a request's analysis (tools, tests): analysed here, with the SDL's types.
  const analyse = createAnalyser(types);
  // Per document (Apollo hands the same parsed document for the same query text), the costs
  // already estimated, by the variables' shape: a cost reads numbers (page sizes), booleans
  // (`@skip`/`@include`), which values are given and how long lists are, never a string's text.
  // So a page asked for another subject or owner costs what it cost before, without a walk.
  const known = new WeakMap<DocumentNode, Map<string, number>>();
  return (document, variables, operationName, analysis) => {
    let costs = known.get(document);
    if (!costs) known.set(document, (costs = new Map<string, number>()));
    const key = `${operationName ?? ''}\u0000${JSON.stringify(shapeOf(variables ?? {}))}`;
    const cached = costs.get(key);
    if (cached !== undefined) return cached;
    const picked = analysis?.document === document ? analysis : analyse(document, operationName);
    let cost: number;
    if (picked instanceof GraphQLError) {
      // No operation can be picked (a request is refused before this): the dearest, whichever runs.
      const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      cost = Math.max(0, ...operations.map((op) => estimateOperation(schema, types, analyseOperation(document, op, types), variables ?? {})));
    } else {
      cost = estimateOperation(schema, types, picked, variables ?? {});
    }
    // Bounded: a document asked with ever new page sizes keeps its latest few hundred.
    if (costs.size >= 256) costs.clear();
    costs.set(key, cost);
    return cost;
  };
}

/** What of a variable's value a cost can depend on: every string becomes one marker (given), the rest stays. */
function shapeOf(value: unknown): unknown {
  if (typeof value === 'string') return 's';
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, shapeOf((value as Record<string, unknown>)[k])]),
    );
  return value ?? null;
}

function estimateOperation(schema: CostSchema, types: SchemaTypes, analysis: Analysis, given: Record<string, unknown>): number {
  const { operation } = analysis;
  const variables: Record<string, unknown> = {};
  for (const v of operation.variableDefinitions ?? []) {
    if (v.defaultValue) variables[v.variable.name.value] = valueFromASTUntyped(v.defaultValue);
  }
  Object.assign(variables, given);
  const typeOf = (name: string): TypeInfo | undefined => schema.types.get(name);
  // A fragment costs the same wherever it is spread under the same sizing: scoring it once keeps
  // a document of fragments that spread each other many times linear to estimate.
  const memo = new Map<AnalysedFragment, Map<string, number>>();
  const spreading = new Set<AnalysedFragment>();

  const selections = (set: Selections | undefined, sized: Sized | undefined): number => {
    if (!set) return 0;
    let cost = 0;
    for (const item of set.items) cost += item.kind === 'field' ? field(item, sized) : spread(item, sized);
    return cost;
  };

  const spread = (fragment: AnalysedFragment, sized: Sized | undefined): number => {
    if (spreading.has(fragment)) return 0;
    let bySize = memo.get(fragment);
    if (!bySize) memo.set(fragment, (bySize = new Map<string, number>()));
    const key = `${sized?.size}|${sized?.fields.join()}`;
    const known = bySize.get(key);
    if (known !== undefined) return known;
    spreading.add(fragment);
    const cost = selections(fragment.selections, sized);
    spreading.delete(fragment);
    bySize.set(key, cost);
    return cost;
  };

  const field = (selected: SelectedField, sized: Sized | undefined): number => {
    const { node, parentType } = selected;
    if (node.name.value === '__typename' || parentType === undefined || skipped(node)) return 0;
    const def = typeOf(parentType)?.fields.get(node.name.value);
    if (!def) return 0;
    const own: Sized | undefined = def.listSize && { size: expectedSize(def, node), fields: def.listSize.sizedFields };
    const upstream = sized?.fields.includes(node.name.value) ? sized.size : undefined;
    const count = def.list ? (upstream ?? own?.size ?? DEFAULT_LIST_SIZE) : 1;
    const type = typeOf(def.type);
    const weight = def.weight ?? type?.weight ?? (type?.composite ? 1 : 0);
    let args = 0;
    for (const arg of node.arguments ?? []) {
      const argDef = def.args.get(arg.name.value);
      if (argDef) args += input(valueFromASTUntyped(arg.value, variables), argDef, argDef.listDepth);
    }
    if (def.requires && !def.requiresSelections) def.requiresSelections = analyseSelectionSet(def.requires, parentType, types);
    const requires = selections(def.requiresSelections, own);
    return count * (weight + selections(selected.selections, own)) + args + requires;
  };

  const expectedSize = (def: OutputField, node: FieldNode): number | undefined => {
    const sizes: number[] = [];
    for (const name of def.listSize?.slicingArguments ?? []) {
      const arg = node.arguments?.find((a) => a.name.value === name);
      const fallback = def.args.get(name)?.defaultValue;
      const size = sliceSize(arg && valueFromASTUntyped(arg.value, variables)) ?? sliceSize(fallback && valueFromASTUntyped(fallback));
      if (size !== undefined) sizes.push(size);
    }
    return sizes.length > 0 ? Math.max(...sizes) : def.listSize?.assumedSize;
  };

  const input = (value: unknown, def: InputValue, listDepth: number): number => {
    const type = typeOf(def.type);
    const weight = def.weight ?? type?.weight;
    if (value === null || value === undefined) return 0;
    if (Array.isArray(value) && listDepth > 0) return value.reduce((sum: number, item) => sum + input(item, def, listDepth - 1), weight ?? 0);
    if (type?.input && typeof value === 'object' && !Array.isArray(value)) {
      let cost = weight ?? 1;
      for (const [name, inner] of Object.entries(value)) {
        const innerDef = type.inputFields.get(name);
        if (innerDef) cost += input(inner, innerDef, innerDef.listDepth);
      }
      return cost;
    }
    return weight ?? 0;
  };

  return (operation.operation === OperationTypeNode.MUTATION ? MUTATION_BASE_COST : 0) + selections(analysis.selections, undefined);
}

/** A slicing argument's value when it is a usable page size. */
function sliceSize(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** Whether a literal `@skip(if: true)` or `@include(if: false)` leaves the field out. */
function skipped(node: FieldNode): boolean {
  return (node.directives ?? []).some((d) => {
    const condition = d.arguments?.find((a) => a.name.value === 'if')?.value;
    if (condition?.kind !== Kind.BOOLEAN) return false;
    return d.name.value === 'skip' ? condition.value : d.name.value === 'include' ? !condition.value : false;
  });
}

/** The names `@cost` and `@listSize` go by: imported, prefixed by the cost link, or by `federation__`. */
function directiveNames(sdl: DocumentNode): { cost: Set<string>; listSize: Set<string> } {
  const cost = new Set(['cost', 'federation__cost']);
  const listSize = new Set(['listSize', 'federation__listSize', 'cost__listSize']);
  for (const def of sdl.definitions) {
    if (def.kind !== Kind.SCHEMA_DEFINITION && def.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of def.directives ?? []) {
      const args = argumentsOf(link);
      if (link.name.value !== 'link' || !/\/cost\/v[\d.]+$/.test(String(args.url))) continue;
      if (typeof args.as === 'string') {
        cost.add(args.as);
        listSize.add(`${args.as}__listSize`);
      }
      for (const entry of Array.isArray(args.import) ? (args.import as unknown[]) : []) {
        const { name, as } = typeof entry === 'string' ? { name: entry, as: entry } : (entry as { name?: string; as?: string });
        if (name === '@cost' && as) cost.add(as.replace(/^@/, ''));
        if (name === '@listSize' && as) listSize.add(as.replace(/^@/, ''));
      }
    }
  }
  return { cost, listSize };
}

/** A directive's arguments as plain values. */
function argumentsOf(directive: ConstDirectiveNode): Record<string, unknown> {
  return Object.fromEntries((directive.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
}

/** The named type under list and non-null wrappers, and how many lists wrap it. */
function unwrap(type: TypeNode): { name: string; listDepth: number } {
  let listDepth = 0;
  let t = type;
  while (t.kind !== Kind.NAMED_TYPE) {
    if (t.kind === Kind.LIST_TYPE) listDepth++;
    t = t.type;
  }
  return { name: t.name.value, listDepth };
}

/** The types, fields and cost directives of the SDL, read straight from its AST (join__ and link directives need no schema). */
function readSchema(sdl: DocumentNode): CostSchema {
  const names = directiveNames(sdl);
  const directive = (directives: readonly ConstDirectiveNode[] | undefined, of: Set<string>): Record<string, unknown> | undefined => {
    const found = directives?.find((d) => of.has(d.name.value));
    return found && argumentsOf(found);
  };
  const weightOf = (directives: readonly ConstDirectiveNode[] | undefined): number | undefined => {
    const weight = Number(directive(directives, names.cost)?.weight);
    return Number.isFinite(weight) ? weight : undefined;
  };
  const inputValue = (def: InputValueDefinitionNode): InputValue => {
    const { name, listDepth } = unwrap(def.type);
    const value: InputValue = { type: name, listDepth };
    const weight = weightOf(def.directives);
    if (weight !== undefined) value.weight = weight;
    if (def.defaultValue) value.defaultValue = def.defaultValue;
    return value;
  };

  const types = new Map<string, TypeInfo>();
  const roots: CostSchema['roots'] = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' };
  for (const def of sdl.definitions) {
    if (def.kind === Kind.SCHEMA_DEFINITION || def.kind === Kind.SCHEMA_EXTENSION) {
      for (const op of def.operationTypes ?? []) roots[op.operation] = op.type.name.value;
      continue;
    }
    if (!isTypeDefinitionNode(def) && !isTypeExtensionNode(def)) continue;
    const type: TypeInfo = types.get(def.name.value) ?? { composite: false, input: false, fields: new Map(), inputFields: new Map() };
    types.set(def.name.value, type);
    const weight = weightOf(def.directives);
    if (weight !== undefined) type.weight = weight;
    switch (def.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        type.composite = true;
        for (const f of def.fields ?? []) {
          const { name, listDepth } = unwrap(f.type);
          const field: OutputField = { type: name, list: listDepth > 0, args: new Map((f.arguments ?? []).map((a) => [a.name.value, inputValue(a)])) };
          const fieldWeight = weightOf(f.directives);
          if (fieldWeight !== undefined) field.weight = fieldWeight;
          const listSize = directive(f.directives, names.listSize);
          if (listSize) {
            field.listSize = {
              slicingArguments: Array.isArray(listSize.slicingArguments) ? listSize.slicingArguments.map(String) : [],
              sizedFields: Array.isArray(listSize.sizedFields) ? listSize.sizedFields.map(String) : [],
            };
            if (sliceSize(listSize.assumedSize) !== undefined) field.listSize.assumedSize = listSize.assumedSize as number;
          }
          // The supergraph has one join__field per subgraph; the one that resolves the field carries `requires`.
          const requires = f.directives
            ?.filter((d) => d.name.value === 'join__field')
            .map((d) => argumentsOf(d).requires)
            .find((r) => typeof r === 'string');
          if (typeof requires === 'string') {
            const parsed = parse(`{ ${requires} }`).definitions[0];
            if (parsed?.kind === Kind.OPERATION_DEFINITION) field.requires = parsed.selectionSet;
          }
          type.fields.set(f.name.value, field);
        }
        break;
      case Kind.UNION_TYPE_DEFINITION:
      case Kind.UNION_TYPE_EXTENSION:
        type.composite = true;
        break;
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
      case Kind.INPUT_OBJECT_TYPE_EXTENSION:
        type.input = true;
        for (const f of def.fields ?? []) type.inputFields.set(f.name.value, inputValue(f));
        break;
      default:
        break;
    }
  }
  return { types, roots };
}
