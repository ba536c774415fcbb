import { randomBytes } from 'node:crypto';
import { type EmbeddedMongo, startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { type RunningSupergraph, startSupergraph } from '../demo/supergraph.js';

/** A GraphQL response as tests read it. */
export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** The whole supergraph on free ports, seeded with the demo data in fresh databases. */
export interface Harness extends RunningSupergraph {
  /** Sends an operation to the gateway. */
  query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Sends an operation straight to one subgraph. */
  querySubgraph<T = Record<string, unknown>>(
    name: keyof RunningSupergraph['subgraphs'],
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse<T>>;
  /** The database commands sent since the last call, by command name and collection. */
  takeCommands(): { command: string; collection: unknown; db: string }[];
  close(): Promise<void>;
}

async function post<T>(url: string, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GraphQLResponse<T>;
}

/** Starts the embedded store (or uses `MONGODB_URI`), seeds fresh databases and starts everything on port 0. */
export async function startHarness(): Promise<Harness> {
  let store: EmbeddedMongo | undefined;
  const mongodbUri = process.env.MONGODB_URI ?? (store = await startEmbeddedMongo()).uri;
  const prefix = `e2e_${randomBytes(4).toString('hex')}_`;
  let commands: { command: string; collection: unknown; db: string }[] = [];
  const running = await startSupergraph({
    mongodbUri,
    prefix,
    onCommand: (e) => commands.push({ command: e.commandName, collection: e.command[e.commandName], db: e.databaseName }),
  });
  return {
    ...running,
    query: (query, variables) => post(running.gateway.url, query, variables),
    querySubgraph: (name, query, variables) => post(running.subgraphs[name].url, query, variables),
    takeCommands: () => {
      const taken = commands;
      commands = [];
      return taken;
    },
    close: async () => {
      await Promise.all(Object.values(running.dbs).map((db) => db.dropDatabase().catch(() => undefined)));
      await running.stop();
      await store?.close();
    },
  };
}
