import { APOLLO_REQUEST_CODES, ErrorCode } from '@partnerskap/common';
import { type ASTNode, type GraphQLFormattedError, Kind, print } from 'graphql';

/** Codes a client may see as they are: ours (common's list) and Apollo's request errors. Everything else is masked. */
export const SHOWN_CODES: ReadonlySet<string> = new Set<string>([
  ...Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR),
  ...APOLLO_REQUEST_CODES,
]);

/** The extensions a client may see; anything else (`serviceName`, `response.url`, `exception`, stack) stays in the log. */
const SHOWN_EXTENSIONS = ['code', 'field', 'limit', 'partner'] as const;

/** graphql-js's message for a variable that failed coercion: it quotes the client's value back. */
const INVALID_VARIABLE = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" got invalid value /;

/**
 * A variable coercion error without the value the client sent (a reflected value is a gift to
 * whoever probes, and may be someone's personal data in a log or a screenshot): the variable and
 * the type it expects, from the variable's definition graphql-js attaches to the error.
 */
function withoutEchoedValue(message: string, error: unknown): string {
  const match = INVALID_VARIABLE.exec(message);
  if (!match) return message;
  const node = (error as { nodes?: readonly ASTNode[] } | undefined)?.nodes?.[0];
  const expected = node?.kind === Kind.VARIABLE_DEFINITION ? `; expected type "${print(node.type)}"` : '';
  return `Variable "$${match[1]}" got an invalid value${expected}`;
}

/**
 * Apollo Server's `formatError` for the gateway: an error whose code is not one a client may see
 * becomes `INTERNAL_SERVER_ERROR` with no detail (the log has it: plugins/use-error-log.ts); the
 * others keep their message (a variable's echoed value removed), locations, path and the shown
 * extensions. Field suggestions are Apollo's to hide (`hideSchemaDetailsFromClientErrors`).
 */
export function maskError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  const path = formatted.path ? { path: formatted.path } : {};
  if (typeof code !== 'string' || !SHOWN_CODES.has(code)) {
    return { message: 'Internal server error', ...path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  }
  const extensions: Record<string, unknown> = {};
  for (const key of SHOWN_EXTENSIONS) if (formatted.extensions?.[key] !== undefined) extensions[key] = formatted.extensions[key];
  const message = code === 'BAD_USER_INPUT' ? withoutEchoedValue(formatted.message, error) : formatted.message;
  return { message, ...(formatted.locations ? { locations: formatted.locations } : {}), ...path, extensions };
}
