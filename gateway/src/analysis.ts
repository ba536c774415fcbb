/**
 * One pass over an operation before it is planned, for everything the gateway checks: the limits
 * (depth, aliases, fields, directives, page sizes), the guards (which `Type.field`s it selects) and
 * the cost estimate (the fields with their arguments, sized through fragments). Each reads the
 * {@link Analysis}; none walks the document again.
 *
 * The operation is picked once, by Apollo Server's rule (graphql-js's `getOperationAST`): the one
 * named by `operationName`, or the only one. Each fragment the operation reaches is walked once,
 * however often it is spread: its figures are kept and added at every spread, so a chain of
 * fragments each spreading the next twice is analysed in time linear in the document and comes out
 * at its expanded size (2^n fields), to be refused, rather than walked 2^n times.
 */
import {
  type ArgumentNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type OperationDefinitionNode,
  OperationTypeNode,
  type SelectionSetNode,
} from 'graphql';

/** Where a request's analysis is kept on its context (a symbol: Apollo Server clones `contextValue`, own symbol properties with it). */
export const ANALYSIS = Symbol('partnerskap.analysis');

/** What the analysis needs of a schema: the root types and each field's named type. */
export interface SchemaTypes {
  /** The root type of an operation type (default `Query`, `Mutation`, `Subscription`). */
  root?(operation: OperationTypeNode): string | undefined;
  /** The named type (lists and non-null unwrapped) of a field, or undefined when the type has no such field. */
  field(parentType: string, field: string): string | undefined;
}

/** What a selection set adds up to once every fragment spread in it is expanded. */
export interface Expanded {
  /** How deep it nests below the field that holds it. */
  depth: number;
  /** Aliased fields, each spread of a fragment counting its aliases again. */
  aliases: number;
  /** Field selections, each spread of a fragment counting its fields again: what a planner that expands fragments walks. */
  fields: number;
  /** The same for fields under `__schema` and `__type` (counted apart: see limits.ts). */
  introspectionFields: number;
}

/** A selection set, its inline fragments flattened into it (each field keeps the type it is selected on). */
export interface Selections extends Readonly<Expanded> {
  /**
   * Its fields (those of its inline fragments included) and the named fragments spread in it, in
   * document order; a spread of an unknown fragment, or of one inside itself, is left out. Its
   * figures are those of {@link Expanded}, fragments expanded.
   */
  readonly items: readonly (SelectedField | AnalysedFragment)[];
}

/** One field of an operation. */
export interface SelectedField {
  readonly kind: 'field';
  readonly node: FieldNode;
  /** The type it is selected on; undefined below a field the schema does not know (or introspection's). */
  readonly parentType: string | undefined;
  /** Its named type, when the schema knows the field. */
  readonly type: string | undefined;
  /** What it selects, if it is not a leaf. */
  readonly selections: Selections | undefined;
}

/** A named fragment, analysed once for the operation, whatever the number of its spreads. */
export interface AnalysedFragment {
  readonly kind: 'fragment';
  readonly name: string;
  readonly typeCondition: string;
  readonly selections: Selections;
}

/** An operation as the limits, the guards and the cost estimate see it. */
export interface Analysis extends Readonly<Expanded> {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  /** The operation's root type (`Query`, `Mutation`, `Subscription`). */
  readonly rootType: string;
  /** What it selects, as a tree whose named fragments are shared. */
  readonly selections: Selections;
  /** Directive uses in its text and the text of each fragment it reaches (each fragment once). */
  readonly directives: number;
  /** The largest literal `first` in that text (0 when none). */
  readonly firstLiteral: number;
  /** The variables that give a `first` in that text. */
  readonly firstVariables: readonly string[];
  /** The names of its root fields, fragments followed. */
  readonly rootFields: readonly string[];
  /** The `Type.field`s it selects on types the schema knows (introspection's `__` fields left out): what the guards check. */
  readonly selected: ReadonlySet<string>;
  /** The fragments walked, each once, in the order first reached. */
  readonly fragments: readonly string[];
}

/** The root types unless the schema names others. */
const DEFAULT_ROOTS: Record<OperationTypeNode, string> = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' };

/**
 * The introspection root fields. What they select is measured apart: the standard introspection
 * query nests 15 deep (`ofType` nine times below `fields { type }`); its depth is bounded by
 * graphql-js's own `MaxIntrospectionDepthRule` and the tokens limit, not by ours.
 */
const INTROSPECTION = new Set(['__schema', '__type']);

const NOTHING: Readonly<Expanded> = Object.freeze({ depth: 0, aliases: 0, fields: 0, introspectionFields: 0 });

/** The error of a request whose operation cannot be picked: HTTP 400 `BAD_REQUEST`, the name given not echoed back. */
function unpicked(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
}

/**
 * The operation to run, by Apollo Server's rule: the one `operationName` names (`__proto__` is only
 * a name), or the only one; else the coded refusal (several and none named, a name the document
 * lacks, no operation at all).
 */
export function pickOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | GraphQLError {
  let only: OperationDefinitionNode | undefined;
  let count = 0;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    if (typeof operationName === 'string') {
      if (definition.name?.value === operationName) return definition;
    } else {
      only = definition;
      count++;
    }
  }
  if (typeof operationName === 'string') return unpicked('The document has no operation of the name given in operationName');
  if (count > 1) return unpicked('The document has several operations: name the one to run in operationName');
  return only ?? unpicked('The document has no operation to run');
}

/** Figures of the text, counted once per definition walked. */
interface TextCounts {
  directives: number;
  firstLiteral: number;
  firstVariables: string[];
}

function countDirectives(directives: readonly DirectiveNode[] | undefined, text: TextCounts): void {
  if (!directives) return;
  text.directives += directives.length;
  for (const directive of directives) countArguments(directive.arguments, text);
}

function countArguments(args: readonly ArgumentNode[] | undefined, text: TextCounts): void {
  for (const arg of args ?? []) {
    if (arg.name.value !== 'first') continue;
    if (arg.value.kind === Kind.INT) text.firstLiteral = Math.max(text.firstLiteral, Number(arg.value.value));
    else if (arg.value.kind === Kind.VARIABLE) text.firstVariables.push(arg.value.name.value);
  }
}

/** Adds what a part selects to a selection set's figures, `deeper` levels below it. */
function add(sum: Expanded, part: Readonly<Expanded>, deeper: number): void {
  sum.depth = Math.max(sum.depth, part.depth + deeper);
  sum.aliases += part.aliases;
  sum.fields += part.fields;
  sum.introspectionFields += part.introspectionFields;
}

/** One walk of an operation and the fragments it reaches (methods, not closures: nothing is allocated per selection set but its result). */
class OperationWalk {
  readonly text: TextCounts = { directives: 0, firstLiteral: 0, firstVariables: [] };
  /** The fragments walked, in the order first reached. */
  readonly walked: string[] = [];
  private readonly definitions = new Map<string, FragmentDefinitionNode>();
  private readonly analysed = new Map<string, AnalysedFragment>();
  private readonly walking = new Set<string>();

  constructor(
    document: DocumentNode,
    private readonly types: SchemaTypes | undefined,
  ) {
    for (const def of document.definitions)
      if (def.kind === Kind.FRAGMENT_DEFINITION && !this.definitions.has(def.name.value)) this.definitions.set(def.name.value, def);
  }

  fragment(name: string): AnalysedFragment | undefined {
    const known = this.analysed.get(name);
    if (known) return known;
    const definition = this.definitions.get(name);
    // A fragment spread inside itself is a validation error; never loop on it here.
    if (!definition || this.walking.has(name)) return undefined;
    this.walking.add(name);
    this.walked.push(name);
    countDirectives(definition.directives, this.text);
    const typeCondition = definition.typeCondition.name.value;
    const result: AnalysedFragment = { kind: 'fragment', name, typeCondition, selections: this.selectionSet(definition.selectionSet, typeCondition) };
    this.walking.delete(name);
    this.analysed.set(name, result);
    return result;
  }

  selectionSet(set: SelectionSetNode, parentType: string | undefined): Selections {
    const selections = { items: [] as (SelectedField | AnalysedFragment)[], depth: 0, aliases: 0, fields: 0, introspectionFields: 0 };
    this.collect(set, parentType, selections);
    return selections;
  }

  /** Adds a selection set's selections to `into`, inline fragments flattened. */
  private collect(set: SelectionSetNode, on: string | undefined, into: Expanded & { items: (SelectedField | AnalysedFragment)[] }): void {
    for (const sel of set.selections) {
      countDirectives(sel.directives, this.text);
      if (sel.kind === Kind.FIELD) {
        countArguments(sel.arguments, this.text);
        const type = on !== undefined && this.types ? this.types.field(on, sel.name.value) : undefined;
        const selections = sel.selectionSet ? this.selectionSet(sel.selectionSet, type) : undefined;
        into.items.push({ kind: 'field', node: sel, parentType: on, type, selections });
        const below = selections ?? NOTHING;
        if (INTROSPECTION.has(sel.name.value)) {
          // Fragments stay analysed once, wherever spread: what they add under here is moved over whole.
          add(
            into,
            { depth: 0, aliases: (sel.alias ? 1 : 0) + below.aliases, fields: 0, introspectionFields: 1 + below.fields + below.introspectionFields },
            1,
          );
        } else {
          into.fields += 1;
          if (sel.alias) into.aliases += 1;
          add(into, below, 1);
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        this.collect(sel.selectionSet, sel.typeCondition?.name.value ?? on, into);
      } else {
        const spread = this.fragment(sel.name.value);
        if (spread) {
          into.items.push(spread);
          add(into, spread.selections, 0);
        }
      }
    }
  }
}

/**
 * Analyses one operation of a document (no picking: {@link createAnalyser} picks and keeps the
 * results). `types` resolves the type each field is selected on; without it only the figures of
 * the limits mean anything.
 */
export function analyseOperation(document: DocumentNode, operation: OperationDefinitionNode, types?: SchemaTypes): Analysis {
  const walk = new OperationWalk(document, types);
  countDirectives(operation.directives, walk.text);
  for (const variable of operation.variableDefinitions ?? []) countDirectives(variable.directives, walk.text);
  const rootType = types?.root?.(operation.operation) ?? DEFAULT_ROOTS[operation.operation];
  const selections = walk.selectionSet(operation.selectionSet, rootType);
  return {
    document,
    operation,
    rootType,
    selections,
    depth: selections.depth,
    aliases: selections.aliases,
    fields: selections.fields,
    introspectionFields: selections.introspectionFields,
    directives: walk.text.directives,
    firstLiteral: walk.text.firstLiteral,
    firstVariables: walk.text.firstVariables,
    rootFields: rootFieldsOf(selections),
    selected: selectedOf(selections),
    fragments: walk.walked,
  };
}

/** The names of the root fields, through the fragments spread at the root (each once). */
function rootFieldsOf(root: Selections): string[] {
  const names = new Set<string>();
  const seen = new Set<AnalysedFragment>();
  const visit = (selections: Selections) => {
    for (const item of selections.items) {
      if (item.kind === 'field') names.add(item.node.name.value);
      else if (!seen.has(item)) {
        seen.add(item);
        visit(item.selections);
      }
    }
  };
  visit(root);
  return [...names];
}

/**
 * The `Type.field`s selected on known types, each fragment followed once: introspection's `__`
 * fields and whatever is below them left out, and nothing below a field the schema does not know.
 */
function selectedOf(root: Selections): Set<string> {
  const out = new Set<string>();
  const seen = new Set<AnalysedFragment>();
  const visit = (selections: Selections) => {
    for (const item of selections.items) {
      if (item.kind === 'fragment') {
        if (seen.has(item)) continue;
        seen.add(item);
        visit(item.selections);
        continue;
      }
      const name = item.node.name.value;
      if (name.startsWith('__') || item.parentType === undefined) continue;
      out.add(`${item.parentType}.${name}`);
      if (item.selections && item.type !== undefined) visit(item.selections);
    }
  };
  visit(root);
  return out;
}

/**
 * A selection set of the schema's own (a `@requires` field set), as the cost estimate reads an
 * operation's: no fragments, fields typed from `parentType` down.
 */
export function analyseSelectionSet(set: SelectionSetNode, parentType: string, types: SchemaTypes): Selections {
  const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [] };
  const operation: OperationDefinitionNode = { kind: Kind.OPERATION_DEFINITION, operation: OperationTypeNode.QUERY, selectionSet: set };
  return analyseOperation(document, operation, { field: types.field.bind(types), root: () => parentType }).selections;
}

/** Picks and analyses a document's operation, each (document, operation name) once. */
export type Analyser = (document: DocumentNode, operationName: string | null | undefined) => Analysis | GraphQLError;

/**
 * An analyser over a schema's types, keeping each result per parsed document (weakly: Apollo's
 * document cache hands every request with the same text the same document) and operation name.
 */
export function createAnalyser(types?: SchemaTypes): Analyser {
  const byDocument = new WeakMap<DocumentNode, Map<string | null, Analysis | GraphQLError>>();
  return (document, operationName) => {
    let byName = byDocument.get(document);
    if (!byName) byDocument.set(document, (byName = new Map<string | null, Analysis | GraphQLError>()));
    // null (no name given) and '' (a name no operation has) differ.
    const key = typeof operationName === 'string' ? operationName : null;
    let result = byName.get(key);
    if (!result) {
      const operation = pickOperation(document, operationName);
      result = operation instanceof GraphQLError ? operation : analyseOperation(document, operation, types);
      byName.set(key, result);
    }
    return result;
  };
}

interface SchemaLike {
  getType(name: string): { getFields?: () => Record<string, { type: unknown } | undefined> } | undefined | null;
  getQueryType?(): { name: string } | undefined | null;
  getMutationType?(): { name: string } | undefined | null;
  getSubscriptionType?(): { name: string } | undefined | null;
}

/** The named type under list and non-null wrappers, by shape (the schema may come from another copy of graphql). */
function namedTypeName(type: unknown): string | undefined {
  let t = type as { ofType?: unknown; name?: string } | undefined;
  while (t && t.ofType) t = t.ofType;
  return t?.name;
}

/** The types of a graphql-js schema, read by shape (Apollo's schema comes from graphql's CommonJS copy). */
export function typesOfSchema(schema: unknown): SchemaTypes {
  const s = schema as SchemaLike;
  return {
    root: (operation) =>
      (operation === OperationTypeNode.MUTATION
        ? s.getMutationType?.()
        : operation === OperationTypeNode.SUBSCRIPTION
          ? s.getSubscriptionType?.()
          : s.getQueryType?.()
      )?.name ?? undefined,
    field: (parentType, field) => namedTypeName(s.getType(parentType)?.getFields?.()[field]?.type),
  };
}

/** One analyser per schema a request comes with (a new supergraph brings a new schema). */
const analysers = new WeakMap<object, Analyser>();

/** What a request offers the analysis: its document, the operation name asked for, its schema and context. */
export interface AnalysedRequest {
  document: DocumentNode;
  request: { operationName?: string | null | undefined };
  schema: unknown;
  contextValue: unknown;
}

/**
 * The request's analysis: computed by the first plugin that asks, kept on its context (under
 * {@link ANALYSIS}) for the others, and per document for the next request with the same text.
 */
export function analysisOf(requestContext: AnalysedRequest): Analysis | GraphQLError {
  const context = requestContext.contextValue as Record<symbol, { document: DocumentNode; result: Analysis | GraphQLError } | undefined>;
  const held = context[ANALYSIS];
  if (held && held.document === requestContext.document) return held.result;
  const schema = requestContext.schema as object;
  let analyse = analysers.get(schema);
  if (!analyse) analysers.set(schema, (analyse = createAnalyser(typesOfSchema(schema))));
  const result = analyse(requestContext.document, requestContext.request.operationName);
  context[ANALYSIS] = { document: requestContext.document, result };
  return result;
}
