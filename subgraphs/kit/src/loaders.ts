import DataLoader from 'dataloader';

/**
 * A per-request loader by key: one fetch per batch of keys, results in key order, `null` for a
 * key nothing was found for. Keys are cast to strings first, so that a hostile representation
 * (`{ id: { $ne: null } }`) can never reach the database as an operator.
 */
export function createByKeyLoader<V>(
  fetch: (keys: string[]) => Promise<V[]>,
  keyOf: (value: V) => string,
): DataLoader<string, V | null> {
  return new DataLoader<string, V | null>(async (keys) => {
    const found = new Map<string, V>();
    for (const value of await fetch([...keys])) found.set(keyOf(value), value);
    return keys.map((k) => found.get(k) ?? null);
  });
}

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
