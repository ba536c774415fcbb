import { type Db, MongoClient } from 'mongodb';

/** A connected database and the client to close. */
export interface MongoConnection {
  client: MongoClient;
  db: Db;
}

/**
 * Connects with the official driver. Server selection gives up after 2 s (the driver's 30 s
 * default would hang requests while the database is down: a subgraph answers STORE_UNAVAILABLE
 * within 3 s instead); the pool reconnects by itself when the database is back.
 */
export async function connectMongo(uri: string, database: string, appName: string): Promise<MongoConnection> {
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: MONGO_SELECTION_TIMEOUT_MS, appName });
  return { client, db: client.db(database) };
}

/** How long the driver looks for the database before a request fails. */
export const MONGO_SELECTION_TIMEOUT_MS = 2000;

/** Maps a stored document's `_id` to the `id` the API uses: the one place the two names meet. */
export function withId<T extends { _id: unknown }>(doc: T): Omit<T, '_id'> & { id: T['_id'] } {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}

/** Norwegian collation: names sort with Æ, Ø, Å after Z. */
export const NB = Object.freeze({ locale: 'nb' });

/** A value a filter may compare with: never an object, so never an operator such as `{ $ne: null }`. */
export type FilterValue = string | number | boolean;

/**
 * A filter of `$eq` conditions on the fields a store allows (the keys it passes), skipping the
 * undefined ones. Each value must be a primitive: an object here is a bug (validation let it
 * through), refused rather than sent to the database as an operator.
 */
export function eqFilter(conditions: Record<string, FilterValue | undefined>): Record<string, { $eq: FilterValue }> {
  const filter: Record<string, { $eq: FilterValue }> = {};
  for (const [field, value] of Object.entries(conditions)) {
    if (value === undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
      throw new TypeError(`filter value of ${field} is not a primitive`);
    filter[field] = { $eq: value };
  }
  return filter;
}

/** How long a query with a free-text pattern may run on the server before it is cut off. */
export const SEARCH_MAX_TIME_MS = 2000;
