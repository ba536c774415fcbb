import { type ApolloServerPlugin } from '@apollo/server';
import { type GatewayContext } from '../data-source.js';
import { type Logger, createLogger } from '../log.js';
import { SHOWN_CODES } from '../masking.js';

/** Options of {@link useErrorLog}. */
export interface ErrorLogOptions {
  /** Where errors are logged (default {@link createLogger}: pino, JSON lines on stdout). */
  logger?: Logger;
}

/**
 * Logs every error of an operation, in full, with its correlation id, the operation's name and the
 * subgraph it came from (what the client sees is masked: masking.ts). A code a client may see is
 * expected (`info`, no stack); anything else is an `error` with its stack.
 */
export function useErrorLog(options: ErrorLogOptions = {}): ApolloServerPlugin<GatewayContext> {
  const logger = options.logger ?? createLogger();
  return {
    async requestDidStart({ contextValue }) {
      return {
        async didEncounterErrors({ errors, operationName, request }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            const expected = typeof code === 'string' && SHOWN_CODES.has(code);
            // Apollo names the subgraph of an error it answered (`serviceName`); ours name it when no answer came.
            const subgraph = error.extensions?.serviceName ?? error.extensions?.partner ?? error.extensions?.subgraph;
            logger[expected ? 'info' : 'error']({
              requestId: contextValue.requestId,
              operationName: operationName ?? request.operationName ?? null,
              ...(typeof subgraph === 'string' ? { subgraph } : {}),
              caller: contextValue.identity.role,
              code,
              msg: error.message,
              path: error.path,
              extensions: error.extensions,
              stack: expected ? undefined : (error.originalError?.stack ?? error.stack),
            });
          }
        },
      };
    },
  };
}
