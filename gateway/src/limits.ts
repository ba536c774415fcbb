import { type ApolloServerPlugin } from '@apollo/server';
import { ErrorCode, MAX_PAGE_SIZE } from '@partnerskap/kit';
import { perOperation } from './per-operation.js';
import { type DocumentNode, type FragmentDefinitionNode, GraphQLError, Kind, type OperationDefinitionNode, type SelectionSetNode, visit } from 'graphql';

/**
 * The gateway's operation limits. Each is checked before the operation is planned, so an
 * operation over one never reaches a subgraph. The numbers come from measuring the registered
 * operations (`operations/*.graphql`, see `limits.test.ts`), with room to spare.
 */
export interface Limits {
  /** Nesting of fields (a root scalar field is depth 1). The deepest registered operation: 7. */
  depth: number;
  /** Aliased fields in one operation. Registered operations use none; a page of one-line comparisons needs a few. */
  aliases: number;
  /** Directive uses (`@include`, `@skip`...) in one document. Registered operations use none. */
  directives: number;
  /** Lexical tokens of the document (Apollo's `parseOptions.maxTokens`: a clean 400). The largest registered operation: 98. */
  tokens: number;
  /**
   * The static cost estimate (`@cost`/`@listSize`, Apollo's weights; cost.ts). The registered
   * operations cost 10 to 193 with their sample variables and at most 1,903 with `first: 100`;
   * a page of 100 studies with every figure about 3,600; any page of 100 nested in another at
   * least 10,000. 5,000 lets the first through and refuses the second.
   */
  cost: number;
  /** Request body bytes. The largest registered operation: about 1.1 kB. */
  bodyBytes: number;
  /** Items per page (`first`): the subgraphs refuse more too, but the gateway refuses before planning. */
  pageSize: number;
}

/** The limits unless configured otherwise (`LIMIT_DEPTH`, `LIMIT_ALIASES`...). */
export const DEFAULT_LIMITS: Limits = Object.freeze({ depth: 10, aliases: 15, directives: 20, tokens: 1000, cost: 5000, bodyBytes: 100_000, pageSize: MAX_PAGE_SIZE });

/** An operation's shape, as the limits see it. */
export interface OperationMeasure {
  depth: number;
  aliases: number;
  directives: number;
  /** The largest `first` the operation asks for (a literal or a variable's value). */
  pageSize: number;
}

/** The operation a request runs (by name, or the only one). */
export function operationOf(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? ops.find((o) => o.name?.value === operationName) : ops.length === 1 ? ops[0] : undefined;
}

/** An operation's shape: what the limits see in its text alone, and where its page sizes come from. */
interface OperationShape {
  depth: number;
  aliases: number;
  directives: number;
  /** The largest literal `first`. */
  firstLiteral: number;
  /** The variables that give a `first`. */
  firstVariables: string[];
}

/** Measures depth and aliases of the operation (fragments followed, each once per path), directives and the `first`s of the document. */
function shapeOf(document: DocumentNode, operationName?: string | null): OperationShape {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  let aliases = 0;
  const depthOf = (set: SelectionSetNode, depth: number, path: Set<string>): number => {
    let max = depth;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.alias) aliases++;
        if (sel.selectionSet) max = Math.max(max, depthOf(sel.selectionSet, depth + 1, path));
        else max = Math.max(max, depth + 1);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        max = Math.max(max, depthOf(sel.selectionSet, depth, path));
      } else {
        const fragment = fragments.get(sel.name.value);
        // A fragment spread inside itself is a validation error; never loop on it here.
        if (!fragment || path.has(sel.name.value)) continue;
        max = Math.max(max, depthOf(fragment.selectionSet, depth, new Set([...path, sel.name.value])));
      }
    }
    return max;
  };
  const operation = operationOf(document, operationName);
  const depth = operation ? depthOf(operation.selectionSet, 0, new Set()) : 0;
  let directives = 0;
  let firstLiteral = 0;
  const firstVariables: string[] = [];
  visit(document, {
    Directive: () => void directives++,
    Argument: (arg) => {
      if (arg.name.value !== 'first') return;
      if (arg.value.kind === Kind.INT) firstLiteral = Math.max(firstLiteral, Number(arg.value.value));
      else if (arg.value.kind === Kind.VARIABLE) firstVariables.push(arg.value.name.value);
    },
  });
  return { depth, aliases, directives, firstLiteral, firstVariables };
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
export function measure(document: DocumentNode, operationName?: string | null, variables: Record<string, unknown> = {}): OperationMeasure {
  const shape = shapeOf(document, operationName);
  return { depth: shape.depth, aliases: shape.aliases, directives: shape.directives, pageSize: pageSizeOf(shape, variables) };
}

const over = (limit: keyof Limits, message: string, field?: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: ErrorCode.LIMIT_EXCEEDED, limit, ...(field ? { field } : {}), http: { status: 400 } } });

/**
 * Refuses an operation over a limit before it is planned: depth, aliases, directives and, when an
 * estimator is given, the static cost with the request's variables. HTTP 400, `LIMIT_EXCEEDED`,
 * `extensions.limit` naming the limit.
 */
export function useLimits(
  limits: Limits,
  estimateCost?: (document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | null | undefined, schema: unknown) => number,
): ApolloServerPlugin {
  // Depth, aliases and directives are the operation text's own, measured once; only `first` reads variables.
  const shape = perOperation(shapeOf);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request, schema }) {
          const m = shape(document, request.operationName);
          const pageSize = pageSizeOf(m, request.variables ?? {});
          if (m.depth > limits.depth) throw over('depth', `The operation is nested ${m.depth} deep; the limit is ${limits.depth}`);
          if (m.aliases > limits.aliases) throw over('aliases', `The operation uses ${m.aliases} aliases; the limit is ${limits.aliases}`);
          if (m.directives > limits.directives) throw over('directives', `The document uses ${m.directives} directives; the limit is ${limits.directives}`);
          if (pageSize > limits.pageSize) throw over('pageSize', `first may be at most ${limits.pageSize}, got ${pageSize}`, 'first');
          if (estimateCost) {
            const cost = estimateCost(document, request.variables, request.operationName, schema);
            if (cost > limits.cost) throw over('cost', `The operation's estimated cost is ${cost}; the limit is ${limits.cost} (ask for fewer items with first)`);
          }
        },
      };
    },
  };
}
