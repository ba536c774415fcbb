import { type ApolloServer } from '@apollo/server';
import { createSubgraphServer, readSchema } from '@partnerskap/kit';
import { type PlansContext } from './context.js';
import { policies, resolvers } from './resolvers.js';

/** Builds the plans subgraph server; it never listens and never reads the environment. */
export function createPlansServer(options: { development: boolean }): ApolloServer<PlansContext> {
  return createSubgraphServer<PlansContext>({
    name: 'plans',
    typeDefs: readSchema(new URL('../../../schema/plans.graphql', import.meta.url)),
    resolvers,
    policies,
    development: options.development,
  });
}
