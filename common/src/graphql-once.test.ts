import { createRequire } from 'node:module';
import { ApolloServer } from '@apollo/server';
import { GraphQLError, GraphQLSchema, buildSchema, isSchema } from 'graphql';
import { describe, expect, it } from 'vitest';

// Apollo's packages are CommonJS and `require('graphql')`; our code is ES modules and imports it.
// graphql-js allows one copy per process (its `instanceof` checks refuse the other copy's objects), so
// both must get the same one: under plain Node (graphql 16 has no `exports` map: `main`, CommonJS)
// and under vitest (vitest.config.ts resolves `graphql` to that same CommonJS entry).
describe('graphql, loaded once', () => {
  it('is the module Apollo requires', () => {
    const required = createRequire(import.meta.url)('graphql') as typeof import('graphql');
    expect(required.GraphQLError).toBe(GraphQLError);
    expect(required.GraphQLSchema).toBe(GraphQLSchema);
  });

  it('makes the errors Apollo hands our formatError instances of our GraphQLError, and Apollo takes our schema', async () => {
    const seen: unknown[] = [];
    const schema = buildSchema('type Query { boom: String }');
    expect(isSchema(schema)).toBe(true);
    const server = new ApolloServer({
      schema,
      rootValue: {
        boom: () => {
          throw new Error('boom');
        },
      },
      formatError: (formatted, error) => (seen.push(error), formatted),
    });
    const res = await server.executeOperation({ query: '{ boom }' });
    expect(res.body.kind === 'single' && res.body.singleResult.errors?.map((e) => e.message)).toEqual(['boom']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(GraphQLError);
  });
});
