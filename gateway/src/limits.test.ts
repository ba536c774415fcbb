import { readFileSync, readdirSync } from 'node:fs';
import { Lexer, Source, TokenKind, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, measure } from './limits.js';

const dir = new URL('../../operations/', import.meta.url);
const operations = readdirSync(dir).filter((f) => f.endsWith('.graphql')).map((f) => ({ name: f, text: readFileSync(new URL(f, dir), 'utf8') }));
const tokens = (text: string) => {
  const lexer = new Lexer(new Source(text));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
};

describe('operation limits', () => {
  it('measure depth (through fragments), aliases and directives', () => {
    const doc = parse(`query Q($x: Boolean!) { a: studies { edges { node { ...F } } } b: subjects { code @include(if: $x) } }
      fragment F on Study { institution { name } subject { name @skip(if: $x) } }`);
    expect(measure(doc)).toEqual({ depth: 5, aliases: 2, directives: 2, pageSize: 0 });
    expect(measure(parse('query($n: Int) { a: studies(first: 7) { totalCount } b: studies(first: $n) { totalCount } }'), null, { n: 40 }).pageSize).toBe(40);
  });

  it('leave every registered operation well inside them (at most half of each)', () => {
    const measured = operations.map(({ name, text }) => ({ name, ...measure(parse(text)), tokens: tokens(text), bytes: Buffer.byteLength(text) }));
    console.table(measured);
    for (const m of measured) {
      expect(m.depth, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.depth - 3);
      expect(m.aliases, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.aliases / 2);
      expect(m.directives, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.directives / 2);
      expect(m.tokens, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.tokens / 2);
      expect(m.bytes, m.name).toBeLessThanOrEqual(DEFAULT_LIMITS.bodyBytes / 10);
    }
  });
});
