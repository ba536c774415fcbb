import { badUserInput } from './errors.js';

/** The largest page a list returns. */
export const MAX_PAGE_SIZE = 100;
/** The longest free-text search accepted. */
export const MAX_SEARCH_LENGTH = 100;

/** `first`/`after` as a list field receives them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** Which slice of the ordered list a page is. */
export interface PageWindow {
  skip: number;
  /** The page size; fetch one more to learn whether a next page exists. */
  limit: number;
}

/** A page of a connection, as the SDL's `XxxConnection` types have it. */
export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  /** Resolved only when the client asks for it. */
  totalCount: () => Promise<number>;
}

const encodeCursor = (offset: number): string => Buffer.from(`o:${offset}`).toString('base64url');

/**
 * Validates `first` (1 to 100) and `after`, and turns them into a window. Cursors are opaque
 * positions in the list's stable order; a cursor from another list is refused, not guessed at.
 */
export function pageWindow(args: PageArgs, defaultSize = 20): PageWindow {
  const first = args.first ?? defaultSize;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badUserInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, 'first');
  }
  let skip = 0;
  if (args.after !== undefined && args.after !== null) {
    const match = /^o:(\d{1,9})$/.exec(Buffer.from(args.after, 'base64url').toString('utf8'));
    if (!match || args.after.length > 32) throw badUserInput('after is not a cursor of this list', 'after');
    skip = Number(match[1]) + 1;
  }
  return { skip, limit: first };
}

/** Builds a connection from the documents of a window (fetched with `limit + 1`). */
export function toConnection<T>(rows: T[], window: PageWindow, count: () => Promise<number>): Connection<T> {
  const page = rows.slice(0, window.limit);
  const edges = page.map((node, i) => ({ cursor: encodeCursor(window.skip + i), node }));
  let counted: Promise<number> | undefined;
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > window.limit, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: () => (counted ??= count()),
  };
}

/** A case-insensitive "contains" pattern for free text, with every regex character escaped. */
export function searchPattern(text: string, field: string): RegExp {
  if (text.length > MAX_SEARCH_LENGTH) throw badUserInput(`search must be at most ${MAX_SEARCH_LENGTH} characters`, field);
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
}

/** Validates an optional year argument (the strategy's years: 2009 to 2100). */
export function yearArg(value: number | null | undefined, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || value < 2009 || value > 2100) throw badUserInput(`${field} must be a year between 2009 and 2100`, field);
  return value;
}

/** Validates an optional id argument: a short string of letters, digits and `-`. */
export function idArg(value: string | null | undefined, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw badUserInput(`${field} is not a valid id`, field);
  return value;
}

/** Validates a required id argument (as {@link idArg}). */
export function requiredId(value: string | null | undefined, field: string): string {
  const id = idArg(value, field);
  if (id === undefined) throw badUserInput(`${field} is required`, field);
  return id;
}

/** Validates free text: trimmed, `min` to `max` characters, no control characters but newlines and tabs. */
export function textArg(value: string, field: string, min: number, max: number): string {
  const text = value.trim();
  if (text.length < min || text.length > max) throw badUserInput(`${field} must be ${min} to ${max} characters`, field);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) throw badUserInput(`${field} must not hold control characters`, field);
  return text;
}

/** Validates a whole number in `min`..`max`. */
export function intArg(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw badUserInput(`${field} must be a whole number from ${min} to ${max}`, field);
  return value;
}
