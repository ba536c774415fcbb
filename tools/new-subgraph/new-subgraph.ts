/**
 * `npm run new-subgraph -- <name> [--port <n>] [--description "<text>"]`: a new partner subgraph
 * from the template in this folder (real files with `__placeholders__`, suffixed `.tmpl` so that
 * neither tsc nor vitest nor the source scans take them for project sources), registered in
 * `schema/subgraphs.json` and the root workspaces, with its resolvers' types generated from its
 * contract (`npm run codegen` for it alone). It never touches `schema/supergraph.graphql`:
 * composing is the partner's next, deliberate step.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { codegenFiles, writeFiles } from '../codegen/codegen.js';
import { type RegisteredSubgraph, compose, readRegistry, unacceptedHints } from '../schema/compose.js';

const TEMPLATE_DIR = fileURLToPath(new URL('./', import.meta.url));
/** The repository this generator belongs to: the default target, and where the versions to pin are read. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Names that would collide with a folder, a package, another deployable (`npm run build`: gateway, seed) or a word of the supergraph. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'kit',
  'common',
  'template',
  'gateway',
  'launcher',
  'bench',
  'tools',
  'seed',
  'schema',
  'supergraph',
  'demo',
  'test',
  'tests',
  'operations',
  'embedded-mongo',
  'mongo',
  'store',
  'dist',
  'partnerskap',
  'graphql',
  'query',
  'mutation',
  'subscription',
  'federation',
  'join',
  'link',
  'service',
  'services',
  'all',
  'dev',
  'new',
]);

/** The longest name accepted (it becomes type names, a database name and an environment variable prefix). */
export const MAX_NAME_LENGTH = 30;

/** Ports the local supergraph uses for other things: the gateway and the embedded store. */
const OTHER_PORTS: Readonly<Record<number, string>> = { 4000: 'the gateway', 27017: 'the embedded store' };

/** Options of {@link createSubgraph}. */
export interface NewSubgraphOptions {
  /** Lowercase letters, digits and dashes, starting with a letter: `mentoring`, `study-guidance`. */
  name: string;
  /** Its local port (default: the first after the registry's highest that nothing else uses). */
  port?: number;
  /** One line on what the partner's slice holds (default: a placeholder to replace). */
  description?: string;
  /** The repository to write into (default this one; the tests use a copy). */
  root?: string;
}

/** What {@link createSubgraph} did. */
export interface NewSubgraph {
  name: string;
  port: number;
  url: string;
  /** Files created, relative to the root. */
  created: string[];
  /** Files changed, relative to the root. */
  changed: string[];
}

/** Why a name is refused, or undefined when it is fine (the registry's names are taken). */
export function nameProblem(name: string, registry: readonly RegisteredSubgraph[]): string | undefined {
  if (!name) return 'Give the new subgraph a name: npm run new-subgraph -- <name>';
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) {
    return `"${name}" is not a valid subgraph name: use lowercase letters, digits and single dashes, starting with a letter and not ending with a dash (as "mentoring" or "study-guidance")`;
  }
  if (name.length > MAX_NAME_LENGTH) return `"${name}" is too long: at most ${MAX_NAME_LENGTH} characters`;
  if (RESERVED_NAMES.has(name)) return `"${name}" is reserved (a folder, package or supergraph word of the repository): choose another name`;
  if (registry.some((s) => s.name === name)) return `"${name}" is taken: schema/subgraphs.json registers it already`;
  return undefined;
}

/** The port of a registered subgraph's local URL. */
const portOf = (url: string): number => Number(new URL(url).port || 80);

/** The first port after the registry's highest that no subgraph, the gateway or the store uses. */
export function nextPort(registry: readonly RegisteredSubgraph[]): number {
  const used = new Set(registry.map((s) => portOf(s.url)));
  let port = Math.max(4000, ...used) + 1;
  while (used.has(port) || OTHER_PORTS[port]) port++;
  return port;
}

/** `study-guidance` as `StudyGuidance` (types) and `studyGuidance` (fields, variables). */
function cases(name: string): { pascal: string; camel: string } {
  const pascal = name
    .split('-')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
  return { pascal, camel: pascal[0]!.toLowerCase() + pascal.slice(1) };
}

/** Every template file, relative to this folder (the generator itself is not one). */
function templateFiles(dir = TEMPLATE_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return templateFiles(path);
    return entry.name.endsWith('.tmpl') ? [relative(TEMPLATE_DIR, path)] : [];
  });
}

/** Where a template file goes in the repository: the SDL to `schema/`, the rest to `subgraphs/<name>/`. */
function targetOf(file: string, name: string): string {
  const path = file.replace(/\.tmpl$/, '').replaceAll('__name__', name);
  return path === 'schema.graphql' ? join('schema', `${name}.graphql`) : join('subgraphs', name, path);
}

/** A control character (a newline, a tab, DEL): none belongs in a one-line description. */
const isControl = (c: string): boolean => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;

/** The registry file, written as the repository keeps it: one subgraph a line. */
function registryText(file: string, registry: readonly RegisteredSubgraph[]): string {
  const current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const entry = (s: RegisteredSubgraph) =>
    `{ ${Object.entries(s)
      .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
      .join(', ')} }`;
  const lines = Object.keys({ ...current, subgraphs: null }).map((key) =>
    key === 'subgraphs'
      ? `  "subgraphs": [\n${registry.map((s) => `    ${entry(s)}`).join(',\n')}\n  ]`
      : `  ${JSON.stringify(key)}: ${JSON.stringify(current[key])}`,
  );
  return `{\n${lines.join(',\n')}\n}\n`;
}

/** The root package.json with the new workspace after the other subgraphs. */
function withWorkspace(text: string, workspace: string): string {
  const pkg = JSON.parse(text) as { workspaces?: string[] };
  const workspaces = pkg.workspaces ?? [];
  if (workspaces.includes(workspace)) return text;
  const last = workspaces.findLastIndex((w) => w.startsWith('subgraphs/'));
  workspaces.splice(last + 1, 0, workspace);
  pkg.workspaces = workspaces;
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** A subgraph's name in environment variables, as the gateway reads them: `in-service` → `IN_SERVICE`. */
const envName = (name: string): string => name.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/** Inserts `text` after the last line matching `pattern` inside the gateway service's block, or fails loudly. */
function afterLastInGateway(source: string, pattern: RegExp, text: string, what: string): string {
  const lines = source.split('\n');
  const start = lines.indexOf('  gateway:');
  let end = lines.findIndex((line, i) => i > start && /^ {0,2}[^\s#]/.test(line));
  if (end < 0) end = lines.length;
  let at = -1;
  for (let i = start + 1; i < end; i++) if (pattern.test(lines[i]!)) at = i;
  if (start < 0 || at < 0) throw new Error(`docker-compose.yml has no ${what} on the gateway to add the new subgraph next to: add it by hand`);
  lines.splice(at + 1, 0, text);
  return lines.join('\n');
}

/**
 * docker-compose.yml with the new subgraph: a service like the others (its database, its secret,
 * the gateway for cross-partner rules), its URL and secret on the gateway, and the gateway waiting
 * for it. test/compose-file.int.test.ts checks the result like the rest of the file.
 */
export function withComposeService(source: string, name: string, port: number): string {
  const env = envName(name);
  const secret = `\${GATEWAY_SECRET_${env}:?set GATEWAY_SECRET_${env} in .env (openssl rand -base64 32)}`;
  const service = [
    `  ${name}:`,
    '    <<: *subgraph',
    '    build:',
    '      context: .',
    '      target: subgraph',
    '      args:',
    `        SUBGRAPH: ${name}`,
    `        PORT: "${port}"`,
    '    environment:',
    // Its traces go where the others' go (docker-compose.yml's x-tracing, docs/tracing.md).
    '      <<: *tracing',
    '      MONGODB_URI: mongodb://mongo:27017/?replicaSet=rs0',
    `      MONGODB_DB: partnerskap_${name}`,
    `      GATEWAY_SECRET: ${secret}`,
    '      SUPERGRAPH_URL: http://gateway:4000/',
    '',
  ].join('\n');
  if (!/^ {2}gateway:$/m.test(source)) throw new Error('docker-compose.yml has no gateway service to add the new subgraph before: add it by hand');
  let out = source.replace(/^ {2}gateway:$/m, `${service}  gateway:`);
  out = afterLastInGateway(out, /^ {6}[A-Z0-9_]+_URL: http:\/\/[a-z0-9-]+:\d+\/graphql$/, `      ${env}_URL: http://${name}:${port}/graphql`, 'subgraph URL');
  out = afterLastInGateway(out, /^ {6}GATEWAY_SECRET_[A-Z0-9_]+: /, `      GATEWAY_SECRET_${env}: ${secret}`, 'secret');
  out = afterLastInGateway(out, /^ {8}condition: service_healthy$/, `      ${name}:\n        condition: service_healthy`, 'depends_on');
  return out;
}

/** .env.example with the new subgraph's secret next to the others'. */
export function withEnvSecret(source: string, name: string): string {
  const lines = source.split('\n');
  const at = lines.findLastIndex((line) => /^GATEWAY_SECRET_[A-Z0-9_]+=/.test(line));
  lines.splice(at < 0 ? lines.length : at + 1, 0, `GATEWAY_SECRET_${envName(name)}=`);
  return lines.join('\n');
}

/**
 * Creates a subgraph from the template: validates everything first (name, port, description,
 * that the new contract composes with the registered ones without an unaccepted hint), then writes
 * its SDL, its package and its registration; if a write fails, what was written is removed again.
 */
export function createSubgraph(options: NewSubgraphOptions): NewSubgraph {
  const root = resolve(options.root ?? REPO_ROOT);
  const registryFile = join(root, 'schema', 'subgraphs.json');
  const registry = readRegistry(registryFile);
  const { name } = options;
  const problem = nameProblem(name, registry);
  if (problem) throw new Error(problem);
  for (const path of [join('subgraphs', name), join('schema', `${name}.graphql`)]) {
    if (existsSync(join(root, path))) throw new Error(`"${name}" is taken: ${path} exists already (remove it, or choose another name)`);
  }
  const port = options.port ?? nextPort(registry);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) throw new Error(`--port must be a whole number from 1024 to 65535, got ${port}`);
  const holder = registry.find((s) => portOf(s.url) === port)?.name ?? OTHER_PORTS[port];
  if (holder) throw new Error(`port ${port} is taken by ${holder}: choose another with --port, or leave it out for the next free one (${nextPort(registry)})`);
  const description = (options.description ?? `The ${name} partner's slice of the graph (describe it here).`).trim();
  if (!description || description.length > 200 || [...description].some(isControl)) throw new Error('--description must be one line of 1 to 200 characters');

  const { pascal, camel } = cases(name);
  const pkg = (dir: string) =>
    JSON.parse(readFileSync(join(REPO_ROOT, dir, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
  // The exact versions every subgraph pins, copied from the smallest real one, so they never drift apart.
  const store = pkg('embedded-mongo');
  const values: Record<string, string> = {
    name,
    Name: pascal,
    camel,
    port: String(port),
    description,
    descriptionJson: JSON.stringify(description),
    dependencies: JSON.stringify(pkg('subgraphs/feedback').dependencies),
    devDependencies: JSON.stringify({ [store.name]: store.version }),
  };
  const rendered = templateFiles().map((file) => {
    const text = readFileSync(join(TEMPLATE_DIR, file), 'utf8').replace(/__([A-Za-z]+)__/g, (whole, key: string) => values[key] ?? whole);
    const left = /__(name|Name|camel|port|description|descriptionJson|dependencies|devDependencies)__/.exec(text);
    if (left) throw new Error(`the template ${file} kept a placeholder: ${left[0]}`);
    const target = targetOf(file, name);
    // package.json is rendered from JSON fragments: parse it and write it as npm does.
    return { target, text: target.endsWith('package.json') ? `${JSON.stringify(JSON.parse(text), null, 2)}\n` : text };
  });

  const url = `http://127.0.0.1:${port}/graphql`;
  const newRegistry = [...registry, { name, url }];
  const sdl = rendered.find((f) => f.target === join('schema', `${name}.graphql`))!.text;
  const composed = compose((n) => (n === name ? sdl : readFileSync(join(root, 'schema', `${n}.graphql`), 'utf8')), newRegistry);
  const hints = unacceptedHints(composed.hints);
  if (composed.errors.length > 0 || hints.length > 0) {
    throw new Error(
      `the ${name} contract would not compose with the registered subgraphs:\n- ${[...composed.errors, ...hints.map((h) => `hint ${h.code}: ${h.message}`)].join('\n- ')}`,
    );
  }

  const packageFile = join(root, 'package.json');
  // The deployment files, where the repository has them: a service like the others, and the gateway's URL and secret for it.
  const composeFile = join(root, 'docker-compose.yml');
  const envFile = join(root, '.env.example');
  const deployment = [composeFile, envFile].filter((f) => existsSync(f));
  const originals = new Map([registryFile, packageFile, ...deployment].map((f) => [f, readFileSync(f, 'utf8')]));
  const created: string[] = [];
  try {
    for (const file of rendered) {
      mkdirSync(dirname(join(root, file.target)), { recursive: true });
      writeFileSync(join(root, file.target), file.text, { flag: 'wx' });
      created.push(file.target);
    }
    writeFileSync(registryFile, registryText(registryFile, newRegistry));
    writeFileSync(packageFile, withWorkspace(originals.get(packageFile)!, `subgraphs/${name}`));
    if (originals.has(composeFile)) writeFileSync(composeFile, withComposeService(originals.get(composeFile)!, name, port));
    if (originals.has(envFile)) writeFileSync(envFile, withEnvSecret(originals.get(envFile)!, name));
  } catch (err) {
    for (const [file, text] of originals) writeFileSync(file, text);
    rmSync(join(root, 'subgraphs', name), { recursive: true, force: true });
    rmSync(join(root, 'schema', `${name}.graphql`), { force: true });
    throw err;
  }
  return { name, port, url, created, changed: ['schema/subgraphs.json', 'package.json', ...deployment.map((f) => relative(root, f))] };
}

/** What to do next, printed after a subgraph is created. */
export function nextSteps(made: NewSubgraph): string {
  const { camel } = cases(made.name);
  const steps: [string, string][] = [
    [`npx vitest run subgraphs/${made.name}`, 'its own tests (a unit and an integration test): green as generated'],
    [`edit schema/${made.name}.graphql`, `the contract first, then subgraphs/${made.name}/src/ (store, loaders, resolvers)`],
    ['npm run codegen', `the resolvers' types from the contract again (src/generated/resolvers.ts: commit it)`],
    [`npm run schema:check -- ${made.name}`, 'what the contract does to the graph, and whether that is safe'],
    ['npm run compose', 'adds it to schema/supergraph.graphql: commit that file with the rest'],
    ['npm run dev', `the local supergraph, ${made.name} on port ${made.port}; ask http://127.0.0.1:4000/ for`],
  ];
  const width = Math.max(...steps.map(([command]) => command.length));
  return [
    `Created the ${made.name} subgraph (local port ${made.port}):`,
    ...[...made.created].sort((a, b) => Number(b.startsWith('schema')) - Number(a.startsWith('schema')) || a.localeCompare(b)).map((f) => `  + ${f}`),
    `  ~ schema/subgraphs.json   registered, composed after the others`,
    `  ~ package.json            the workspace subgraphs/${made.name}`,
    '',
    'Next steps:',
    ...steps.map(([command, why], i) => `  ${i + 1}. ${command.padEnd(width)}   ${why}`),
    `       { studies(first: 3) { edges { node { id name ${camel}NoteCount } } } }`,
  ].join('\n');
}

const USAGE = 'usage: npm run new-subgraph -- <name> [--port <n>] [--description "<text>"] [--root <dir>] [--skip-install]';

/** Generates the new subgraph's resolver types from its contract (what `npm run codegen` writes for it); the files written. */
export async function generateTypes(made: NewSubgraph, root = REPO_ROOT): Promise<string[]> {
  return writeFiles(await codegenFiles({ root, only: [made.name] }), resolve(root));
}

/** The command line: creates the subgraph and its types, prints the next steps, links the workspace; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { port: { type: 'string' }, description: { type: 'string' }, root: { type: 'string' }, 'skip-install': { type: 'boolean' } },
      allowPositionals: true,
    });
    if (parsed.positionals.length > 1) throw new Error(`one name at a time, got ${parsed.positionals.join(', ')}`);
    if (parsed.values.port !== undefined && !/^\d{1,5}$/.test(parsed.values.port))
      throw new Error(`--port must be a whole number from 1024 to 65535, got "${parsed.values.port}"`);
  } catch (err) {
    console.error(`new-subgraph: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  let made: NewSubgraph;
  try {
    made = createSubgraph({
      name: positionals[0] ?? '',
      ...(values.port !== undefined ? { port: Number(values.port) } : {}),
      ...(values.description !== undefined ? { description: values.description } : {}),
      ...(values.root !== undefined ? { root: values.root } : {}),
    });
  } catch (err) {
    console.error(`new-subgraph: ${(err as Error).message}`);
    return 1;
  }
  try {
    made.created.push(...(await generateTypes(made, values.root ?? REPO_ROOT)));
  } catch (err) {
    console.error(
      `new-subgraph: the resolvers' types could not be generated (${(err as Error).message}); the files are in place: run npm run codegen once the cause is fixed`,
    );
    return 1;
  }
  console.log(nextSteps(made));
  if (values['skip-install']) return 0;
  console.log('\nLinking the new workspace: npm install --no-audit --no-fund');
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: resolve(values.root ?? REPO_ROOT), stdio: 'inherit' });
  if (install.status !== 0) {
    console.error('new-subgraph: npm install failed; the files are in place: run npm install again once the cause is fixed');
    return 1;
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exit(await main(process.argv.slice(2)));
