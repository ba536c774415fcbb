import { type ApolloServer } from '@apollo/server';
import { createSubgraphServer, readSchema } from '@partnerskap/kit';
import { type FeedbackContext } from './context.js';
import { resolvers } from './resolvers.js';

/** Builds the feedback subgraph server; it never listens and never reads the environment. */
export function createFeedbackServer(options: { development: boolean }): ApolloServer<FeedbackContext> {
  return createSubgraphServer<FeedbackContext>({
    name: 'feedback',
    typeDefs: readSchema(new URL('../../../schema/feedback.graphql', import.meta.url)),
    resolvers,
    development: options.development,
  });
}
