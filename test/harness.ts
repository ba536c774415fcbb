import { randomBytes } from 'node:crypto';
import { type EmbeddedMongo, startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { MongoClient } from 'mongodb';
import {
  CREDENTIAL_HEADER,
  type Identity,
  SERVICE_AUDIENCE,
  SERVICE_ISSUER,
  SERVICE_TOKEN_LIFETIME_S,
  createCredentialSigner,
  secretKey,
  signHs256,
} from '@partnerskap/kit';
import { type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { memoryLogger } from '@partnerskap/gateway';
import { type RunningSupergraph, type SupergraphOptions, startSupergraph, type PartnerName } from '../launcher/supergraph.js';

/** A GraphQL response as tests read it, with its HTTP status. */
export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  /** The response's headers (lower-case names). */
  headers: Record<string, string>;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

type SubgraphName = PartnerName;

/** Options of a request in a test. */
export interface RequestOptions {
  /** A bearer token (through the gateway). */
  token?: string;
  /** Who the gateway credential vouches for (direct subgraph calls); `null` sends none. Default the directorate. */
  as?: Identity | null;
  headers?: Record<string, string>;
}

/** The whole supergraph on free ports, seeded with the demo data in fresh databases. */
export interface Harness extends RunningSupergraph {
  /** Sends an operation to the gateway. */
  query<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, options?: RequestOptions): Promise<GraphQLResponse<T>>;
  /** Sends an operation straight to one subgraph, with a credential the gateway would sign. */
  querySubgraph<T = Record<string, unknown>>(
    name: SubgraphName,
    query: string,
    variables?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<GraphQLResponse<T>>;
  /** A client token for an identity, signed by the test identity provider (claims may be overridden); for the role service, a subgraph's service token. */
  token(identity: Identity, claims?: Record<string, unknown>, expiresIn?: string | number): Promise<string>;
  /** Stops the embedded store (a database outage) and starts it again on the same port and journal. */
  stopStore(): Promise<void>;
  startStore(): Promise<void>;
  /** What the gateway logged (unless a test gave its own logger). */
  log: Record<string, unknown>[];
  /** The database commands sent since the last call, by command name and collection. */
  takeCommands(): { command: string; collection: unknown; db: string }[];
  close(): Promise<void>;
}

/** The test identity provider's issuer and audience. */
export const TEST_ISSUER = 'https://idp.test/partnerskap';
export const TEST_AUDIENCE = 'partnerskap-api';

async function post<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> | undefined,
  headers: Record<string, string>,
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: Omit<GraphQLResponse<T>, 'status' | 'headers'>;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
  }
  return { status: res.status, headers: Object.fromEntries(res.headers), ...body };
}

const DIRECTORATE: Identity = { role: 'directorate' };

/** The collections the events' consumers, the feeds' sequencer and the webhooks' worker use in the background. */
const BACKGROUND_COLLECTIONS = /^(outbox|outbox_meta|projections|cursors|inbox|webhook_deliveries)$/;
/** Sessions of the consumers' transactions (their commits are background work too). */
const backgroundSessions = new Set<string>();

/** Starts the embedded store (or uses `MONGODB_URI`), seeds fresh databases and starts everything on port 0. */
export async function startHarness(
  extra: Pick<SupergraphOptions, 'subgraphUrl' | 'clock' | 'seed' | 'seedProjections' | 'gateway' | 'development' | 'tracing'> & { storeDir?: string } = {},
): Promise<Harness> {
  let store: EmbeddedMongo | undefined;
  const quiet = { log: () => undefined };
  const mongodbUri =
    process.env.MONGODB_URI ??
    (store = await startEmbeddedMongo({ ...(extra.storeDir ? { dir: extra.storeDir, fsync: 'interval' as const } : {}), ...quiet })).uri;
  const prefix = `e2e_${randomBytes(4).toString('hex')}_`;
  const { publicKey, privateKey } = await generateKeyPair('EdDSA');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test', alg: 'EdDSA' };
  let commands: { command: string; collection: unknown; db: string }[] = [];
  const logger = memoryLogger();
  const running = await startSupergraph({
    mongodbUri,
    prefix,
    ...extra,
    // A test file is one address sending far more than a public caller may (300 a minute, 300,000 cost
    // units a minute): the tests of the rate limits set their own.
    gateway: { logger, rateLimits: { partnerPerMinute: 1_000_000, publicPerMinute: 1_000_000, publicCostPerMinute: 1_000_000_000 }, ...extra.gateway },
    auth: { jwks: { keys: [jwk] }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE },
    // The events' consumers and the feeds' sequencer read and write in the background, whatever a test's request does:
    // their collections are left out of what a test counts (a request's own commands are what it asserts).
    onCommand: (e) => {
      const collection = e.command[e.commandName];
      const session = e.command.lsid ? JSON.stringify(e.command.lsid) : undefined;
      if (session && backgroundSessions.has(session) && e.commandName !== 'commitTransaction' && e.commandName !== 'abortTransaction') return;
      if (typeof collection === 'string' && BACKGROUND_COLLECTIONS.test(collection)) {
        // A consumer's transaction is background work to its commit; a write's outbox insert is in the write's own.
        if (session && collection !== 'outbox' && e.command.autocommit === false) backgroundSessions.add(session);
        return;
      }
      if ((e.commandName === 'commitTransaction' || e.commandName === 'abortTransaction') && session && backgroundSessions.delete(session)) return;
      commands.push({ command: e.commandName, collection, db: e.databaseName });
    },
  });
  const signers = Object.fromEntries(Object.entries(running.secrets).map(([name, secret]) => [name, createCredentialSigner(name, secret)])) as Record<
    SubgraphName,
    (identity: Identity) => Promise<string>
  >;
  return {
    ...running,
    log: logger.entries,
    stopStore: async () => {
      if (!store) throw new Error('a real MongoDB (MONGODB_URI) cannot be stopped by a test');
      await store.close();
    },
    startStore: async () => {
      if (!store) throw new Error('a real MongoDB (MONGODB_URI) cannot be started by a test');
      store = await startEmbeddedMongo({
        port: Number(new URL(mongodbUri).port),
        ...(extra.storeDir ? { dir: extra.storeDir, fsync: 'interval' as const } : {}),
        ...quiet,
      });
    },
    query: async <T>(query: string, variables?: Record<string, unknown>, options: RequestOptions = {}) => {
      const res = await post<T>(running.gateway.url, query, variables, {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      });
      // A change reaches the other partners by events: a test's next step sees them applied (best effort: a
      // partner a test stopped, or a store it stopped, is left out).
      if (/^\s*mutation\b/.test(query) && res.data) await running.settle(10_000).catch((e: Error) => console.error('SETTLE', e.message));
      return res;
    },
    querySubgraph: async (name, query, variables, options = {}) => {
      const as = options.as === undefined ? DIRECTORATE : options.as;
      const credential = as ? { [CREDENTIAL_HEADER]: await signers[name](as) } : {};
      return post(running.subgraphs[name].url, query, variables, { ...credential, ...options.headers });
    },
    token: async (identity, claims = {}, expiresIn = '5m') =>
      // The role service comes only from a subgraph's own service token (the gateway refuses it in a
      // client token): sign one as plans' rules do (createSupergraphClient).
      identity.role === 'service' && Object.keys(claims).length === 0
        ? signHs256(
            {
              role: 'service',
              iss: SERVICE_ISSUER,
              sub: 'plans',
              aud: SERVICE_AUDIENCE,
              iat: Math.floor(Date.now() / 1000),
              exp: Math.floor(Date.now() / 1000) + SERVICE_TOKEN_LIFETIME_S,
            },
            secretKey(running.secrets.plans),
          )
        : new SignJWT({ role: identity.role, ...(identity.org ? { org: identity.org } : {}), ...claims })
            .setProtectedHeader({ alg: 'EdDSA', kid: 'test' })
            .setIssuer(typeof claims.iss === 'string' ? claims.iss : TEST_ISSUER)
            .setAudience(typeof claims.aud === 'string' ? claims.aud : TEST_AUDIENCE)
            .setIssuedAt()
            .setExpirationTime(expiresIn)
            .sign(privateKey),
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

/**
 * A supergraph as `npm start` runs it (the development key `npm run token` signs with), on free
 * ports over a store of its own (or fresh databases of `MONGODB_URI`): for tests that drive the
 * npm scripts and the docs' commands against it. `close()` stops it and drops what it made.
 */
export async function startDevSupergraph(
  name: string,
  options: Pick<SupergraphOptions, 'seed' | 'gateway'> = {},
): Promise<RunningSupergraph & { close(): Promise<void> }> {
  const store = process.env.MONGODB_URI ? undefined : await startEmbeddedMongo({ port: 0, log: () => undefined });
  const mongodbUri = process.env.MONGODB_URI ?? store!.uri;
  const prefix = `${name}_${randomBytes(4).toString('hex')}_`;
  const running = await startSupergraph({ mongodbUri, prefix, ...options });
  return {
    ...running,
    close: async () => {
      await running.stop();
      if (!store) {
        const client = await MongoClient.connect(mongodbUri);
        await Promise.all(Object.values(running.dbs).map((db) => client.db(db.databaseName).dropDatabase()));
        await client.close();
      }
      await store?.close();
    },
  };
}
