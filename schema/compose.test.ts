import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUPERGRAPH_FILE, compose, unacceptedHints } from './compose.js';

describe('composition', () => {
  it('composes the four subgraphs without errors or unaccepted hints', () => {
    const result = compose();
    expect(result.errors).toEqual([]);
    expect(unacceptedHints(result.hints)).toEqual([]);
  });

  it('matches the committed supergraph (run npm run compose after changing schema/*.graphql)', () => {
    expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).toBe(compose().supergraphSdl);
  });

  it('reports a composition error instead of writing a supergraph', () => {
    const broken = compose((name) => {
      const sdl = readFileSync(new URL(`./${name}.graphql`, import.meta.url), 'utf8');
      // A key on a field the type does not have.
      return name === 'plans' ? sdl.replace('type Study @key(fields: "id") {', 'type Study @key(fields: "nope") {') : sdl;
    });
    expect(broken.supergraphSdl).toBeUndefined();
    expect(broken.errors.length).toBeGreaterThan(0);
  });
});
