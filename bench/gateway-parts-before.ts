/**
 * The gateway's checks as they were before issue 20 (commit 903e280): the limits', the guards' and
 * the cost estimate's own walks of each document, and the hand-written token bucket in place of
 * rate-limiter-flexible. Kept, verbatim but for names, only so that `npm run bench:parts`
 * (bench/gateway-parts.ts) can time them side by side with what replaced them and check that both
 * give the same figures. Nothing else imports this file.
 */
import { type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { ErrorCode, type Guard, type Identity, scopesOf } from '@partnerskap/common';
import { type RateLimits } from '@partnerskap/gateway';
import {
  type ConstDirectiveNode,
  GraphQLError,
  visit,
  type ConstValueNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
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

// --- gateway/src/per-operation.ts

/**
 * Memoises what depends only on an operation's text: Apollo's document cache hands every request
 * with the same text the same parsed document, so the result is kept per document (weakly) and
 * operation name, and computed once.
 */
function perOperation<T>(compute: (document: DocumentNode, operationName: string | null | undefined) => T) {
  const byDocument = new WeakMap<DocumentNode, Map<string, T>>();
  return (document: DocumentNode, operationName: string | null | undefined): T => {
    let byName = byDocument.get(document);
    if (!byName) byDocument.set(document, (byName = new Map()));
    const key = operationName ?? '';
    if (!byName.has(key)) byName.set(key, compute(document, operationName));
    return byName.get(key)!;
  };
}

// --- gateway/src/limits.ts (the walk)

/** An operation's shape: what the limits see in its text alone, and where its page sizes come from. */
interface OperationShape {
  depth: number;
  aliases: number;
  fields: number;
  introspectionFields: number;
  directives: number;
  /** The largest literal `first`. */
  firstLiteral: number;
  /** The variables that give a `first`. */
  firstVariables: string[];
}

/** What a selection set adds up to once every fragment spread in it is expanded. */
interface Expanded {
  /** How deep it nests below the field that holds it. */
  depth: number;
  /** Aliased fields, each spread of a fragment counting its aliases again. */
  aliases: number;
  /** Field selections, each spread of a fragment counting its fields again: what a planner that expands fragments walks. */
  fields: number;
  /** The same for fields under `__schema` and `__type`. */
  introspectionFields: number;
}

/**
 * The introspection root fields. What they select is measured apart: the standard introspection
 * query nests 15 deep (`ofType` nine times below `fields { type }`), and its depth is bounded by
 * graphql-js's own `MaxIntrospectionDepthRule` (in `specifiedRules` since 16.9, so Apollo's
 * validation runs it) and the tokens limit, not by ours.
 */
const INTROSPECTION = new Set(['__schema', '__type']);

/**
 * Measures the operations of a document as they would run with every fragment expanded, in time
 * linear in the document: a fragment is measured once and each spread adds its figures, so a chain
 * of fragments each spreading the next twice is measured in n steps and comes out at its true
 * 2^n fields, to be refused, instead of being walked 2^n times. Depth, aliases and fields are the
 * largest of the document's operations (whichever runs, none may be over a limit); directives and
 * `first`s are counted over the whole text.
 */
function shapeOf(document: DocumentNode): OperationShape {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const measured = new Map<string, Expanded>();
  const measuring = new Set<string>();
  const NOTHING: Expanded = { depth: 0, aliases: 0, fields: 0, introspectionFields: 0 };
  const fragment = (name: string): Expanded => {
    const known = measured.get(name);
    if (known) return known;
    const definition = fragments.get(name);
    // A fragment spread inside itself is a validation error; never loop on it here.
    if (!definition || measuring.has(name)) return NOTHING;
    measuring.add(name);
    const result = selectionSet(definition.selectionSet);
    measuring.delete(name);
    measured.set(name, result);
    return result;
  };
  const selectionSet = (set: SelectionSetNode): Expanded => {
    const sum: Expanded = { depth: 0, aliases: 0, fields: 0, introspectionFields: 0 };
    const add = (part: Expanded, deeper: number) => {
      sum.depth = Math.max(sum.depth, part.depth + deeper);
      sum.aliases += part.aliases;
      sum.fields += part.fields;
      sum.introspectionFields += part.introspectionFields;
    };
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD && INTROSPECTION.has(sel.name.value)) {
        // Fragments stay measured once, wherever spread: what they add under here is moved over whole.
        const inner = sel.selectionSet ? selectionSet(sel.selectionSet) : NOTHING;
        add({ depth: 0, aliases: (sel.alias ? 1 : 0) + inner.aliases, fields: 0, introspectionFields: 1 + inner.fields + inner.introspectionFields }, 1);
      } else if (sel.kind === Kind.FIELD) {
        add({ depth: 0, aliases: sel.alias ? 1 : 0, fields: 1, introspectionFields: 0 }, 1);
        if (sel.selectionSet) add(selectionSet(sel.selectionSet), 1);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        add(selectionSet(sel.selectionSet), 0);
      } else {
        add(fragment(sel.name.value), 0);
      }
    }
    return sum;
  };
  const shape: OperationShape = { depth: 0, aliases: 0, fields: 0, introspectionFields: 0, directives: 0, firstLiteral: 0, firstVariables: [] };
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const op = selectionSet(def.selectionSet);
    shape.depth = Math.max(shape.depth, op.depth);
    shape.aliases = Math.max(shape.aliases, op.aliases);
    shape.fields = Math.max(shape.fields, op.fields);
    shape.introspectionFields = Math.max(shape.introspectionFields, op.introspectionFields);
  }
  visit(document, {
    Directive: () => void shape.directives++,
    Argument: (arg) => {
      if (arg.name.value !== 'first') return;
      if (arg.value.kind === Kind.INT) shape.firstLiteral = Math.max(shape.firstLiteral, Number(arg.value.value));
      else if (arg.value.kind === Kind.VARIABLE) shape.firstVariables.push(arg.value.name.value);
    },
  });
  return shape;
}

/** The largest `first` with the request's variables. */
function pageSizeOf(shape: OperationShape, variables: Record<string, unknown>): number {
  let size = shape.firstLiteral;
  for (const name of shape.firstVariables) {
    const value = variables[name];
    if (typeof value === 'number' && Number.isFinite(value)) size = Math.max(size, value);
  }
  return size;
}

// --- gateway/src/plugins/use-guards.ts (the walk)

interface SchemaLike {
  getType(name: string): { getFields?: () => Record<string, { type: unknown }> } | undefined | null;
}

/** The named type under list and non-null wrappers, by shape (the schema may come from another copy of graphql). */
function namedTypeName(type: unknown): string | undefined {
  let t = type as { ofType?: unknown; name?: string } | undefined;
  while (t && t.ofType) t = t.ofType;
  return t?.name;
}

/** The `Type.field` pairs an operation selects (fragments followed), with the type each is on. */
function selectedFields(document: DocumentNode, operationName: string | null | undefined, schema: SchemaLike): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && (operationName ? d.name?.value === operationName : true));
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return [];
  const root =
    operation.operation === OperationTypeNode.MUTATION ? 'Mutation' : operation.operation === OperationTypeNode.SUBSCRIPTION ? 'Subscription' : 'Query';
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

// --- gateway/src/cost.ts

const DEFAULT_LIST_SIZE = 10;

/** What a mutation costs before its fields (Apollo's operation-type cost). */
const MUTATION_BASE_COST = 10;

/** Estimates an operation's cost from its document and variables; `operationName` picks one of several. */
type CostEstimator = (document: DocumentNode, variables: Record<string, unknown> | undefined, operationName?: string | null) => number;

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
export function createCostEstimatorBefore(supergraphSdl: string | DocumentNode): CostEstimator {
  const schema = readSchema(typeof supergraphSdl === 'string' ? parse(supergraphSdl) : supergraphSdl);
  // Per document (Apollo hands the same parsed document for the same query text), the costs
  // already estimated, by the variables' shape: a cost reads numbers (page sizes), booleans
  // (`@skip`/`@include`), which values are given and how long lists are, never a string's text.
  // So a page asked for another subject or owner costs what it cost before, without a walk.
  const known = new WeakMap<DocumentNode, Map<string, number>>();
  return (document, variables, operationName) => {
    let costs = known.get(document);
    if (!costs) known.set(document, (costs = new Map()));
    const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const named = operationName ? operations.filter((o) => o.name?.value === operationName) : [];
    const chosen = named.length > 0 ? named : operations;
    const key = `${operationName ?? ''}\u0000${JSON.stringify(variablesShapeOf(variables ?? {}))}`;
    const cached = costs.get(key);
    if (cached !== undefined) return cached;
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const each = chosen.map((op) => estimateOperation(schema, fragments, op, variables ?? {}));
    const cost = each.length > 0 ? Math.max(...each) : 0;
    // Bounded: a document asked with ever new page sizes keeps its latest few hundred.
    if (costs.size >= 256) costs.clear();
    costs.set(key, cost);
    return cost;
  };
}

/** What of a variable's value a cost can depend on: every string becomes one marker (given), the rest stays. */
function variablesShapeOf(value: unknown): unknown {
  if (typeof value === 'string') return 's';
  if (Array.isArray(value)) return value.map(variablesShapeOf);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, variablesShapeOf((value as Record<string, unknown>)[k])]),
    );
  return value ?? null;
}

function estimateOperation(
  schema: CostSchema,
  fragments: Map<string, FragmentDefinitionNode>,
  operation: OperationDefinitionNode,
  given: Record<string, unknown>,
): number {
  const variables: Record<string, unknown> = {};
  for (const v of operation.variableDefinitions ?? []) {
    if (v.defaultValue) variables[v.variable.name.value] = valueFromASTUntyped(v.defaultValue);
  }
  Object.assign(variables, given);
  const typeOf = (name: string): TypeInfo | undefined => schema.types.get(name);
  // A fragment costs the same wherever it is spread under the same sizing: scoring it once keeps
  // a document of fragments that spread each other many times linear to estimate.
  const memo = new Map<string, number>();
  const spreading = new Set<string>();

  const selectionSet = (set: SelectionSetNode | undefined, parent: string, sized: Sized | undefined): number => {
    let cost = 0;
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FIELD) cost += field(sel, parent, sized);
      else if (sel.kind === Kind.INLINE_FRAGMENT) cost += selectionSet(sel.selectionSet, sel.typeCondition?.name.value ?? parent, sized);
      else cost += spread(sel.name.value, sized);
    }
    return cost;
  };

  const spread = (name: string, sized: Sized | undefined): number => {
    const fragment = fragments.get(name);
    if (!fragment || spreading.has(name)) return 0;
    const key = `${name}|${sized?.size}|${sized?.fields.join()}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    spreading.add(name);
    const cost = selectionSet(fragment.selectionSet, fragment.typeCondition.name.value, sized);
    spreading.delete(name);
    memo.set(key, cost);
    return cost;
  };

  const field = (node: FieldNode, parent: string, sized: Sized | undefined): number => {
    if (node.name.value === '__typename' || skipped(node)) return 0;
    const def = typeOf(parent)?.fields.get(node.name.value);
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
    const requires = def.requires ? selectionSet(def.requires, parent, own) : 0;
    return count * (weight + selectionSet(node.selectionSet, def.type, own)) + args + requires;
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

  const root = schema.roots[operation.operation];
  return (operation.operation === OperationTypeNode.MUTATION ? MUTATION_BASE_COST : 0) + selectionSet(operation.selectionSet, root, undefined);
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

// --- gateway/src/rate-limit.ts (the bucket)

interface Bucket {
  tokens: number;
  updated: number;
}

/** What the limiter says of one request. */
type RateDecision = { allowed: true } | { allowed: false; retryAfterS: number };

/**
 * A token bucket per caller, in this process's memory: each replica of the gateway counts on its
 * own, so N replicas behind a balancer let a caller make up to N times the limit (see docs/operations.md).
 * Idle buckets are dropped, so memory stays bounded by the callers of the last minutes.
 */
export function createRateLimiterBefore(limits: RateLimits, now: () => number = Date.now) {
  const buckets = new Map<string, Bucket>();
  let lastSweep = now();
  return {
    /** Takes `amount` (default 1) from a caller's bucket of `perMinute`, or says when to come back. */
    take(key: string, perMinute: number, amount = 1): RateDecision {
      const t = now();
      if (t - lastSweep > 60_000) {
        for (const [k, b] of buckets) if (t - b.updated > 120_000) buckets.delete(k);
        lastSweep = t;
      }
      const rate = perMinute / 60_000;
      const b = buckets.get(key) ?? { tokens: perMinute, updated: t };
      b.tokens = Math.min(perMinute, b.tokens + (t - b.updated) * rate);
      b.updated = t;
      buckets.set(key, b);
      if (b.tokens >= amount) {
        b.tokens -= amount;
        return { allowed: true };
      }
      // More than a whole bucket can never be had; the cost limit keeps one request below it.
      return { allowed: false, retryAfterS: Math.max(1, Math.ceil((Math.min(amount, perMinute) - b.tokens) / rate / 1000)) };
    },
    /** The bucket key and limit of a caller: its organisation, or its address for the public. */
    keyOf(identity: Identity, address: string): { key: string; perMinute: number } {
      if (identity.role === 'public') return { key: `ip:${address}`, perMinute: limits.publicPerMinute };
      return { key: `${identity.role}:${identity.org ?? ''}`, perMinute: limits.partnerPerMinute };
    },
  };
}

// --- gateway/src/limits.ts (the plugin)

/** The limits the old plugin read (the gateway's `Limits`). */
type Limits = Record<'depth' | 'aliases' | 'fields' | 'directives' | 'pageSize' | 'cost' | 'partnerCost', number>;
const INTROSPECTION_FIELDS = 4000;
interface CostBudget {
  charge(cost: number): number | undefined;
}

const overBefore = (limit: string, message: string, field?: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: ErrorCode.LIMIT_EXCEEDED, limit, ...(field ? { field } : {}), http: { status: 400 } } });

/**
 * Refuses an operation over a limit before it is planned: depth, aliases, expanded fields,
 * directives and, when an estimator is given, the static cost with the request's variables (the
 * public's limit, or the higher one for callers with a token). HTTP
 * 400, `LIMIT_EXCEEDED`, `extensions.limit` naming the limit. A request whose context carries a
 * `costBudget` (the public's, per address) has its cost taken from it: over the budget, HTTP 429
 * `RATE_LIMITED` with `Retry-After`.
 */
function useLimitsBefore<TContext extends { costBudget?: CostBudget; identity?: { role: string } }>(
  limits: Limits,
  estimateCost?: (document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | null | undefined, schema: unknown) => number,
): ApolloServerPlugin<TContext> {
  // Depth, aliases and directives are the operation text's own, measured once; only `first` reads variables.
  const shape = perOperation((document) => shapeOf(document));
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request, schema, contextValue }) {
          // A document is measured whole (every operation in it), so the name only picks the cache entry.
          const m = shape(document, null);
          const pageSize = pageSizeOf(m, request.variables ?? {});
          if (m.depth > limits.depth) throw overBefore('depth', `The operation is nested ${m.depth} deep; the limit is ${limits.depth}`);
          if (m.aliases > limits.aliases) throw overBefore('aliases', `The operation uses ${m.aliases} aliases; the limit is ${limits.aliases}`);
          if (m.fields > limits.fields)
            throw overBefore('fields', `The operation selects ${m.fields} fields once its fragments are expanded; the limit is ${limits.fields}`);
          if (m.introspectionFields > INTROSPECTION_FIELDS) {
            throw overBefore(
              'fields',
              `The operation selects ${m.introspectionFields} fields of the schema's introspection once its fragments are expanded; the limit is ${INTROSPECTION_FIELDS}`,
            );
          }
          if (m.directives > limits.directives)
            throw overBefore('directives', `The document uses ${m.directives} directives; the limit is ${limits.directives}`);
          if (pageSize > limits.pageSize) throw overBefore('pageSize', `first may be at most ${limits.pageSize}, got ${pageSize}`, 'first');
          if (estimateCost) {
            const cost = estimateCost(document, request.variables, request.operationName, schema);
            const limit = contextValue.identity && contextValue.identity.role !== 'public' ? limits.partnerCost : limits.cost;
            if (cost > limit) throw overBefore('cost', `The operation's estimated cost is ${cost}; the limit is ${limit} (ask for fewer items with first)`);
            const retryAfterS = contextValue.costBudget?.charge(cost);
            if (retryAfterS !== undefined) {
              throw new GraphQLError(`Too much work asked for in the last minute: try again in ${retryAfterS} s`, {
                // Apollo reads a Map here; the type a dev dependency (graphql-yoga) declares for `http` says otherwise.
                extensions: { code: ErrorCode.RATE_LIMITED, http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterS)]]) as never } },
              });
            }
          }
        },
      };
    },
  };
}

// --- gateway/src/plugins/use-guards.ts (the plugin)

/**
 * Refuses, before the query is planned and any subgraph is called, an operation that selects a
 * field the caller can never see: one guarded by `@authenticated` or `@requiresScopes` in the
 * supergraph SDL. 401 for a caller without a token, 403 otherwise.
 */
function useGuardsBefore(options: { guardsOf(schema: unknown): ReadonlyMap<string, Guard> }): ApolloServerPlugin<{ identity: Identity }> {
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

// --- gateway/src/plugins/use-resolved-operation.ts

/**
 * Refuses, with the same HTTP 400 `BAD_REQUEST` as any other malformed request, a document whose
 * operation cannot be picked: several operations and no `operationName`, or an `operationName` the
 * document does not have (`__proto__` included). Apollo Server hands such a request to the
 * gateway, whose executor throws: a 500 with a stack in the log. The name is not echoed back.
 */
function useResolvedOperationBefore(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request }) {
          if (operation) return;
          const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;
          const message =
            typeof request.operationName === 'string'
              ? 'The document has no operation of the name given in operationName'
              : operations > 1
                ? 'The document has several operations: name the one to run in operationName'
                : 'The document has no operation to run';
          throw new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
        },
      };
    },
  };
}

// --- for the bench

/** The figures the old limits walk gave a document (its largest operation), for the bench's equality check. */
export function measureBefore(document: DocumentNode, variables: Record<string, unknown>) {
  const shape = shapeOf(document);
  return {
    depth: shape.depth,
    aliases: shape.aliases,
    fields: shape.fields,
    introspectionFields: shape.introspectionFields,
    directives: shape.directives,
    pageSize: pageSizeOf(shape, variables),
  };
}

/** The `Type.field`s the old guards walk found, for the bench's equality check. */
export function selectedFieldsBefore(document: DocumentNode, operationName: string | null | undefined, schema: unknown): string[] {
  return selectedFields(document, operationName, schema as SchemaLike);
}

/** The three plugins as the gateway assembled them before (server.ts): resolved operation, limits with the cost, guards. */
export function pluginsBefore(options: {
  supergraphSdl: string;
  guards: ReadonlyMap<string, Guard>;
  limits: Limits;
}): ApolloServerPlugin<{ identity: Identity }>[] {
  const estimate = createCostEstimatorBefore(options.supergraphSdl);
  return [
    useResolvedOperationBefore(),
    useLimitsBefore(options.limits, (document, variables, operationName) => estimate(document, variables, operationName)),
    useGuardsBefore({ guardsOf: () => options.guards }),
  ];
}
