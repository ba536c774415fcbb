import { type ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind } from 'graphql';

/**
 * Refuses, with the same HTTP 400 `BAD_REQUEST` as any other malformed request, a document whose
 * operation cannot be picked: several operations and no `operationName`, or an `operationName` the
 * document does not have (`__proto__` included). Apollo Server hands such a request to the
 * gateway, whose executor throws: a 500 with a stack in the log. The name is not echoed back.
 */
export function useResolvedOperation(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request }) {
          if (operation) return;
          const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;
          const message =
            typeof request.operationName === 'string'
              ? 'The document has no operation of the name given in operationName'
              : operations > 1
                ? 'The document has several operations: name the one to run in operationName'
                : 'The document has no operation to run';
          throw new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
        },
      };
    },
  };
}
