import { ErrorCode, MAX_PAGE_SIZE } from '@partnerskap/common';
import { type DocumentNode, GraphQLError, Kind, type OperationDefinitionNode } from 'graphql';
import { type Analysis, analyseOperation } from './analysis.js';

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
export const DEFAULT_LIMITS: Limits = Object.freeze({
  depth: 10,
  aliases: 15,
  fields: 1000,
  directives: 20,
  tokens: 1000,
  cost: 10_000,
  partnerCost: 20_000,
  bodyBytes: 100_000,
  pageSize: MAX_PAGE_SIZE,
});

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

/** The largest `first` of an analysed operation with the request's variables. */
export function pageSizeOf(analysis: Pick<Analysis, 'firstLiteral' | 'firstVariables'>, variables: Record<string, unknown>): number {
  let size = analysis.firstLiteral;
  for (const name of analysis.firstVariables) {
    const value = variables[name];
    if (typeof value === 'number' && Number.isFinite(value)) size = Math.max(size, value);
  }
  return size;
}

/**
 * Measures a document as the limits see it, with the request's variables for `first`: its
 * operation (analysis.ts), or with several and none picked (a tool, a test: a request always has
 * one picked) the largest figures of any, since whichever runs may be over no limit.
 */
export function measure(document: DocumentNode, variables: Record<string, unknown> = {}): OperationMeasure {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const each = operations.map((operation) => {
    const a = analyseOperation(document, operation);
    return {
      depth: a.depth,
      aliases: a.aliases,
      fields: a.fields,
      introspectionFields: a.introspectionFields,
      directives: a.directives,
      pageSize: pageSizeOf(a, variables),
    };
  });
  const largest = (key: keyof OperationMeasure) => Math.max(0, ...each.map((m) => m[key]));
  return {
    depth: largest('depth'),
    aliases: largest('aliases'),
    fields: largest('fields'),
    introspectionFields: largest('introspectionFields'),
    directives: largest('directives'),
    pageSize: largest('pageSize'),
  };
}

const over = (limit: keyof Limits, message: string, field?: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: ErrorCode.LIMIT_EXCEEDED, limit, ...(field ? { field } : {}), http: { status: 400 } } });

/**
 * The first limit an analysed operation is over (depth, aliases, expanded fields, introspection's
 * fields, directives, page size), as the error to answer with (HTTP 400 `LIMIT_EXCEEDED`,
 * `extensions.limit` naming it), or undefined. The cost is checked apart, once estimated.
 */
export function overLimits(analysis: Analysis, variables: Record<string, unknown>, limits: Limits): GraphQLError | undefined {
  const m = analysis;
  const pageSize = pageSizeOf(m, variables);
  if (m.depth > limits.depth) return over('depth', `The operation is nested ${m.depth} deep; the limit is ${limits.depth}`);
  if (m.aliases > limits.aliases) return over('aliases', `The operation uses ${m.aliases} aliases; the limit is ${limits.aliases}`);
  if (m.fields > limits.fields)
    return over('fields', `The operation selects ${m.fields} fields once its fragments are expanded; the limit is ${limits.fields}`);
  if (m.introspectionFields > INTROSPECTION_FIELDS) {
    return over(
      'fields',
      `The operation selects ${m.introspectionFields} fields of the schema's introspection once its fragments are expanded; the limit is ${INTROSPECTION_FIELDS}`,
    );
  }
  if (m.directives > limits.directives) return over('directives', `The document uses ${m.directives} directives; the limit is ${limits.directives}`);
  if (pageSize > limits.pageSize) return over('pageSize', `first may be at most ${limits.pageSize}, got ${pageSize}`, 'first');
  return undefined;
}

/** The error of an operation whose estimated cost is over the caller's limit. */
export function overCost(cost: number, limit: number): GraphQLError {
  return over('cost', `The operation's estimated cost is ${cost}; the limit is ${limit} (ask for fewer items with first)`);
}

/** A caller's budget of cost units: says how long to wait when an operation's cost is more than is left. */
export interface CostBudget {
  /** Takes the cost from the caller's budget: undefined when it could, else the seconds to wait. */
  charge(cost: number): Promise<number | undefined>;
}
