import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { memoryLogger } from '@partnerskap/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevSupergraph } from './harness.js';

const run = promisify(execFile);

// The docs kept true by the code: every environment variable a service, a launcher or a tool reads
// is in the one table of docs/configuration.md, and the shell commands the pages mark for it run
// against a supergraph as npm start runs it (the address 127.0.0.1:4000 replaced by its own).
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SOURCES = ['common/src', 'gateway/src', 'bench', 'tools', 'launcher', 'subgraphs', 'demo', 'embedded-mongo/src', 'test/fuzz.e2e.test.ts'];

/** Every .ts file below a path (tests and node_modules left out, unless named). */
function files(path: string): string[] {
  const full = join(ROOT, path);
  if (statSync(full).isFile()) return [full];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules') return [];
    const child = join(path, entry.name);
    if (entry.isDirectory()) return files(child);
    return /\.ts(\.tmpl)?$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [join(ROOT, child)] : [];
  });
}

/** The variables a source reads: `env.X`, `env['X']`, and the loaders' `intEnv(env, 'X'`, `read('X'`; `GATEWAY_SECRET_${…}` and `${…}_URL` by their pattern. */
function variablesRead(text: string): string[] {
  const found = new Set<string>();
  for (const re of [
    /\benv\.([A-Z][A-Z0-9_]+)/g,
    /\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g,
    /\bintEnv\(env, '([A-Z][A-Z0-9_]+)'/g,
    /\bread\('([A-Z][A-Z0-9_]+)'/g,
  ]) {
    for (const m of text.matchAll(re)) found.add(m[1]!);
  }
  if (/GATEWAY_SECRET_\$\{/.test(text)) found.add('GATEWAY_SECRET_<NAME>');
  if (/\$\{envName\([^)]*\)\}_URL/.test(text)) found.add('<NAME>_URL');
  return [...found];
}

describe('docs/configuration.md', () => {
  const table = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');
  const documented = new Set([...table.matchAll(/^\| (`[^|]+`) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`([^`]+)`/g)].map((n) => n[1]!)));

  it('names every variable the code reads', () => {
    const read = new Map<string, string>();
    for (const path of SOURCES)
      for (const file of files(path)) for (const name of variablesRead(readFileSync(file, 'utf8'))) read.set(name, relative(ROOT, file));
    // Not configuration: what a process reads of its own surroundings.
    for (const name of ['PATH', 'HOME', 'CI', 'VITEST']) read.delete(name);
    const missing = [...read].filter(([name]) => !documented.has(name)).map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
    expect(read.size).toBeGreaterThan(30);
  });
});

/** The fenced shell blocks of README.md and docs/*.md marked `<!-- docs-test: run -->` on the line before. */
function markedBlocks(): { file: string; script: string }[] {
  const pages = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  return pages.flatMap((file) =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(/<!-- docs-test: run -->\n```sh\n([\s\S]*?)```/g)].map((m) => ({ file, script: m[1]! })),
  );
}

describe('the commands the docs mark for it', () => {
  const blocks = markedBlocks();
  let running: Awaited<ReturnType<typeof startDevSupergraph>> | undefined;

  beforeAll(async () => {
    // As npm start runs it: the development key (npm run token signs with it), the demo data.
    running = await startDevSupergraph('docs', { gateway: { logger: memoryLogger() } });
  }, 120_000);
  afterAll(async () => {
    await running?.close();
  });

  it("are there: the README's token and query among them", () => {
    expect(blocks.map((b) => b.file)).toEqual(expect.arrayContaining(['README.md', 'docs/frontend.md', 'docs/operations.md']));
  });

  // Each block is a shell of its own against the same read-only gateway: side by side.
  it.concurrent.for(markedBlocks().map((b, i) => [`${b.file} #${i + 1}`, b] as const))(
    '%s runs, against a gateway of its own, and answers data without errors',
    { timeout: 90_000 },
    async ([, { script }], { expect }) => {
      const address = new URL(running!.gateway.url).host;
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script.replaceAll('127.0.0.1:4000', address)], {
        cwd: ROOT,
        timeout: 60_000,
        env: { ...process.env, LOG_LEVEL: 'silent' },
      });
      const answer = JSON.parse(stdout) as { data?: unknown; errors?: unknown };
      expect(answer.errors, stdout).toBeUndefined();
      expect(answer.data).toBeTruthy();
    },
  );
});
