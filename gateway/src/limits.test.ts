import { readFileSync, readdirSync } from 'node:fs';
import { Lexer, Source, TokenKind, getIntrospectionQuery, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CPU_US_PER_COST_UNIT } from './cost.js';
import { DEFAULT_LIMITS, INTROSPECTION_FIELDS, measure } from './limits.js';
import { DEFAULT_RATE_LIMITS } from './rate-limit.js';
import { GRAPHQL_17_INTROSPECTION_QUERY, GRAPHQL_17_INTROSPECTION_QUERY_ALL_OPTIONS } from './introspection-queries.js';

const dir = new URL('../../operations/', import.meta.url);
const operations = readdirSync(dir)
  .filter((f) => f.endsWith('.graphql'))
  .map((f) => ({ name: f, text: readFileSync(new URL(f, dir), 'utf8') }));
const tokens = (text: string) => {
  const lexer = new Lexer(new Source(text));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
};

/** `query { ...F0 }` and fragments F0..F(links-1), each spreading the next as `body` says, F(links) selecting `__typename`. */
const fragmentChain = (links: number, body: (next: string) => string): string =>
  [
    'query { ...F0 }',
    ...Array.from({ length: links }, (_, i) => `fragment F${i} on Query { ${body(`F${i + 1}`)} }`),
    `fragment F${links} on Query { __typename }`,
  ].join('\n');

describe('operation limits', () => {
  it('measure depth (through fragments), aliases and directives', () => {
    const doc = parse(`query Q($x: Boolean!) { a: studies { edges { node { ...F } } } b: subjects { code @include(if: $x) } }
      fragment F on Study { institution { name } subject { name @skip(if: $x) } }`);
    expect(measure(doc)).toEqual({ depth: 5, aliases: 2, fields: 9, introspectionFields: 0, directives: 2, pageSize: 0 });
    expect(measure(parse('query($n: Int) { a: studies(first: 7) { totalCount } b: studies(first: $n) { totalCount } }'), { n: 40 }).pageSize).toBe(40);
  });

  it('measure a chain of fragments each spreading the next twice in linear time, at its expanded size', () => {
    const links = 30;
    const chains = {
      plain: fragmentChain(links, (next) => `...${next} ...${next}`),
      'in inline fragments': fragmentChain(links, (next) => `... on Query { ...${next} } ... { ...${next} }`),
    };
    for (const [kind, text] of Object.entries(chains)) {
      const started = performance.now();
      const m = measure(parse(text));
      expect(performance.now() - started, kind).toBeLessThan(50);
      expect(m.fields, kind).toBe(2 ** links);
      expect(m.depth, kind).toBe(1);
    }
    // Several operations in one document: each is measured, the largest counts whichever is run.
    const several = parse(`query A { __typename } query B { ...F0 } ${fragmentChain(links, (next) => `...${next} ...${next}`).replace('query { ...F0 }', '')}`);
    expect(measure(several).fields).toBe(2 ** links);
  });

  it('measure what __schema and __type select apart, without its depth, so the standard introspection queries pass', () => {
    const everyOption = {
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    };
    // graphql 17's typeDepth at its largest (100): TypeRef's ofType nested 100 times.
    const ofType = (level: number): string => (level === 0 ? '' : `ofType { name kind ${ofType(level - 1)} }`);
    const deepest = GRAPHQL_17_INTROSPECTION_QUERY_ALL_OPTIONS.replace(
      /fragment TypeRef on __Type \{[^]*$/,
      `fragment TypeRef on __Type { kind name ${ofType(100)} }`,
    );
    const queries = {
      'graphql 16, defaults': getIntrospectionQuery(),
      'graphql 16, every option': getIntrospectionQuery(everyOption),
      'graphql 17, defaults': GRAPHQL_17_INTROSPECTION_QUERY,
      'graphql 17, every option': GRAPHQL_17_INTROSPECTION_QUERY_ALL_OPTIONS,
      'graphql 17, typeDepth 100': deepest,
    };
    const measured = Object.entries(queries).map(([name, text]) => ({ name, ...measure(parse(text)), tokens: tokens(text) }));
    console.table(measured);
    for (const m of measured) {
      expect(m, m.name).toMatchObject({ depth: 1, aliases: 0, fields: 0, directives: 0 });
      expect(m.introspectionFields, m.name).toBeGreaterThanOrEqual(220);
      expect(m.introspectionFields, m.name).toBeLessThanOrEqual(INTROSPECTION_FIELDS / 2);
      expect(m.tokens, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.tokens);
    }
    expect(measured.at(-1)!.introspectionFields).toBe(1868);
    // Beside fields of the graph: those count as ever, introspection's apart; so do fragments spread in both.
    const mixed = parse('{ subjects { ...S } __type(name: "Subject") { name fields { ...S } } } fragment S on Subject { code name }');
    expect(measure(mixed)).toEqual({ depth: 2, aliases: 0, fields: 3, introspectionFields: 5, directives: 0, pageSize: 0 });
  });

  it('measure a doubling chain of fragments under __schema at its expanded size, in linear time', () => {
    const links = 30;
    const text = [
      '{ __schema { types { ...F0 } } }',
      ...Array.from({ length: links }, (_, i) => `fragment F${i} on __Type { ...F${i + 1} ...F${i + 1} }`),
      `fragment F${links} on __Type { name }`,
    ].join('\n');
    const started = performance.now();
    const m = measure(parse(text));
    expect(performance.now() - started).toBeLessThan(50);
    expect(m.introspectionFields).toBe(2 + 2 ** links);
    expect(m.introspectionFields).toBeGreaterThan(INTROSPECTION_FIELDS);
  });

  it('leave every registered operation well inside them (at most half of each)', () => {
    const measured = operations.map(({ name, text }) => ({ name, ...measure(parse(text)), tokens: tokens(text), bytes: Buffer.byteLength(text) }));
    console.table(measured);
    for (const m of measured) {
      expect(m.depth, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.depth - 3);
      expect(m.aliases, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.aliases / 2);
      expect(m.fields, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.fields / 10);
      expect(m.directives, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.directives / 2);
      expect(m.tokens, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.tokens / 2);
      expect(m.bytes, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.bodyBytes / 10);
    }
  });
});

describe('what one public address can buy', () => {
  it('the public cost budget times the CPU per unit is at most a fifth of a core, whatever mix it asks for', () => {
    // Cost units per second x µs per unit: CPU seconds per second (docs/security.md).
    const share = (DEFAULT_RATE_LIMITS.publicCostPerMinute / 60) * CPU_US_PER_COST_UNIT * 1e-6;
    expect(share).toBeLessThanOrEqual(0.2);
    // And a whole budget is more than the dearest single request: the cost limit, not the budget, refuses that.
    expect(DEFAULT_RATE_LIMITS.publicCostPerMinute).toBeGreaterThan(DEFAULT_LIMITS.cost);
  });
});
