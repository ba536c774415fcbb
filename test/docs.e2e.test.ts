import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The docs kept true by the code: every environment variable a service, a launcher or a tool reads
// is in the one table of docs/configuration.md.
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SOURCES = ['gateway/src', 'gateway/bench', 'subgraphs', 'demo', 'embedded-mongo/src', 'schema', 'test/fuzz.e2e.test.ts'];

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
  for (const re of [/\benv\.([A-Z][A-Z0-9_]+)/g, /\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g, /\bintEnv\(env, '([A-Z][A-Z0-9_]+)'/g, /\bread\('([A-Z][A-Z0-9_]+)'/g]) {
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
    for (const path of SOURCES) for (const file of files(path)) for (const name of variablesRead(readFileSync(file, 'utf8'))) read.set(name, relative(ROOT, file));
    // Not configuration: what a process reads of its own surroundings.
    for (const name of ['PATH', 'HOME', 'CI', 'VITEST']) read.delete(name);
    const missing = [...read].filter(([name]) => !documented.has(name)).map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
    expect(read.size).toBeGreaterThan(30);
  });
});
