import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// A partner's frontend developer runs graphql-codegen against the gateway's URL, as the README
// shows: the CLI (a child process, as they run it) downloads the schema by introspection through
// the limits and CSRF prevention, and generates typed documents for the registered operations
// with the client preset. The output must compile under strict TypeScript as a bundler sees it.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OPERATIONS = join(ROOT, 'operations');
const CLI = join(createRequire(import.meta.url).resolve('@graphql-codegen/cli/package.json'), '..', 'cjs', 'bin.js');

let h: Harness;
let dir: string;

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
  // Under the repository (git-ignored), so the generated code resolves its imports from node_modules.
  mkdirSync(join(ROOT, 'test-output'), { recursive: true });
  dir = mkdtempSync(join(ROOT, 'test-output', 'codegen-'));
}, 120_000);
afterAll(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The operations of `operations/*.graphql`, by name and kind, as the files declare them. */
const operations = readdirSync(OPERATIONS)
  .filter((f) => f.endsWith('.graphql'))
  .flatMap((f) =>
    [...readFileSync(join(OPERATIONS, f), 'utf8').matchAll(/^(query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)/gm)].map((m) => ({ kind: m[1]!, name: m[2]! })),
  );

/** The codegen.ts of docs/frontend.md, with the test gateway's URL, a partner's token (without one: the public contract) and the temp dir for output. */
const codegenConfig = (schema: string, token: string, output: string) => `import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: [{ ${JSON.stringify(schema)}: { headers: { Authorization: ${JSON.stringify(`Bearer ${token}`)} } } }],
  documents: ['operations/*.graphql'],
  generates: {
    ${JSON.stringify(output)}: { preset: 'client' },
  },
};

export default config;
`;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('graphql-codegen against the gateway URL', () => {
  it('generates typed documents for every registered operation, which compile', async () => {
    expect(operations.length).toBeGreaterThan(5);
    const output = join(dir, 'gql') + '/';
    const config = join(dir, 'codegen.ts');
    writeFileSync(config, codegenConfig(h.gateway.url, await h.token({ role: 'directorate' }), output));
    const before = h.log.length;
    const result = await run(['--config', config]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(readdirSync(output).sort()).toEqual(['fragment-masking.ts', 'gql.ts', 'graphql.ts', 'index.ts']);

    const types = readFileSync(join(output, 'graphql.ts'), 'utf8');
    for (const { kind, name } of operations) {
      const suffix = kind === 'query' ? 'Query' : 'Mutation';
      expect(types, name).toContain(`export type ${name}${suffix} = `);
      expect(types, name).toContain(`export type ${name}${suffix}Variables = `);
      expect(types, name).toMatch(new RegExp(`export const ${name}Document = .* as unknown as DocumentNode<${name}${suffix}, ${name}${suffix}Variables>;`));
    }
    // The schema's own types came from introspection (an enum and an input of the graph).
    expect(types).toMatch(/export enum GradeBand \{/);
    expect(types).toMatch(/export type StudyFilter = \{/);

    // What a frontend's strict tsconfig says of the output, resolved as a bundler does.
    const program = ts.createProgram([join(output, 'index.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      skipLibCheck: true,
      types: [],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
    // The gateway logged no error for the CLI's requests.
    expect(h.log.slice(before).filter((e) => e.level === 'error')).toEqual([]);
  }, 120_000);
});

/** `npm run <script> -- <args>` in the repository, as CI runs it; its exit code and output. */
function npmRun(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // The nested tools must not think they run inside this vitest worker.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_ENV'));
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', script, '--', ...args], { cwd: ROOT, env: { ...env, NO_COLOR: '1' }, timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A copy of what `npm run codegen` reads and writes, under `dir` (the contracts, the operations, each subgraph's settings and generated files). */
function copyForCodegen(dir: string): void {
  const files = [
    ...readdirSync(join(ROOT, 'schema'))
      .filter((f) => f.endsWith('.graphql') || f === 'subgraphs.json')
      .map((f) => `schema/${f}`),
    ...readdirSync(OPERATIONS)
      .filter((f) => f.endsWith('.graphql'))
      .map((f) => `operations/${f}`),
    ...readdirSync(join(ROOT, 'subgraphs')).flatMap((w) => [
      `subgraphs/${w}/codegen.json`,
      `subgraphs/${w}/src/partners.graphql`,
      `subgraphs/${w}/src/generated`,
    ]),
    'client/generated',
  ];
  for (const file of files.filter((f) => existsSync(join(ROOT, f)))) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(ROOT, file), join(dir, file), { recursive: true });
  }
}

describe('npm run codegen -- --check', () => {
  it('passes on the committed files, and fails on a contract changed without regenerating, naming the stale file', async () => {
    const copy = join(dir, 'repo');
    copyForCodegen(copy);
    // (A fresh copy passes as the committed files do: the stale run below names only what changed.)
    const here = await npmRun('codegen', ['--check']);
    expect(here, here.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(here.stdout).toMatch(/^the generated types are current \(\d+ files\)$/m);

    // The feedback team adds a field to its contract and forgets npm run codegen.
    const sdl = join(copy, 'schema', 'feedback.graphql');
    const changed = readFileSync(sdl, 'utf8').replace(/^(type Union\b.*\{)$/m, '$1\n  "The union\'s website."\n  website: String');
    expect(changed).toContain('website: String');
    writeFileSync(sdl, changed);
    const stale = await npmRun('codegen', ['--check', '--root', copy]);
    expect(stale.code).toBe(1);
    expect(stale.stderr.trim().split('\n')).toEqual(['subgraphs/feedback/src/generated/resolvers.ts is stale: run npm run codegen']);

    // Regenerating types the new field, and the check passes again.
    const written = await npmRun('codegen', ['--root', copy]);
    expect(written, written.stderr).toMatchObject({ code: 0 });
    expect(written.stdout).toMatch(/^wrote subgraphs\/feedback\/src\/generated\/resolvers\.ts$/m);
    expect(readFileSync(join(copy, 'subgraphs', 'feedback', 'src', 'generated', 'resolvers.ts'), 'utf8')).toMatch(
      /^ {2}website\?: Resolver<Maybe<ResolversTypes\['String'\]>, ParentType, ContextType>;$/m,
    );
    expect(await npmRun('codegen', ['--check', '--root', copy])).toMatchObject({ code: 0 });
  }, 120_000);
});
