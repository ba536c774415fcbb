import { GraphQLError } from 'graphql';

/** The error codes clients see in `extensions.code`: Apollo's names where they exist, plus ours. */
export const ErrorCode = Object.freeze({
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const);

/** One of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN = new Set<string>(Object.values(ErrorCode));

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
