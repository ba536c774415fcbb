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

  /**
   * "A field computed with @requires from inputs the caller may not see is null with FORBIDDEN":
   * composition (federation 2.9.4+) refuses a @requires field that does not carry the guards of
   * the fields it requires, and the subgraphs enforce the guards each field carries (kit's
   * guards), so such a field is denied before it could be computed from missing inputs.
   */
  it('refuses a @requires field that lacks the guards of the fields it requires', () => {
    const guard = '@requiresScopes(scopes: [["role:directorate"]])';
    const sdl = (name: string, requiring: string) => {
      const text = readFileSync(new URL(`./${name}.graphql`, import.meta.url), 'utf8');
      if (name === 'catalogue') return text.replace('  places: Int!\n', `  places: Int! ${guard}\n`);
      if (name === 'admissions') return text.replace('vacantSeats: Int @requires(fields: "places")', `vacantSeats: Int @requires(fields: "places")${requiring}`);
      return text;
    };
    const unguarded = compose((name) => sdl(name, ''));
    expect(unguarded.errors.join('\n')).toMatch(/vacantSeats[\s\S]*auth requirements/);
    expect(compose((name) => sdl(name, ` ${guard}`)).errors).toEqual([]);
  });
});
