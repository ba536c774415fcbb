import { type Span, SpanKind, SpanStatusCode, context } from '@opentelemetry/api';
import { tracerIn, tracingEnabled } from '@partnerskap/common';
import { type CommandFailedEvent, type CommandStartedEvent, type CommandSucceededEvent, type Db, MongoClient } from 'mongodb';
import { storeParent } from './tracing.js';

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
  // While tracing, the driver reports its commands (traceCommands); otherwise it builds no events at all.
  const traced = tracingEnabled();
  const client = await MongoClient.connect(uri, {
    serverSelectionTimeoutMS: MONGO_SELECTION_TIMEOUT_MS,
    appName,
    ...(traced ? { monitorCommands: true } : {}),
  });
  if (traced) traceCommands(client);
  return { client, db: client.db(database) };
}

/** A command's collection: its first field's value (`find: 'studies'`), or `collection` for `getMore`. */
function collectionOf(event: CommandStartedEvent): string | undefined {
  const named = event.command[event.commandName] as unknown;
  if (typeof named === 'string') return named;
  const collection = event.command.collection as unknown;
  return typeof collection === 'string' ? collection : undefined;
}

/**
 * Makes a span of each command the client sends for a traced request (docs/tracing.md): a client
 * span `mongodb.<command>` under the resolver that sent it (tracing.ts) or else the request, with
 * the database semantic conventions, stable and older names both (`db.system.name`/`db.system`,
 * `db.namespace`/`db.name`, `db.collection.name`/`db.mongodb.collection`,
 * `db.operation.name`/`db.operation`) and the server's address; never the command's documents,
 * filters or values, nor a failure's message (a duplicate key's quotes the key), only its code name.
 * The driver reports a command in the context of the code that sent it (checked); its end is
 * matched by connection and request id. Needs a client made with `monitorCommands: true`; commands
 * outside a traced request (the events' consumers, startup) make none.
 */
export function traceCommands(client: MongoClient): void {
  const open = new Map<string, Span>();
  const keyOf = (event: { connectionId?: string | number; requestId: number }) => `${event.connectionId}/${event.requestId}`;
  client.on('commandStarted', (event: CommandStartedEvent) => {
    const active = context.active();
    const tracer = tracerIn(active);
    if (!tracer) return;
    const collection = collectionOf(event);
    const port = /:(\d+)$/.exec(event.address);
    const span = tracer.startSpan(
      `mongodb.${event.commandName}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'mongodb',
          'db.system': 'mongodb',
          'db.namespace': event.databaseName,
          'db.name': event.databaseName,
          'db.operation.name': event.commandName,
          'db.operation': event.commandName,
          ...(collection ? { 'db.collection.name': collection, 'db.mongodb.collection': collection } : {}),
          'server.address': port ? event.address.slice(0, port.index).replace(/^\[(.*)\]$/, '$1') : event.address,
          ...(port ? { 'server.port': Number(port[1]) } : {}),
        },
      },
      storeParent(active),
    );
    open.set(keyOf(event), span);
  });
  client.on('commandSucceeded', (event: CommandSucceededEvent) => {
    const span = open.get(keyOf(event));
    if (!span) return;
    open.delete(keyOf(event));
    span.end();
  });
  client.on('commandFailed', (event: CommandFailedEvent) => {
    const span = open.get(keyOf(event));
    if (!span) return;
    open.delete(keyOf(event));
    const failure = event.failure as Error & { codeName?: unknown };
    span.setAttribute('error.type', typeof failure.codeName === 'string' ? failure.codeName : failure.name);
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
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
