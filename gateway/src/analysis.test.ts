import { readFileSync, readdirSync } from 'node:fs';
import { Supergraph } from '@apollo/federation-internals';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  getIntrospectionQuery,
  parse,
  visit,
  OperationTypeNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { type Analysis, analyseOperation, createAnalyser, pickOperation, typesOfSchema } from './analysis.js';
import { DEFAULT_SUPERGRAPH } from './config.js';
import { createCostEstimator } from './cost.js';
import { pageSizeOf } from './limits.js';
import { loadableSupergraph } from './supergraph.js';

const sdl = readFileSync(DEFAULT_SUPERGRAPH, 'utf8');
// The API schema as Apollo hands it to a plugin (graphql's CommonJS copy, read by shape).
const apiSchema = Supergraph.build(loadableSupergraph(sdl)).apiSchema().toGraphQLJSSchema();
const types = typesOfSchema(apiSchema);
const analyse = createAnalyser(types);
const picked = (text: string, operationName?: string | null): Analysis => {
  const result = analyse(parse(text), operationName);
  if (result instanceof GraphQLError) throw result;
  return result;
};

const dir = new URL('../../operations/', import.meta.url);
const registered = readdirSync(dir)
  .filter((f) => f.endsWith('.graphql'))
  .map((f) => readFileSync(new URL(f, dir), 'utf8'));

/** Documents with fragments, inline fragments, introspection, aliases and directives, beside the registered operations. */
const crafted = [
  'query Q($x: Boolean!) { a: studies { edges { node { ...F } } } b: subjects { code @include(if: $x) } } fragment F on Study { institution { name } subject { name @skip(if: $x) } }',
  '{ studies(first: 4) { ...Page } } fragment Page on StudyConnection { edges { node { institution { name } ... on Study { rating { average } } } } }',
  '{ subjects { ...S } __type(name: "Subject") { name fields { ...S } } } fragment S on Subject { code name }',
  'query ($n: Int) { a: studies(first: 7) { totalCount } b: studies(first: $n) { totalCount ...C } } fragment C on StudyConnection { pageInfo { hasNextPage } }',
  '{ study(id: "x") { ...A ...B } } fragment A on Study { ...B institution { name } } fragment B on Study { applicants admitted rating { count } }',
  `query Cross($owner: ID!, $year: Int, $subject: ID, $first: Int = 50) {
    studies(filter: { year: $year, subject: $subject }, first: $first) {
      totalCount edges { node { id name institution { shortName name } campus places vacantSeats approvedApplications(owner: $owner) rating { average count } } } } }`,
  getIntrospectionQuery(),
];

/** The limits' walk before the analysis (limits.ts `shapeOf`, one operation), kept as the oracle. */
function oldShape(document: DocumentNode) {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  type E = { depth: number; aliases: number; fields: number; introspectionFields: number };
  const NOTHING: E = { depth: 0, aliases: 0, fields: 0, introspectionFields: 0 };
  const measured = new Map<string, E>();
  const measuring = new Set<string>();
  const fragment = (name: string): E => {
    const known = measured.get(name);
    if (known) return known;
    const definition = fragments.get(name);
    if (!definition || measuring.has(name)) return NOTHING;
    measuring.add(name);
    const result = selectionSet(definition.selectionSet);
    measuring.delete(name);
    measured.set(name, result);
    return result;
  };
  const selectionSet = (set: SelectionSetNode): E => {
    const sum: E = { ...NOTHING };
    const add = (part: E, deeper: number) => {
      sum.depth = Math.max(sum.depth, part.depth + deeper);
      sum.aliases += part.aliases;
      sum.fields += part.fields;
      sum.introspectionFields += part.introspectionFields;
    };
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD && (sel.name.value === '__schema' || sel.name.value === '__type')) {
        const inner = sel.selectionSet ? selectionSet(sel.selectionSet) : NOTHING;
        add({ depth: 0, aliases: (sel.alias ? 1 : 0) + inner.aliases, fields: 0, introspectionFields: 1 + inner.fields + inner.introspectionFields }, 1);
      } else if (sel.kind === Kind.FIELD) {
        add({ depth: 0, aliases: sel.alias ? 1 : 0, fields: 1, introspectionFields: 0 }, 1);
        if (sel.selectionSet) add(selectionSet(sel.selectionSet), 1);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) add(selectionSet(sel.selectionSet), 0);
      else add(fragment(sel.name.value), 0);
    }
    return sum;
  };
  const op = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!;
  const shape = { ...selectionSet((op as { selectionSet: SelectionSetNode }).selectionSet), directives: 0, firstLiteral: 0, firstVariables: [] as string[] };
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

/** The guards' walk before the analysis (use-guards.ts `selectedFields`), kept as the oracle. */
function oldSelected(document: DocumentNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
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
        const next = types.field(typeName, sel.name.value);
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

describe("pickOperation (Apollo Server's rule)", () => {
  const doc = parse('query A { __typename } query B { __typename } fragment F on Query { __typename }');
  const name = (r: ReturnType<typeof pickOperation>) => (r instanceof GraphQLError ? { code: r.extensions.code, message: r.message } : r.name?.value);

  it('picks the one named, or the only one', () => {
    expect(name(pickOperation(doc, 'B'))).toBe('B');
    expect(name(pickOperation(parse('{ __typename }'), undefined))).toBeUndefined();
    expect(name(pickOperation(parse('query Only { __typename }'), null))).toBe('Only');
  });

  it('refuses with BAD_REQUEST several and none named, a name the document lacks (__proto__ and "" too), no operation', () => {
    const several = { code: 'BAD_REQUEST', message: 'The document has several operations: name the one to run in operationName' };
    const unknown = { code: 'BAD_REQUEST', message: 'The document has no operation of the name given in operationName' };
    expect(name(pickOperation(doc, undefined))).toEqual(several);
    expect(name(pickOperation(doc, null))).toEqual(several);
    for (const missing of ['C', '__proto__', '']) expect(name(pickOperation(doc, missing))).toEqual(unknown);
    expect(name(pickOperation(parse('{ __typename }'), 'A'))).toEqual(unknown);
    expect(name(pickOperation(parse('fragment F on Query { __typename }'), undefined))).toEqual({
      code: 'BAD_REQUEST',
      message: 'The document has no operation to run',
    });
  });

  it('keeps one result per document and name', () => {
    const document = parse('query A { __typename } query B { subjects { code } }');
    expect(analyse(document, 'A')).toBe(analyse(document, 'A'));
    expect(analyse(document, 'B')).not.toBe(analyse(document, 'A'));
    expect(analyse(document, undefined)).toBe(analyse(document, null));
  });
});

describe('the analysis', () => {
  it('walks a fragment spread many times once, and a doubling chain of 30 links in linear time at its expanded size', () => {
    const many = picked(
      `{ studies { edges { node { ${Array.from({ length: 50 }, () => '...F').join(' ')} } } } } fragment F on Study { id institution { name } }`,
    );
    expect(many.fragments).toEqual(['F']);
    expect(many.fields).toBe(3 + 50 * 3);
    const links = 30;
    const chain = [
      'query { ...F0 }',
      ...Array.from({ length: links }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ... on Query { ...F${i + 1} } }`),
      `fragment F${links} on Query { subjects { code } }`,
    ].join('\n');
    const started = performance.now();
    const bomb = picked(chain);
    expect(performance.now() - started).toBeLessThan(50);
    expect(bomb.fragments).toEqual(Array.from({ length: links + 1 }, (_, i) => `F${i}`));
    expect(bomb.fields).toBe(2 * 2 ** links);
    expect(bomb.selected).toEqual(new Set(['Query.subjects', 'Subject.code']));
    expect(bomb.rootFields).toEqual(['subjects']);
  });

  it("analyses only the operation picked: another operation's fragments are not walked", () => {
    const text = 'query Small { subjects { code } } query Big { studies { edges { node { ...F } } } } fragment F on Study { a: id b: id @skip(if: false) }';
    expect(picked(text, 'Small')).toMatchObject({ fields: 2, aliases: 0, directives: 0, fragments: [], rootFields: ['subjects'] });
    expect(picked(text, 'Big')).toMatchObject({ fields: 5, aliases: 2, directives: 1, fragments: ['F'], rootFields: ['studies'] });
  });

  it('types each field by the schema: inline fragments by their condition, introspection left out of what the guards check', () => {
    const a = picked('{ __typename studies { edges { node { ... on Study { institution { name } } } } } __schema { types { name } } }');
    expect([...a.selected]).toEqual(['Query.studies', 'StudyConnection.edges', 'StudyEdge.node', 'Study.institution', 'Institution.name']);
    expect(a.rootFields).toEqual(['__typename', 'studies', '__schema']);
    expect(a.rootType).toBe('Query');
    expect(picked('mutation { cancelStudy(id: "x") { id } }').selected).toEqual(new Set(['Mutation.cancelStudy', 'Study.id']));
  });

  it("gives what the limits' and the guards' own walks gave, on the registered operations and documents with every kind of selection", () => {
    for (const text of [...registered, ...crafted]) {
      const document = parse(text);
      const a = picked(text);
      const old = oldShape(document);
      expect(
        {
          depth: a.depth,
          aliases: a.aliases,
          fields: a.fields,
          introspectionFields: a.introspectionFields,
          directives: a.directives,
          pageSize: pageSizeOf(a, { n: 40, first: 60 }),
        },
        text,
      ).toEqual({
        depth: old.depth,
        aliases: old.aliases,
        fields: old.fields,
        introspectionFields: old.introspectionFields,
        directives: old.directives,
        pageSize: pageSizeOf(old, { n: 40, first: 60 }),
      });
      expect([...a.selected], text).toEqual(oldSelected(document));
    }
  });

  it("costs the same whether the cost estimate analyses the document itself or is handed the request's analysis (typed by the API schema)", () => {
    const estimate = createCostEstimator(sdl);
    const samples = JSON.parse(readFileSync(new URL('variables.json', dir), 'utf8')) as Record<string, { variables?: Record<string, unknown> }>;
    const files = readdirSync(dir).filter((f) => f.endsWith('.graphql'));
    for (const file of files) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      const variables = samples[file]?.variables ?? {};
      const document = parse(text);
      const analysis = analyse(document, undefined) as Analysis;
      expect(estimate(document, variables, undefined, analysis), file).toBe(createCostEstimator(sdl)(parse(text), variables));
    }
  });

  it('without a schema, still measures for the limits (types unknown, nothing selected for the guards)', () => {
    const document = parse('{ studies { edges { node { id } } } }');
    const operation = document.definitions[0]!;
    if (operation.kind !== Kind.OPERATION_DEFINITION) throw new Error('not an operation');
    expect(analyseOperation(document, operation)).toMatchObject({ depth: 4, fields: 4, selected: new Set(['Query.studies']) });
  });
});
