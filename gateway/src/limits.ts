import { type ApolloServerPlugin } from '@apollo/server';
import { ErrorCode, MAX_PAGE_SIZE } from '@partnerskap/kit';
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
  /** The largest `first` the operation asks for (a literal or a variable's value; -1 when measured without the variables a `first` uses). */
  pageSize: number;
}

/** `measure` without the request's variables. */
const NO_VARIABLES: Record<string, unknown> = Object.freeze({});

/** The operation a request runs (by name, or the only one). */
export function operationOf(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? ops.find((o) => o.name?.value === operationName) : ops.length === 1 ? ops[0] : undefined;
}

/** Measures depth and aliases of the operation (fragments followed, each once per path), directives and the largest `first` of the document. */
export function measure(document: DocumentNode, operationName?: string | null, variables: Record<string, unknown> = NO_VARIABLES): OperationMeasure {
  let dependsOnVariables = false;
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
  let pageSize = 0;
  visit(document, {
    Directive: () => void directives++,
    Argument: (arg) => {
      if (arg.name.value !== 'first') return;
      if (arg.value.kind === Kind.VARIABLE && variables === NO_VARIABLES) {
        dependsOnVariables = true;
        return;
      }
      const value = arg.value.kind === Kind.INT ? Number(arg.value.value) : arg.value.kind === Kind.VARIABLE ? variables[arg.value.name.value] : undefined;
      if (typeof value === 'number' && Number.isFinite(value)) pageSize = Math.max(pageSize, value);
    },
  });
  // Measured without variables, a `first` given by a variable leaves the page size open (-1).
  return { depth, aliases, directives, pageSize: dependsOnVariables ? -1 : pageSize };
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
  estimateCost?: (document: DocumentNode, variables: Record<string, unknown> | undefined, operationName?: string | null) => number,
): ApolloServerPlugin {
  // Depth, aliases and directives are the document's own: measured once per parsed document
  // (Apollo hands every request with the same text the same one); only `first` reads variables.
  const shapes = new WeakMap<DocumentNode, Map<string, OperationMeasure>>();
  const measured = (document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): OperationMeasure => {
    const byName = shapes.get(document) ?? new Map<string, OperationMeasure>();
    shapes.set(document, byName);
    const key = operationName ?? '';
    let shape = byName.get(key);
    if (!shape) byName.set(key, (shape = measure(document, operationName)));
    const usesVariables = shape.pageSize === -1;
    return usesVariables ? measure(document, operationName, variables) : shape;
  };
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const m = measured(document, request.operationName, request.variables ?? {});
          if (m.depth > limits.depth) throw over('depth', `The operation is nested ${m.depth} deep; the limit is ${limits.depth}`);
          if (m.aliases > limits.aliases) throw over('aliases', `The operation uses ${m.aliases} aliases; the limit is ${limits.aliases}`);
          if (m.directives > limits.directives) throw over('directives', `The document uses ${m.directives} directives; the limit is ${limits.directives}`);
          if (m.pageSize > limits.pageSize) throw over('pageSize', `first may be at most ${limits.pageSize}, got ${m.pageSize}`, 'first');
          if (estimateCost) {
            const cost = estimateCost(document, request.variables, request.operationName);
            if (cost > limits.cost) throw over('cost', `The operation's estimated cost is ${cost}; the limit is ${limits.cost} (ask for fewer items with first)`);
          }
        },
      };
    },
  };
}
