import DataLoader from 'dataloader';

/**
 * A per-request loader by key: one fetch per batch of keys, results in key order, `null` for a
 * key nothing was found for. Keys are cast to strings first, so that a hostile representation
 * (`{ id: { $ne: null } }`) can never reach the database as an operator.
 */
export function createByKeyLoader<V>(fetch: (keys: string[]) => Promise<V[]>, keyOf: (value: V) => string): DataLoader<string, V | null> {
  return new DataLoader<string, V | null>(async (keys) => {
    const found = new Map<string, V>();
    for (const value of await fetch([...keys])) found.set(keyOf(value), value);
    return keys.map((k) => found.get(k) ?? null);
  });
}

/**
 * Rows grouped by key in one pass: for each key (in key order) the rows whose `keyOf` is it, in
 * the rows' order; an empty list for a key no row has; rows of keys not asked for are left out.
 */
export function groupByKey<K, R>(keys: readonly K[], rows: Iterable<R>, keyOf: (row: R) => K): R[][] {
  const groups = new Map<K, R[]>();
  for (const key of keys) if (!groups.has(key)) groups.set(key, []);
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key)!);
}

/**
 * A per-request loader of the rows of each key (a teacher's applications, one owner's decisions of
 * a year): one fetch per batch of keys, grouped in one pass ({@link groupByKey}), an empty list
 * for a key with none.
 */
export function createRowsLoader<K, R>(fetch: (keys: K[]) => Promise<readonly R[]>, keyOf: (row: R) => K): DataLoader<K, R[]> {
  return new DataLoader<K, R[]>(async (keys) => groupByKey(keys, await fetch([...keys]), keyOf));
}

/** Rows that belong to a year: a figure cell of it. */
export interface YearRow {
  year: number;
}

/** Each list of rows of a read that returns several (the catalogue's offers and allocations, read in one command). */
type YearRowSets<S> = { [K in keyof S]: readonly YearRow[] };
/** One year's share of each list. */
type YearShare<S extends YearRowSets<S>> = { [K in keyof S]: S[K][number][] };

/**
 * A per-request loader of a year's rows (its figure cells) from a read that takes a batch of
 * years: one read per batch, grouped by year in one pass, in key order, an empty list for a year
 * without any. A read that returns several lists of rows at once gets each list grouped the same way.
 */
export function createYearRowsLoader<R extends YearRow>(fetch: (years: number[]) => Promise<readonly R[]>): DataLoader<number, R[]>;
export function createYearRowsLoader<S extends YearRowSets<S>>(fetch: (years: number[]) => Promise<S>): DataLoader<number, YearShare<S>>;
export function createYearRowsLoader(
  fetch: (years: number[]) => Promise<readonly YearRow[] | Record<string, readonly YearRow[]>>,
): DataLoader<number, YearRow[] | Record<string, YearRow[]>> {
  const yearOf = (row: YearRow) => row.year;
  return new DataLoader<number, YearRow[] | Record<string, YearRow[]>>(async (years) => {
    const fetched = await fetch([...years]);
    if (isRowList(fetched)) return groupByKey(years, fetched, yearOf);
    const sets = Object.entries(fetched).map(([name, rows]) => [name, groupByKey(years, rows, yearOf)] as const);
    return years.map((_, i) => Object.fromEntries(sets.map(([name, groups]) => [name, groups[i]!])));
  });
}

const isRowList = (value: readonly YearRow[] | Record<string, readonly YearRow[]>): value is readonly YearRow[] => Array.isArray(value);

/** A per-request loader of counts by key (0 for keys with none), one aggregation per batch. */
export function createCountLoader(fetch: (keys: string[]) => Promise<{ _id: string; n: number }[]>): DataLoader<string, number> {
  return new DataLoader<string, number>(async (keys) => {
    const counts = new Map((await fetch([...keys])).map((row) => [row._id, row.n]));
    return keys.map((k) => counts.get(k) ?? 0);
  });
}

/** Casts an entity key from a representation to a string, or undefined when it is not a primitive. */
export function keyString(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** Loads an entity by a representation's key; `null` when the key is not a primitive (never a query operator). */
export function loadByKey<V>(loader: DataLoader<string, V | null>, value: unknown): Promise<V | null> | null {
  const key = keyString(value);
  return key === undefined ? null : loader.load(key);
}
