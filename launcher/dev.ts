/**
 * `npm run dev`: the local supergraph for working on a subgraph. Like `npm start` (the embedded
 * store with the demo data in .data/mongo, the gateway on 4000), but every subgraph of the registry
 * runs as a child process under `tsx watch` on its registered port, so saving its code or its SDL
 * restarts it; the gateway runs here and watches `schema/supergraph.graphql`, so `npm run compose`
 * swaps the schema in without a restart.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
import { startGatewayTracing } from '@partnerskap/gateway';
import { readRegistry } from '../tools/schema/compose.js';

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
  /** More environment for the subgraphs (default none beyond this process's own): the deadline bench sets `PARTNERSKAP_NOW`. */
  env?: Readonly<Record<string, string>>;
  /** Milliseconds between the supervisor's looks at each running subgraph (default 500). */
  superviseMs?: number;
}

/** A running `npm run dev`. */
export interface RunningDev {
  gateway: ListeningGateway;
  /** Each subgraph's `tsx watch` process (a new one after a restart: the record is updated) and where it listens. */
  subgraphs: Record<string, { pid: number; url: string }>;
  /** Stops the gateway, then each subgraph (SIGTERM: it drains; SIGKILL after 15 s). */
  stop(): Promise<void>;
}

const COLORS = [36, 35, 33, 32, 34, 31];

/** One subgraph as dev runs it: its current `tsx watch` process, and what the supervisor knows of it. */
interface Child {
  name: string;
  port: number;
  label: string;
  child: ChildProcess;
  /** Node printed its last line after an uncaught error. */
  crashed: boolean;
  restarting: boolean;
  /** When it stopped answering (a restart under way), or null. */
  down: number | null;
  /** When it died, within the last minute: the backoff. */
  deaths: number[];
  /** Looks in a row that found it not answering and without a process. */
  misses: number;
  /** What {@link RunningDev.subgraphs} shows of it. */
  view: { pid: number; url: string };
}

/**
 * The processes a process started (the subgraph's node process under `tsx watch`): from
 * `/proc` on Linux, else `pgrep -P`; null when neither can tell (then nothing is restarted).
 */
export async function processesUnder(pid: number): Promise<number[] | null> {
  try {
    return (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).split(' ').filter(Boolean).map(Number);
  } catch (err) {
    // The process itself is gone: nothing under it.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync('/proc/self')) return [];
  }
  return new Promise((resolve) => {
    execFile('pgrep', ['-P', String(pid)], (err, stdout) => {
      // pgrep exits 1 when it finds nothing; anything else (not installed) tells nothing.
      if (err && (err as { code?: unknown }).code !== 1) resolve(null);
      else resolve(stdout.split('\n').filter(Boolean).map(Number));
    });
  });
}

/** Kills a `tsx watch` process and everything in its process group (a subgraph left behind holds the port), and waits for it. */
async function killGroup(child: ChildProcess): Promise<void> {
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // the group is gone already
  }
  await exited;
}

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
  return { info: line('info'), warn: line('warn'), error: line('error') };
}

/**
 * Starts each registered subgraph under `tsx watch` (its SDL watched too) and the gateway over the
 * supergraph file, and resolves once every subgraph answers `/health`. A subgraph that crashes while
 * starting fails the start; once running, one whose process dies (killed, out of memory, an uncaught
 * error) is started again with a line saying so, with a backoff when it keeps dying; saving its code
 * restarts it too (`tsx watch`). Each child gets this process's
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
  /** Set once every subgraph answered at start: from then on a subgraph that stops unexpectedly is started again. */
  let started = false;
  const children = new Map<string, Child>();
  const launch = (state: Child) => {
    const { name } = state;
    const child = spawn(process.execPath, [TSX_CLI, 'watch', '--clear-screen=false', '--include', `schema/${name}.graphql`, `subgraphs/${name}/src/main.ts`], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...options.env,
        NODE_ENV: 'development',
        PORT: String(state.port),
        HOST: '127.0.0.1',
        MONGODB_URI: options.mongodbUri,
        ...(options.prefix ? { MONGODB_DB: `${options.prefix}${name}` } : {}),
        GATEWAY_SECRET: secrets.get(name)!,
        SUPERGRAPH_URL: gatewayUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: the terminal's Ctrl-C reaches only this launcher, which stops the gateway before the subgraphs.
      detached: true,
    });
    state.child = child;
    state.crashed = false;
    state.view.pid = child.pid!;
    const watchUntilBack = async () => {
      while (state.crashed && !started && !stopping) {
        await new Promise((r) => setTimeout(r, 1000));
        if (state.crashed && !stopping && (await healthy(state.port))) {
          state.crashed = false;
          print(`${state.label} ✓ ${name} is up again`);
        }
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        print(`${state.label} ${line}`);
        // Node's last line after an uncaught error: tsx watch keeps waiting for a change.
        if (/^Node\.js v\d+\.\d+\.\d+$/.test(line) && !stopping && state.child === child) {
          state.crashed = true;
          // Once running, the supervisor starts it again (and says so); while starting, the start fails.
          if (!started) {
            print(`${state.label} ✗ ${name} crashed (the error is above): fix it and save; tsx watch starts it again`);
            void watchUntilBack();
          }
        }
      });
    }
    child.on('exit', (code, signal) => {
      if (stopping || state.child !== child || state.restarting) return;
      if (!started) print(`${state.label} ✗ tsx watch for ${name} exited (${signal ?? `code ${code}`}): restart npm run dev`);
      else void restart(state, `its tsx watch exited (${signal ?? `code ${code}`})`);
    });
  };
  registry.forEach(({ name, url }, i) => {
    const port = portOf(name, url);
    const state: Child = {
      name,
      port,
      label: prefix(name, i),
      child: undefined as unknown as ChildProcess,
      crashed: false,
      restarting: false,
      down: null,
      deaths: [],
      misses: 0,
      view: { pid: 0, url: `http://127.0.0.1:${port}/graphql` },
    };
    children.set(name, state);
    launch(state);
  });

  /**
   * Starts a subgraph whose process died (killed, out of memory, an uncaught error) again: its whole
   * `tsx watch` group goes (tsx watch itself cannot rerun a child killed by a signal), a new one starts.
   * Backoff when it keeps dying: at once, then 1, 2, 4 ... 30 s while deaths come within a minute.
   */
  const restart = async (state: Child, why: string) => {
    if (state.restarting || stopping) return;
    state.restarting = true;
    state.down ??= Date.now();
    const now = Date.now();
    state.deaths = [...state.deaths.filter((t) => now - t < 60_000), now];
    const n = state.deaths.length;
    const delay = n <= 1 ? 0 : Math.min(30_000, 1000 * 2 ** (n - 2));
    const reason = state.crashed ? 'crashed (the error is above)' : `stopped unexpectedly (${why})`;
    print(
      `${state.label} ✗ ${state.name} ${reason}: starting it again${delay ? ` in ${delay / 1000} s (${n} times in the last minute${state.crashed ? '; fix it and save' : ''})` : ''}`,
    );
    await killGroup(state.child);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (!stopping) launch(state);
    state.misses = 0;
    state.restarting = false;
  };

  /** Every half second once running: a subgraph that does not answer and has no process left is started again. */
  const supervise = async () => {
    while (!stopping) {
      await new Promise((r) => setTimeout(r, options.superviseMs ?? 500));
      await Promise.all(
        [...children.values()].map(async (state) => {
          if (state.restarting || stopping) return;
          if (await healthy(state.port)) {
            state.misses = 0;
            if (state.down !== null) {
              print(`${state.label} ✓ ${state.name} is up again (${((Date.now() - state.down) / 1000).toFixed(1)} s after it stopped)`);
              state.down = null;
            }
            return;
          }
          // Not answering: busy, starting after a save, or gone. Only gone (twice in a row) is restarted.
          const alive = await processesUnder(state.child.pid!);
          state.misses = alive === null || alive.length > 0 ? 0 : state.misses + 1;
          if (state.misses >= 2 && !stopping) await restart(state, 'its process is gone');
        }),
      );
    }
  };

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
      if (Date.now() > deadline)
        throw new Error(`${[...waiting].join(', ')} did not start within ${options.readyTimeoutMs ?? 60_000} ms (see its output above)`);
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
      authenticate: createAuthenticator(
        options.auth ?? { jwks: { keys: [(await loadOrCreateDevKey()).publicJwk] }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE },
      ),
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
    started = true;
    void supervise();
  } catch (err) {
    stopping = true;
    await stopChildren();
    throw err;
  }

  return {
    gateway,
    subgraphs: Object.fromEntries([...children].map(([name, state]) => [name, state.view])),
    stop: async () => {
      stopping = true;
      await gateway.stop();
      await stopChildren();
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { startEmbeddedMongo, storeRefusal } = await import('@partnerskap/embedded-mongo');
  const { isSeeded, partnerDbs, seedDemoData } = await import('../demo/seed.js');
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
  // Traces when the OpenTelemetry variables ask (docs/tracing.md): the gateway here, each subgraph in its process (they inherit them).
  const tracing = await startGatewayTracing(process.env);
  try {
    // The gateway reads the same variables as npm start, npm run gateway and the images (CORS_ORIGINS, LIMIT_*...).
    const config = loadGatewayConfig({ ...process.env, PARTNERSKAP_DEV: process.env.PARTNERSKAP_DEV || '1' });
    const { development: _development, ...gateway } = gatewayOptionsFrom(config);
    running = await startDev({
      mongodbUri,
      color: process.stdout.isTTY === true && !process.env.NO_COLOR,
      gatewayPort: config.port,
      auth: await authOptionsFrom(config),
      gateway: { ...gateway, ...(tracing.tracer ? { tracer: tracing.tracer } : {}) },
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

Save a subgraph's code or SDL and it restarts; one whose process dies is started again; run npm run
compose and the gateway serves the new supergraph without a restart. Stop with Ctrl-C.`);

  // Should this launcher die of an error, its subgraphs (in their own process groups) go with it.
  let stopped = false;
  process.on('exit', () => {
    if (stopped) return;
    for (const { pid } of Object.values(running.subgraphs)) {
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
      void running
        .stop()
        .then(() => (stopped = true))
        .then(() => tracing.shutdown())
        .then(() => store?.close())
        .then(() => process.exit(0));
    });
  }
}
