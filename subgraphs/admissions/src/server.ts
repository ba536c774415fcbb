import { type ApolloServer } from '@apollo/server';
import { createSubgraphServer, readSchema } from '@partnerskap/kit';
import { type AdmissionsContext } from './context.js';
import { policies, resolvers } from './resolvers.js';

/** Builds the admissions subgraph server; it never listens and never reads the environment. */
export function createAdmissionsServer(options: { development: boolean }): ApolloServer<AdmissionsContext> {
  return createSubgraphServer<AdmissionsContext>({
    name: 'admissions',
    typeDefs: readSchema(new URL('../../../schema/admissions.graphql', import.meta.url)),
    resolvers,
    policies,
    development: options.development,
  });
}
