/**
 * A record another record of the same store names, for a non-null field (a plan's owner, a
 * feedback's union): the write that stored the name checked the record exists, so a missing one
 * is a broken store, an internal error (masked for the client, logged with the subgraph's name).
 */
export async function referenced<T>(load: Promise<T | null | undefined> | T | null | undefined, what: string): Promise<T> {
  const value = await load;
  if (value === null || value === undefined) throw new Error(`the store holds no ${what}, though another of its records names it`);
  return value;
}
