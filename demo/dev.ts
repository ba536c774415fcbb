/**
 * `npm run dev`: the local supergraph for working on a subgraph. Like `npm start` (the embedded
 * store with the demo data in .data/mongo, the gateway on 4000), but every subgraph of the registry
 * runs as a child process under `tsx watch` on its registered port, so saving its code or its SDL
 * restarts it; the gateway runs here and watches `schema/supergraph.graphql`, so `npm run compose`
 * swaps the schema in without a restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import {
  type AuthOptions,
  DEV_AUDIENCE,
  DEV_ISSUER,
  type GatewayServerOptions,
  type ListeningGateway,
  type Logger,
  authOptionsFrom,
  createAuthenticator,
  createGatewayServer,
  gatewayOptionsFrom,
  listenGateway,
  loadGatewayConfig,
  loadOrCreateDevKey,
} from '@partnerskap/gateway';
import { readRegistry } from '../schema/compose.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSX_CLI = createRequire(import.meta.url).resolve('tsx/cli');

/** Options of {@link startDev}. */
export interface DevOptions {
  /** The store every subgraph uses. */
  mongodbUri: string;
  /** Ports by subgraph name, replacing the registry's (tests use free ones). */
  ports?: Readonly<Record<string, number>>;
  /** The gateway's port (default 4000). */
  gatewayPort?: number;
  /** Database name prefix (default the subgraphs' own, `partnerskap_`); tests use a fresh one. */
  prefix?: string;
  /** The supergraph file the gateway serves and watches (default this repository's `schema/supergraph.graphql`). */
  supergraphPath?: string;
  /** Milliseconds between the gateway's looks at the file (default 1000). */
  supergraphPollMs?: number;
  /** Where every line goes, a child's prefixed with its name (default stdout). */
  print?: (line: string) => void;
  /** Colour the prefixes (default false). */
  color?: boolean;
  /** How long the subgraphs may take to answer `/health` at start (default 60 s). */
  readyTimeoutMs?: number;
  /** How the gateway verifies client tokens (default the development key). */
  auth?: AuthOptions;
  /** More gateway options, as the configuration gives them (`gatewayOptionsFrom`: CORS, limits, rate limits...). */
  gateway?: Partial<Omit<GatewayServerOptions, 'supergraphPath' | 'subgraphUrls' | 'authenticate' | 'secrets' | 'logger' | 'development'>>;
}

/** A running `npm run dev`. */
export interface RunningDev {
  gateway: ListeningGateway;
  /** Each subgraph's `tsx watch` process and where it listens. */
  subgraphs: Record<string, { pid: number; url: string }>;
  /** Stops the gateway, then each subgraph (SIGTERM: it drains; SIGKILL after 15 s). */
  stop(): Promise<void>;
}

const COLORS = [36, 35, 33, 32, 34, 31];

/** Whether something answers `GET /health` with 200 on a port. */
async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** Whether a port on 127.0.0.1 is free (to say which one is taken before anything starts). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The gateway's log as readable lines; its supergraph reloads are told by {@link startDev} itself. */
function devLogger(print: (line: string) => void): Logger {
  const line = (level: string) => (entry: unknown) => {
    const { msg, ...rest } = (typeof entry === 'object' && entry !== null ? entry : { msg: String(entry) }) as Record<string, unknown>;
    if (msg === 'supergraph updated' || msg === 'new supergraph refused; still serving the current one') return;
    print(`${level === 'info' ? '' : `${level}: `}${String(msg)} ${JSON.stringify(rest)}`);
  };
  return { info: line('info'), warn: line('warn'), error: line('error') } as unknown as Logger;
}

/**
 * Starts each registered subgraph under `tsx watch` (its SDL watched too) and the gateway over the
 * supergraph file, and resolves once every subgraph answers `/health`. A subgraph that crashes is
 * reported; `tsx watch` starts it again on the next save. Each child gets this process's
 * environment (`PARTNERSKAP_NOW`, `LOG_LEVEL` pass through) with its port, the store, a secret
 * it shares with the gateway (fresh and random for every run, as `npm start`'s) and the gateway's URL set.
 */
export async function startDev(options: DevOptions): Promise<RunningDev> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const color = options.color ?? false;
  const registry = readRegistry();
  const portOf = (name: string, url: string) => options.ports?.[name] ?? Number(new URL(url).port);
  const gatewayPort = options.gatewayPort ?? 4000;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}/`;
  const width = Math.max(7, ...registry.map((s) => s.name.length));
  const prefix = (name: string, i: number) => {
    const label = `${name.padEnd(width)} │`;
    return color ? `\x1b[${COLORS[i % COLORS.length]}m${label}\x1b[0m` : label;
  };

  const taken: string[] = [];
  for (const [name, port] of [['gateway', gatewayPort] as const, ...registry.map((s) => [s.name, portOf(s.name, s.url)] as const)]) {
    if (!(await portIsFree(port))) taken.push(`${port} (${name})`);
  }
  if (taken.length > 0) throw new Error(`port ${taken.join(', ')} in use: is npm start or another npm run dev running?`);

  // Fresh random secrets every run, in this process and the children's environment only: nothing
  // derivable, nothing on disk, and no development fallback needed by either side.
  const secrets = new Map(registry.map(({ name }) => [name, randomBytes(32).toString('base64url')]));
  let stopping = false;
  const children = new Map<string, { child: ChildProcess; port: number; crashed: boolean }>();
  registry.forEach(({ name, url }, i) => {
    const port = portOf(name, url);
    const child = spawn(
      process.execPath,
      [TSX_CLI, 'watch', '--clear-screen=false', '--include', `schema/${name}.graphql`, `subgraphs/${name}/src/main.ts`],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          NODE_ENV: 'development',
          PORT: String(port),
          HOST: '127.0.0.1',
          MONGODB_URI: options.mongodbUri,
          ...(options.prefix ? { MONGODB_DB: `${options.prefix}${name}` } : {}),
          GATEWAY_SECRET: secrets.get(name)!,
          SUPERGRAPH_URL: gatewayUrl,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: the terminal's Ctrl-C reaches only this launcher, which stops the gateway before the subgraphs.
        detached: true,
      },
    );
    const state = { child, port, crashed: false };
    children.set(name, state);
    const label = prefix(name, i);
    const watchUntilBack = async () => {
      while (state.crashed && !stopping) {
        await new Promise((r) => setTimeout(r, 1000));
        if (state.crashed && !stopping && (await healthy(port))) {
          state.crashed = false;
          print(`${label} ✓ ${name} is up again`);
        }
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        print(`${label} ${line}`);
        // Node's last line after an uncaught error: tsx watch keeps waiting for a change.
        if (/^Node\.js v\d+\.\d+\.\d+$/.test(line) && !stopping) {
          state.crashed = true;
          print(`${label} ✗ ${name} crashed (the error is above): fix it and save; tsx watch starts it again`);
          void watchUntilBack();
        }
      });
    }
    child.on('exit', (code, signal) => {
      if (!stopping) print(`${label} ✗ tsx watch for ${name} exited (${signal ?? `code ${code}`}): restart npm run dev`);
    });
  });

  const stopChildren = () =>
    Promise.all(
      [...children.values()].map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        // tsx watch passes SIGTERM on to the subgraph, which drains and closes its store.
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // the group is gone already
          }
        }, 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );

  let gateway: ListeningGateway;
  try {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    const waiting = new Set(children.keys());
    while (waiting.size > 0) {
      const crashed = [...waiting].filter((name) => children.get(name)!.crashed);
      if (crashed.length > 0) throw new Error(`${crashed.join(', ')} crashed while starting (the error is above)`);
      if (Date.now() > deadline) throw new Error(`${[...waiting].join(', ')} did not start within ${options.readyTimeoutMs ?? 60_000} ms (see its output above)`);
      for (const name of [...waiting]) if (await healthy(children.get(name)!.port)) waiting.delete(name);
      if (waiting.size > 0) await new Promise((r) => setTimeout(r, 250));
    }
    const gatewayLabel = prefix('gateway', registry.length);
    const urls = new Map(registry.map((s) => [s.name, `http://127.0.0.1:${portOf(s.name, s.url)}/graphql`]));
    const server = createGatewayServer({
      supergraphPath: options.supergraphPath ?? join(REPO_ROOT, 'schema', 'supergraph.graphql'),
      ...(options.supergraphPollMs !== undefined ? { supergraphPollMs: options.supergraphPollMs } : {}),
      // Where the children listen; a subgraph composed but not registered keeps its composed URL.
      subgraphUrls: (name) => urls.get(name),
      development: true,
      authenticate: createAuthenticator(options.auth ?? { jwks: { keys: [(await loadOrCreateDevKey()).publicJwk] }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE }),
      ...options.gateway,
      secrets: (name) => secrets.get(name),
      logger: devLogger((line) => print(`${gatewayLabel} ${line}`)),
      onSupergraphReload: (outcome) =>
        print(
          outcome.applied
            ? `${gatewayLabel} ✓ new supergraph ${outcome.supergraph.id} served: ${outcome.supergraph.subgraphs.map((s) => s.name).join(', ')}`
            : `${gatewayLabel} ✗ new supergraph refused, still serving the previous one: ${outcome.reason}`,
        ),
    });
    gateway = await listenGateway(server, { port: gatewayPort });
  } catch (err) {
    stopping = true;
    await stopChildren();
    throw err;
  }

  return {
    gateway,
    subgraphs: Object.fromEntries([...children].map(([name, { child, port }]) => [name, { pid: child.pid!, url: `http://127.0.0.1:${port}/graphql` }])),
    stop: async () => {
      stopping = true;
      await gateway.stop();
      await stopChildren();
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { startEmbeddedMongo, storeRefusal } = await import('@partnerskap/embedded-mongo');
  const { isSeeded, partnerDbs, seedDemoData } = await import('./seed.js');
  if (process.env.NODE_ENV === 'production') {
    console.error('npm run dev is for development: unset NODE_ENV=production');
    process.exit(1);
  }
  const started = performance.now();
  const mongoPort = Number(process.env.MONGO_PORT ?? 27017);
  if (!process.env.MONGODB_URI && !(await portIsFree(mongoPort))) {
    console.error(`port ${mongoPort} (the embedded store) in use: is npm start or another npm run dev running?`);
    process.exit(1);
  }
  const store = process.env.MONGODB_URI
    ? undefined
    : await startEmbeddedMongo({ port: mongoPort, dir: '.data/mongo', fsync: 'interval' }).catch((err: unknown) => {
        const refusal = storeRefusal(err);
        if (!refusal) throw err;
        console.error(refusal);
        process.exit(1);
      });
  const mongodbUri = process.env.MONGODB_URI ?? store!.uri;
  const client = await MongoClient.connect(mongodbUri, { serverSelectionTimeoutMS: 3000 });
  const dbs = partnerDbs(client);
  if (!(await isSeeded(dbs))) {
    console.log('seeding the demo data (first start only)');
    const n = await seedDemoData(dbs, (line) => console.log(`  ${line}`));
    console.log(`seeded ${n.toLocaleString('en-US')} documents`);
  }
  await client.close();

  let running: RunningDev | undefined;
  try {
    // The gateway reads the same variables as npm start, npm run gateway and the images (CORS_ORIGINS, LIMIT_*...).
    const config = loadGatewayConfig({ ...process.env, PARTNERSKAP_DEV: process.env.PARTNERSKAP_DEV || '1' });
    const { development: _development, ...gateway } = gatewayOptionsFrom(config);
    running = await startDev({
      mongodbUri,
      color: process.stdout.isTTY === true && !process.env.NO_COLOR,
      gatewayPort: config.port,
      auth: await authOptionsFrom(config),
      gateway,
    });
  } catch (err) {
    console.error(`npm run dev: ${(err as Error).message}`);
    await store?.close();
    process.exit(1);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const names = Object.entries(running.subgraphs);
  console.log(`
Partnerskap dev is up (${seconds} s):
  gateway     ${running.gateway.url}   (Apollo Sandbox: open it in a browser)
  explorer    ${new URL('/graphiql', running.gateway.url).href}   (GraphiQL from the gateway itself: works offline)
${names.map(([name, s]) => `  ${name.padEnd(11)} ${s.url}   (tsx watch: subgraphs/${name}/src, schema/${name}.graphql)`).join('\n')}
  database    ${store ? `${store.uri} (embedded, data in .data/mongo)` : 'MONGODB_URI'}

Save a subgraph's code or SDL and it restarts; run npm run compose and the gateway serves the new
supergraph without a restart. Stop with Ctrl-C.`);

  // Should this launcher die of an error, its subgraphs (in their own process groups) go with it.
  let stopped = false;
  process.on('exit', () => {
    if (stopped) return;
    for (const { pid } of Object.values(running!.subgraphs)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already stopped
      }
    }
  });
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) {
        // A second Ctrl-C: stop now (the exit handler takes the subgraphs down).
        process.exit(1);
      }
      stopping = true;
      console.log(`\n${signal}: stopping the gateway, the subgraphs and the store (Ctrl-C again to force)`);
      void running!
        .stop()
        .then(() => (stopped = true))
        .then(() => store?.close())
        .then(() => process.exit(0));
    });
  }
}
