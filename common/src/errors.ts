import { GraphQLError } from 'graphql';

/** The error codes clients see in `extensions.code`: Apollo's names where they exist, plus ours. */
export const ErrorCode = Object.freeze({
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  /** The record is not in a state this action applies to (an application moves only along its states). */
  INVALID_STATE: 'INVALID_STATE',
  /** The action's window in the application round has not opened yet. */
  NOT_OPEN_YET: 'NOT_OPEN_YET',
  /** The action's deadline in the application round has passed. */
  DEADLINE_PASSED: 'DEADLINE_PASSED',
  /** Another partner's decision this action needs is missing (or says no). */
  MISSING_DECISION: 'MISSING_DECISION',
  /** A partner this action must ask could not be asked: nothing was changed, try again later. */
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  /** A partner did not answer within the gateway's timeout: its fields are null. */
  SUBGRAPH_TIMEOUT: 'SUBGRAPH_TIMEOUT',
  /** A partner answered something that is not a GraphQL response (an HTML page, a 502): its fields are null. */
  SUBGRAPH_BAD_RESPONSE: 'SUBGRAPH_BAD_RESPONSE',
  /** The partner's database could not be reached: try again shortly. */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  /** The operation is over one of the gateway's limits (`extensions.limit` says which: depth, aliases, directives, cost, body). */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** Too many requests from this caller: wait `Retry-After` seconds. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** A persisted document's id (`documentId`, or APQ's `sha256Hash` from a caller held to registered documents) that is not in the registry (Apollo Router's code). */
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  /** A document this caller's role may not send: it is not registered (Apollo Router's code for safelisting). */
  QUERY_NOT_IN_SAFELIST: 'QUERY_NOT_IN_SAFELIST',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const);

/** One of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN = new Set<string>(Object.values(ErrorCode));

/** Apollo Server's codes for a bad request: the client's fault, shown as they are. */
export const APOLLO_REQUEST_CODES: ReadonlySet<string> = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** Whether a code is one of ours (anything else is masked). */
export function isKnownCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && KNOWN.has(code);
}

/** An error for bad input, naming the offending argument or input field (`first`, `filter.search`). */
export function badUserInput(message: string, field: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, field } });
}

/** An error for a write that collides with existing data; never echoes the colliding value. */
export function conflict(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.CONFLICT, ...(field ? { field } : {}) } });
}

/** An error for something the caller named that does not exist (a missing entity read is `null` instead). */
export function notFound(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.NOT_FOUND, ...(field ? { field } : {}) } });
}

/** An error for data or a decision the caller may not have; names the argument that asked for it, if one did. */
export function forbidden(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.FORBIDDEN, ...(field ? { field } : {}) } });
}

/** An error of the application year's rules (state, deadline, another partner's decision), naming the offending field. */
export function refused(code: ErrorCode, message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...(field ? { field } : {}) } });
}
