import { MAX_PAGE_SIZE, MAX_SEARCH_LENGTH, badUserInput } from '@partnerskap/common';

export { MAX_PAGE_SIZE, MAX_SEARCH_LENGTH };

/** `first`/`after` as a list field receives them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** One field of a list's stable order, before the `_id` that breaks ties. */
export interface SortKey {
  /** The field, the same in the stored document and in the node the connection returns. */
  field: string;
  /** 1 ascending, -1 descending. */
  direction: 1 | -1;
  /** What the field holds: dates travel in the cursor as epoch milliseconds. */
  type: 'string' | 'number' | 'date';
}

/**
 * A list's stable order: its sort keys, then `_id` ascending. The store sorts by it (with the
 * list's collation, which then also governs the range comparison of the next page) and the
 * cursor records the last item's values of it.
 */
export interface KeysetOrder {
  /** A short tag naming the list: a cursor of another list is refused. */
  readonly list: string;
  readonly keys: readonly SortKey[];
}

/** Which slice of the ordered list a page is. */
export interface PageWindow {
  /** The page size; fetch one more to learn whether a next page exists. */
  limit: number;
  /** The order the cursors are positions in (none for plain lists such as the audit trails). */
  order: KeysetOrder | undefined;
  /** The sort values and id of the item the page starts after, as the store compares them; null for the first page. */
  after: readonly unknown[] | null;
}

/** A page of a connection, as the SDL's `XxxConnection` types have it. */
export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  /** Resolved only when the client asks for it. */
  totalCount: () => Promise<number>;
}

/** Declares a list's stable order (see {@link KeysetOrder}). */
export function keysetOrder(list: string, keys: readonly SortKey[]): KeysetOrder {
  return Object.freeze({ list, keys: Object.freeze([...keys]) });
}

/** The MongoDB sort spec of an order: its keys, then `_id` ascending. */
export function keysetSort(order: KeysetOrder): Record<string, 1 | -1> {
  const sort: Record<string, 1 | -1> = {};
  for (const k of order.keys) sort[k.field] = k.direction;
  sort._id = 1;
  return sort;
}

/**
 * `filter` narrowed to the items strictly after the window's cursor in its order: a range on
 * the sort fields with `_id` as the tie-break, so items inserted or deleted before the cursor
 * between two pages neither shift nor repeat the next page. The filter's own fields stay at the
 * top level (where an index on them is found); the range goes into `$and`.
 */
export function afterCursor<F extends Record<string, unknown>>(filter: F, window: PageWindow): F {
  if (!window.after || !window.order) return filter;
  const { keys } = window.order;
  const values = window.after;
  const branches: Record<string, unknown>[] = [];
  for (let i = 0; i <= keys.length; i++) {
    const branch: Record<string, unknown> = {};
    for (let j = 0; j < i; j++) branch[keys[j]!.field] = values[j];
    if (i < keys.length) branch[keys[i]!.field] = { [keys[i]!.direction === 1 ? '$gt' : '$lt']: values[i] };
    else branch._id = { $gt: values[keys.length] };
    branches.push(branch);
  }
  const range = branches.length === 1 ? branches[0]! : { $or: branches };
  const and = Array.isArray(filter.$and) ? (filter.$and as unknown[]) : [];
  return { ...filter, $and: [...and, range] };
}

const MAX_CURSOR_LENGTH = 1024;
const MAX_CURSOR_STRING = 400;
// Epoch milliseconds a date in a cursor may have: 1970 to 2200.
const MAX_DATE_MS = 7_258_118_400_000;

const refuseCursor = () => badUserInput('after is not a cursor of this list', 'after');

function encodeCursor(order: KeysetOrder, node: unknown): string {
  const row = node as Record<string, unknown>;
  const values = order.keys.map((k) => {
    const v = row[k.field];
    return k.type === 'date' ? (v instanceof Date ? v.getTime() : new Date(v as string).getTime()) : v;
  });
  return Buffer.from(JSON.stringify([order.list, ...values, row.id])).toString('base64url');
}

/** The sort values and id a cursor holds, checked against the order; throws `BAD_USER_INPUT` (field `after`) otherwise. */
function decodeCursor(order: KeysetOrder, cursor: string): unknown[] {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw refuseCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuseCursor();
  }
  if (!Array.isArray(parsed) || parsed.length !== order.keys.length + 2 || parsed[0] !== order.list) throw refuseCursor();
  const values = (parsed as unknown[]).slice(1);
  const out = order.keys.map((k, i) => {
    const v = values[i];
    if (k.type === 'string') {
      if (typeof v !== 'string' || v.length > MAX_CURSOR_STRING) throw refuseCursor();
      return v;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw refuseCursor();
    if (k.type === 'number') return v;
    if (v < 0 || v > MAX_DATE_MS) throw refuseCursor();
    return new Date(v);
  });
  const id = values[order.keys.length];
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_CURSOR_STRING) throw refuseCursor();
  return [...out, id];
}

/**
 * Validates `first` (1 to 100) and `after`, and turns them into a window. Cursors are opaque
 * keyset positions: the last item's sort values and id in the list's stable order (base64url
 * JSON, tagged with the list), so a page starts strictly after that item however the list
 * changed meanwhile. A cursor from another list, an old offset cursor or an edited one is
 * refused, not guessed at. A list without an order (an audit trail) takes `first` only.
 */
export function pageWindow(args: PageArgs, order?: KeysetOrder, defaultSize = 20): PageWindow {
  const first = args.first ?? defaultSize;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badUserInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, 'first');
  }
  let after: unknown[] | null = null;
  if (args.after !== undefined && args.after !== null) {
    if (!order) throw refuseCursor();
    after = decodeCursor(order, args.after);
  }
  return { limit: first, order, after };
}

/** Builds a connection from the documents of a window (fetched with `limit + 1`), each edge's cursor its node's position. */
export function toConnection<T>(rows: T[], window: PageWindow, count: () => Promise<number>): Connection<T> {
  const page = rows.slice(0, window.limit);
  const { order } = window;
  if (!order) throw new Error('toConnection needs a window with an order');
  const edges = page.map((node) => ({ cursor: encodeCursor(order, node), node }));
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
