import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Composition, PUBLIC_FILE, SUPERGRAPH_FILE, compose, nullabilityViolations, readNullabilityExceptions, unacceptedHints } from './compose.js';

describe('composition', () => {
  it('composes the four subgraphs without errors or unaccepted hints', () => {
    const result = compose();
    expect(result.errors).toEqual([]);
    expect(unacceptedHints(result.hints)).toEqual([]);
  });

  // One composition of the committed contracts for both files it writes.
  let committed: Composition | undefined;
  it('matches the committed supergraph (run npm run compose after changing schema/*.graphql)', () => {
    expect(readFileSync(SUPERGRAPH_FILE, 'utf8')).toBe((committed ??= compose()).supergraphSdl);
  });

  it('matches the committed public contract, schema/public.graphql (run npm run compose after changing a @tag)', () => {
    expect(readFileSync(PUBLIC_FILE, 'utf8')).toBe((committed ??= compose()).publicSdl);
  });

  // The README's last step of the move of Study.credits (README: Moving a field between partners):
  // the catalogue drops the field, admissions drops the @override and the hint is no longer needed.
  it('composes the finished move of Study.credits without the accepted hint, the field resolved by admissions alone', () => {
    const finished = compose((name) => {
      const sdl = readFileSync(new URL(`../../schema/${name}.graphql`, import.meta.url), 'utf8');
      if (name === 'catalogue') return sdl.replace(/\n( {2}"[^"\n]*"\n)? {2}credits: Int\n/, '\n');
      if (name === 'admissions') return sdl.replace(' @override(from: "catalogue", label: "percent(0)")', '');
      return sdl;
    });
    expect(finished.errors).toEqual([]);
    expect(finished.hints.filter((h) => h.code === 'OVERRIDE_MIGRATION_IN_PROGRESS')).toEqual([]);
    expect(finished.supergraphSdl).toMatch(/\n {2}credits: Int @join__field\(graph: ADMISSIONS\)\n/);
  });

  it('reports a composition error instead of writing a supergraph', () => {
    const broken = compose((name) => {
      const sdl = readFileSync(new URL(`../../schema/${name}.graphql`, import.meta.url), 'utf8');
      // A key on a field the type does not have.
      return name === 'plans' ? sdl.replace('type Study @key(fields: "id")', 'type Study @key(fields: "nope")') : sdl;
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
      const text = readFileSync(new URL(`../../schema/${name}.graphql`, import.meta.url), 'utf8');
      if (name === 'catalogue') return text.replace('  places: Int\n', `  places: Int ${guard}\n`);
      if (name === 'admissions')
        return text.replace('vacantSeats: Int @requires(fields: "places")', `vacantSeats: Int @requires(fields: "places")${requiring}`);
      return text;
    };
    const unguarded = compose((name) => sdl(name, ''));
    expect(unguarded.errors.join('\n')).toMatch(/vacantSeats[\s\S]*auth requirements/);
    expect(compose((name) => sdl(name, ` ${guard}`)).errors).toEqual([]);
  });
});

/** Two small partners: `cat` owns Study, `rate` adds a field to it and refers to it. */
const LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])\n';
const partners = [
  { name: 'cat', url: 'http://cat' },
  { name: 'rate', url: 'http://rate' },
];
const cat = (name = 'String!', studies = '[Study!]') =>
  `${LINK}type Query { "Studies." studies: ${studies} }\n"A study." type Study @key(fields: "id") { "Id." id: ID! "Name." name: ${name} }\n`;
const rate = (rating = 'Int', review = 'Study!', reviews = '[Study!]!') =>
  `${LINK}type Query { "One." review: Review }\n"A study." type Study @key(fields: "id") { "Id." id: ID! "Rating." rating: ${rating} }\n"A review." type Review { "Of." study: ${review} "Related." related: ${reviews} }\n`;
const composeWith = (catSdl: string, rateSdl: string, exceptions: Record<string, string> = {}) =>
  compose((name) => (name === 'cat' ? catSdl : rateSdl), partners, exceptions);

describe("the nullability rule: a partner's outage is local", () => {
  it('refuses a non-null field added to an entity another subgraph defines, naming the field, the reason and the fix', () => {
    expect(composeWith(cat('String'), rate('Int!'))).toEqual({
      errors: [
        'Study.rating: Int! is added by rate to Study, an entity cat also defines: an outage of rate would null the whole Study reached through it; make it Int (nullable)',
      ],
      hints: [],
    });
  });

  it('accepts the fix, and a field listed in the exceptions', () => {
    expect(composeWith(cat('String'), rate('Int')).errors).toEqual([]);
    // An excepted field may blank a study reached through cat: the references there must stop that null (rule b).
    const excepted = { 'Study.rating': 'reviewed: why it may blank a study' };
    expect(composeWith(cat('String'), rate('Int!'), excepted).errors).toEqual([]);
  });

  it("refuses a non-null reference to an entity whose excepted non-null field comes from another subgraph; the list's or the items' nullability fixes it", () => {
    const excepted = { 'Study.name': 'reviewed' };
    expect(composeWith(cat(), rate(), excepted).errors).toEqual([
      'Review.study: Study! is resolved by rate and refers to Study, whose non-null Study.name comes from cat: an outage there would null the Review holding it; make it Study (nullable)',
      'Review.related: [Study!]! is resolved by rate and refers to Study, whose non-null Study.name comes from cat: an outage there would null the Review holding it; make it [Study!] (the list nullable) or its items nullable',
    ]);
    expect(composeWith(cat(), rate('Int', 'Study', '[Study!]'), excepted).errors).toEqual([]);
    expect(composeWith(cat(), rate('Int', 'Study', '[Study]!'), excepted).errors).toEqual([]);
  });

  it('reports an exception that excuses nothing, and leaves key fields and fields every defining subgraph resolves alone', () => {
    expect(composeWith(cat('String'), rate(), { 'Study.rating': 'stale' }).errors).toEqual([
      'Study.rating is listed in schema/nullability-exceptions.json but the rule does not refuse it (any more): remove it from the file',
    ]);
    const supergraph = composeWith(cat('String'), rate()).supergraphSdl!;
    expect(nullabilityViolations(supergraph)).toEqual([]);
  });

  it("refuses a non-null root query field: beside another partner's root, its outage would null the whole answer", () => {
    expect(composeWith(cat('String', '[Study!]!'), rate()).errors).toEqual([
      "Query.studies: [Study!]! is a root field of cat: asked beside another partner's root field, an outage would null the whole answer; make it [Study!] (nullable)",
    ]);
    expect(composeWith(cat('String', '[Study!]!'), rate(), { 'Query.studies': 'reviewed' }).errors).toEqual([]);
  });

  it('holds for the committed contracts with the committed exceptions (none)', () => {
    expect(readNullabilityExceptions()).toEqual({});
    expect(nullabilityViolations(readFileSync(SUPERGRAPH_FILE, 'utf8'))).toEqual([]);
  });
});
