import { readFileSync } from 'node:fs';
import { feedQuery } from '@partnerskap/kit';
import { buildSchema, parse, print, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildClientKit } from '../schema/client-kit.js';
import { SUPERGRAPH_FILE, readRegistry } from '../schema/compose.js';
import { codegenFiles, resolverSdl, staleFiles } from './codegen.js';

const registered = readRegistry().map((s) => s.name);

describe('npm run codegen', () => {
  it("has generated what is committed: each subgraph's resolvers, the kit's partner queries, the registered operations", async () => {
    const files = await codegenFiles();
    expect(Object.keys(files)).toEqual(
      [...registered.map((n) => `subgraphs/${n}/src/generated/resolvers.ts`), 'subgraphs/kit/src/generated/partners.ts', 'client/generated/operations.ts'].sort(
        (a, b) => a.localeCompare(b),
      ),
    );
    expect(staleFiles(files)).toEqual([]);
  }, 60_000);

  it("feeds codegen a subgraph's types with only the directives that shape them", () => {
    const sdl = resolverSdl(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable", "@requiresScopes", "@cost"])
      type Query { notes(first: Int = 20): [Note!] @requiresScopes(scopes: [["role:directorate"]]) @cost(weight: 2) }
      type Note @key(fields: "id") @shareable { id: ID! study: Study @requires(fields: "title") title: String @external }
      type Study @key(fields: "id", resolvable: false) { id: ID! }`);
    expect(sdl).not.toMatch(/@link|@shareable|@requiresScopes|@cost|extend schema/);
    expect(sdl).toContain('type Note @key(fields: "id") {');
    expect(sdl).toContain('study: Study @requires(fields: "title")');
    expect(sdl).toContain('title: String @external');
    expect(sdl).toContain('type Study @key(fields: "id", resolvable: false) {');
  });

  it("types the kit's feed query for every registered partner, each valid against the API schema the gateway serves", () => {
    const schema = buildSchema(buildClientKit(readFileSync(SUPERGRAPH_FILE, 'utf8')).schemaSdl);
    const feeds = registered.filter((name) => schema.getQueryType()?.getFields()[`${name}Events`]);
    expect(feeds).toEqual(['catalogue', 'admissions', 'plans', 'feedback']);
    for (const source of feeds) {
      const query = feedQuery(source);
      expect(validate(schema, query), source).toEqual([]);
      expect(print(query)).toMatch(new RegExp(`^  page: ${source}Events\\(`, 'm'));
      // The same document object each time: printed once by the client.
      expect(feedQuery(source)).toBe(query);
    }
    // A source the supergraph has no feed of is not a valid query.
    expect(validate(schema, parse(print(feedQuery('unknown')))).map((e) => e.message)).toEqual([
      expect.stringMatching(/^Cannot query field "unknownEvents" on type "Query"/),
    ]);
  });
});
