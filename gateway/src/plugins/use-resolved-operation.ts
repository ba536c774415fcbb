import { type ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { analysisOf } from '../analysis.js';

/**
 * Refuses, with the same HTTP 400 `BAD_REQUEST` as any other malformed request, a document whose
 * operation cannot be picked: several operations and no `operationName`, or an `operationName` the
 * document does not have (`__proto__` included). Apollo Server hands such a request to the
 * gateway, whose executor throws: a 500 with a stack in the log. The name is not echoed back.
 * It runs first: the request's analysis (analysis.ts), which picks the operation, is made here for
 * the plugins after it. No options.
 */
export function useResolvedOperation(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const analysis = analysisOf(requestContext);
          // A fresh error each time: the analysis (and its refusal) is kept per document, and Apollo may amend what is thrown.
          if (analysis instanceof GraphQLError) throw new GraphQLError(analysis.message, { extensions: analysis.extensions });
        },
      };
    },
  };
}
