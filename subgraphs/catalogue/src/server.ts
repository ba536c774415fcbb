import { type ApolloServer } from '@apollo/server';
import { createSubgraphServer, readSchema } from '@partnerskap/kit';
import { type CatalogueContext } from './context.js';
import { policies, resolvers } from './resolvers.js';

/** Builds the catalogue subgraph server; it never listens and never reads the environment. */
export function createCatalogueServer(options: { development: boolean }): ApolloServer<CatalogueContext> {
  return createSubgraphServer<CatalogueContext>({
    name: 'catalogue',
    typeDefs: readSchema(new URL('../../../schema/catalogue.graphql', import.meta.url)),
    resolvers,
    policies,
    development: options.development,
  });
}
