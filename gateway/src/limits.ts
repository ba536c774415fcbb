import { type ApolloServerPlugin, HeaderMap } from '@apollo/server';
import { ErrorCode, MAX_PAGE_SIZE } from '@partnerskap/common';
import { perOperation } from './per-operation.js';
import { type DocumentNode, type FragmentDefinitionNode, GraphQLError, Kind, type SelectionSetNode, visit } from 'graphql';

/**
 * The gateway's operation limits. Each is checked before the operation is planned, so an
 * operation over one never reaches a subgraph. The numbers come from measuring the registered
 * operations (`operations/*.graphql`, see `limits.test.ts`), with room to spare.
 */
export interface Limits {
  /** Nesting of fields (a root scalar field is depth 1), not counting below `__schema`/`__type`. The deepest registered operation: 7. */
  depth: number;
  /** Aliased fields in one operation. Registered operations use none; a page of one-line comparisons needs a few. */
  aliases: number;
  /**
   * Field selections of one operation with every fragment spread expanded (each spread counts its
   * fragment again): the work a query planner that expands fragments does. The largest registered
   * operation: 58. A chain of fragments each spreading the next twice doubles this per link.
   * Introspection's fields are counted apart ({@link INTROSPECTION_FIELDS}).
   */
  fields: number;
  /** Directive uses (`@include`, `@skip`...) in one document. Registered operations use none. */
  directives: number;
  /** Lexical tokens of the document (Apollo's `parseOptions.maxTokens`: a clean 400). The largest registered operation: 98. */
  tokens: number;
  /**
   * The static cost estimate (`@cost`/`@listSize`, Apollo's weights; cost.ts), one unit about
   * `CPU_US_PER_COST_UNIT` (40) µs of backend CPU. The registered operations cost 10 to 4,288
   * (the insights page) with their sample variables and at most 1,903 with `first: 100`; a page of
   * 100 studies with every figure 3,801; one year's whole report 10,538 and any page of 100 nested
   * in another at least 20,000. 10,000 (about 0.4 s of CPU) lets the first through and refuses the
   * last two. The limit for callers without a token; what one public address can buy over time is
   * bounded by its cost budget (rate-limit.ts, docs/security.md).
   */
  cost: number;
  /**
   * The cost limit for callers with a token (partners, identified and limited per organisation):
   * the directorate's whole report of a year (10,538) and the report of docs/insights.md with its trend
   * (15,430) pass; a page of 100 nested in a page of 100 (more than 20,000) and the whole report with
   * every field of every trend year (about 31,600) do not: ask those in parts.
   */
  partnerCost: number;
  /** Request body bytes. The largest registered operation: about 1.1 kB. */
  bodyBytes: number;
  /** Items per page (`first`): the subgraphs refuse more too, but the gateway refuses before planning. */
  pageSize: number;
}

/**
 * Fields under `__schema` and `__type` in one operation, fragments expanded: counted apart from
 * `fields` so that a gateway whose `LIMIT_FIELDS` suits its operations still serves Sandbox,
 * GraphiQL and codegen. graphql-js's introspection query selects 220 to 230 (16 and 17, every
 * option on), 1,868 at the largest `typeDepth` graphql 17 allows (100); a doubling fragment chain
 * under `__schema` passes it in a dozen links.
 */
export const INTROSPECTION_FIELDS = 4000;

/** The limits unless configured otherwise (`LIMIT_DEPTH`, `LIMIT_ALIASES`...). */
export const DEFAULT_LIMITS: Limits = Object.freeze({ depth: 10, aliases: 15, fields: 1000, directives: 20, tokens: 1000, cost: 10_000, partnerCost: 20_000, bodyBytes: 100_000, pageSize: MAX_PAGE_SIZE });

/** An operation's shape, as the limits see it. */
export interface OperationMeasure {
  depth: number;
  aliases: number;
  fields: number;
  /** Fields under `__schema` and `__type`, fragments expanded (not in `fields`; their depth is in no figure). */
  introspectionFields: number;
  directives: number;
  /** The largest `first` the operation asks for (a literal or a variable's value). */
  pageSize: number;
}

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

/** Measures an operation as the limits see it, with the request's variables for `first`. */
export function measure(document: DocumentNode, variables: Record<string, unknown> = {}): OperationMeasure {
  const shape = shapeOf(document);
  const { depth, aliases, fields, introspectionFields, directives } = shape;
  return { depth, aliases, fields, introspectionFields, directives, pageSize: pageSizeOf(shape, variables) };
}

const over = (limit: keyof Limits, message: string, field?: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: ErrorCode.LIMIT_EXCEEDED, limit, ...(field ? { field } : {}), http: { status: 400 } } });

/** A caller's budget of cost units: says how long to wait when an operation's cost is more than is left. */
export interface CostBudget {
  /** Takes the cost from the caller's budget: undefined when it could, else the seconds to wait. */
  charge(cost: number): number | undefined;
}

/**
 * Refuses an operation over a limit before it is planned: depth, aliases, expanded fields,
 * directives and, when an estimator is given, the static cost with the request's variables (the
 * public's limit, or the higher one for callers with a token). HTTP
 * 400, `LIMIT_EXCEEDED`, `extensions.limit` naming the limit. A request whose context carries a
 * `costBudget` (the public's, per address) has its cost taken from it: over the budget, HTTP 429
 * `RATE_LIMITED` with `Retry-After`.
 */
export function useLimits<TContext extends { costBudget?: CostBudget; identity?: { role: string } }>(
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
          if (m.depth > limits.depth) throw over('depth', `The operation is nested ${m.depth} deep; the limit is ${limits.depth}`);
          if (m.aliases > limits.aliases) throw over('aliases', `The operation uses ${m.aliases} aliases; the limit is ${limits.aliases}`);
          if (m.fields > limits.fields) throw over('fields', `The operation selects ${m.fields} fields once its fragments are expanded; the limit is ${limits.fields}`);
          if (m.introspectionFields > INTROSPECTION_FIELDS) {
            throw over('fields', `The operation selects ${m.introspectionFields} fields of the schema's introspection once its fragments are expanded; the limit is ${INTROSPECTION_FIELDS}`);
          }
          if (m.directives > limits.directives) throw over('directives', `The document uses ${m.directives} directives; the limit is ${limits.directives}`);
          if (pageSize > limits.pageSize) throw over('pageSize', `first may be at most ${limits.pageSize}, got ${pageSize}`, 'first');
          if (estimateCost) {
            const cost = estimateCost(document, request.variables, request.operationName, schema);
            const limit = contextValue.identity && contextValue.identity.role !== 'public' ? limits.partnerCost : limits.cost;
            if (cost > limit) throw over('cost', `The operation's estimated cost is ${cost}; the limit is ${limit} (ask for fewer items with first)`);
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
