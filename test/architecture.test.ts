import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { type Place, LAYERS, mayImport, placeOf } from '../tools/architecture.js';
import { externalThirdParty, listDeployables } from '../tools/build.js';

// docs/architecture.md held twice: ESLint's boundary rules (eslint.config.ts) refuse an import that
// runs uphill, sideways or by path into another workspace, and the real import graph of the tree,
// drawn here without ESLint, is checked against the same table (tools/architecture.ts). The rules
// are tried here on snippets placed at real paths (without the type-aware rules, which they do not
// need); `npm run lint` over the whole tree runs in CI (.ci/run) and in test/scripts.e2e.test.ts.
const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface PackageJson {
  name: string;
  workspaces?: string[];
  exports?: Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const readJson = (path: string): PackageJson => JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as PackageJson;
const rootPackage = readJson('package.json');
/** Each workspace's folder and package.json, by folder. */
const workspaces = new Map((rootPackage.workspaces ?? []).map((folder) => [folder, readJson(`${folder}/package.json`)] as const));
const workspaceByName = new Map([...workspaces].map(([folder, pkg]) => [pkg.name, folder] as const));

/** The workspace folder a path is in, or `.` for the root's programs. */
const packageOf = (path: string): string => [...workspaces.keys()].find((folder) => path.startsWith(`${folder}/`)) ?? '.';
const isTest = (path: string): boolean =>
  /\.test\.ts$/.test(path) || path.startsWith('test/') || path.startsWith('bench/') || /^[^/]+(\/[^/]+)?\/test\//.test(path);

/** The packages a file may import: its workspace's dependencies; a test also its devDependencies and the root's; the root's programs every one the root declares. */
function declared(path: string): Set<string> {
  const names = (pkg: PackageJson, dev: boolean) => [
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    ...(dev ? Object.keys(pkg.devDependencies ?? {}) : []),
  ];
  const folder = packageOf(path);
  if (folder === '.') return new Set(names(rootPackage, true));
  const own = workspaces.get(folder)!;
  return new Set([own.name, ...names(own, isTest(path)), ...(isTest(path) ? names(rootPackage, true) : [])]);
}

/** `@scope/name/sub` → [`@scope/name`, `./sub`]. */
function splitSpecifier(specifier: string): [string, string] {
  const parts = specifier.split('/');
  const n = specifier.startsWith('@') ? 2 : 1;
  return [parts.slice(0, n).join('/'), parts.length > n ? `./${parts.slice(n).join('/')}` : '.'];
}

/** A relative specifier as the file it names (`.js` written for a `.ts` source, as NodeNext has it). */
function resolveRelative(from: string, specifier: string): string | undefined {
  const target = normalize(join(dirname(from), specifier));
  for (const candidate of [target.replace(/\.js$/, '.ts'), target, `${target}.ts`, join(target, 'index.ts')]) {
    if (existsSync(join(ROOT, candidate))) return candidate;
  }
  return undefined;
}

/** Every import of one file that breaks a rule of docs/architecture.md, as `file → specifier: why`. */
function violations(file: string): string[] {
  const found: string[] = [];
  const from = placeOf(file);
  const say = (specifier: string, why: string) => found.push(`${file} → ${specifier}: ${why}`);
  const check = (specifier: string, to: Place | undefined) => {
    if (!from || !to) say(specifier, 'outside every folder of the table');
    else if (!mayImport(from, to)) say(specifier, `${from.layer} may not import ${to.layer}`);
  };
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  for (const { fileName: specifier } of importedFiles) {
    if (specifier.startsWith('.')) {
      const target = resolveRelative(file, specifier);
      if (!target) {
        say(specifier, 'resolves to no file');
        continue;
      }
      if (packageOf(target) !== packageOf(file)) say(specifier, 'a relative path into another workspace (rule 4: by its package name)');
      check(specifier, placeOf(target));
      continue;
    }
    if (specifier.startsWith('node:') || isBuiltin(specifier)) continue;
    const [name, subpath] = splitSpecifier(specifier);
    if (!declared(file).has(name)) say(specifier, `${name} is not declared in the package.json of ${packageOf(file)}`);
    const folder = workspaceByName.get(name);
    if (folder === undefined) continue;
    const target = workspaces.get(folder)!.exports?.[subpath];
    if (!target) {
      say(specifier, `${name} does not export ${subpath}`);
      continue;
    }
    check(specifier, placeOf(join(folder, target)));
  }
  return found;
}

/** The tracked TypeScript files (those deleted in the work tree left out). */
const trackedSources = (): string[] =>
  execFileSync('git', ['ls-files', '*.ts'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && existsSync(join(ROOT, f)));

describe('the import graph of the tree', () => {
  it('has every tracked source in a folder of the table', () => {
    expect(trackedSources().filter((f) => !placeOf(f))).toEqual([]);
  });

  it('runs downhill only, into another workspace by its exported package name, each package declared where it is imported', () => {
    const files = trackedSources();
    expect(files.length).toBeGreaterThan(250);
    expect(files.flatMap(violations)).toEqual([]);
  });

  it('is checked: an uphill, a sideways and a relative import into a workspace are found', () => {
    // The checker itself on made-up edges, so that an empty list above means something.
    expect(mayImport(placeOf('gateway/src/x.ts')!, placeOf('subgraphs/kit/src/x.ts')!)).toBe(false);
    expect(mayImport(placeOf('subgraphs/plans/src/x.ts')!, placeOf('subgraphs/admissions/src/x.ts')!)).toBe(false);
    expect(mayImport(placeOf('subgraphs/plans/src/x.ts')!, placeOf('subgraphs/plans/src/y.ts')!)).toBe(true);
    expect(mayImport(placeOf('common/src/x.ts')!, placeOf('subgraphs/kit/src/x.ts')!)).toBe(false);
    expect(mayImport(placeOf('bench/x.ts')!, placeOf('launcher/x.ts')!)).toBe(true);
    expect(mayImport(placeOf('launcher/x.ts')!, placeOf('bench/x.ts')!)).toBe(false);
    expect(mayImport(placeOf('eslint.config.ts')!, placeOf('tools/architecture.ts')!)).toBe(true);
    expect(placeOf('subgraphs/kit/src/x.ts')).toEqual({ layer: 'kit', folder: 'subgraphs/kit' });
    expect(placeOf('subgraphs/plans/src/x.ts')).toEqual({ layer: 'subgraph', folder: 'subgraphs/plans' });
    expect(placeOf('docs/x.ts')).toBeUndefined();
  });

  it('names every folder of the table in docs/architecture.md', () => {
    const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    for (const layer of LAYERS.filter((l) => l.folder !== '.')) expect(doc).toContain(`| \`${layer.folder.replace('*', '<name>')}/\` |`);
  });
});

describe('the deployables', () => {
  // What `npm run build` bundles: the modules each bundle reaches, by esbuild's own resolution.
  it('bundle none of the programs on top (tools, launcher, bench, test)', async () => {
    const reached = await Promise.all(
      listDeployables().map(async (d) => {
        const result = await build({
          entryPoints: [join(ROOT, d.entry)],
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node20',
          write: false,
          absWorkingDir: ROOT,
          outfile: join(ROOT, 'dist', `${d.name}.mjs`),
          plugins: [externalThirdParty],
          metafile: true,
          logLevel: 'silent',
        });
        return Object.keys(result.metafile.inputs).map((input) => `${d.name}: ${relative(ROOT, join(ROOT, input))}`);
      }),
    );
    const inputs = reached.flat();
    expect(inputs.length).toBeGreaterThan(100);
    expect(inputs.filter((line) => ['tools', 'launcher', 'bench', 'test'].includes(placeOf(line.split(': ')[1]!)?.layer ?? ''))).toEqual([]);
  }, 60_000);
});

/** The problems ESLint finds in a snippet placed at a path, as `rule` ids (the boundary rules need no types: the type-aware ones are off here). */
async function lintSnippet(eslint: ESLint, filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  return result!.messages.map((m) => m.ruleId ?? m.message).sort();
}

describe('the lint configuration (eslint.config.ts)', () => {
  it('is ESLint over the tree with no warning allowed, then Prettier, and CI runs it', () => {
    expect(rootPackage.scripts?.lint).toBe('eslint . --max-warnings 0 && prettier --check .');
    expect(rootPackage.scripts?.format).toBe('prettier --write .');
    expect(readFileSync(join(ROOT, '.ci/run'), 'utf8')).toMatch(/^npm run lint \|\| /m);
  });

  const snippets = new ESLint({ cwd: ROOT, overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }] });
  const imports = (specifier: string) => `import { a } from '${specifier}';\nexport const b = a;\n`;

  it.each([
    ['gateway/src/x.ts', '@partnerskap/kit', ['boundaries/dependencies', 'import-x/no-extraneous-dependencies']],
    ['subgraphs/plans/src/x.ts', '@partnerskap/admissions', ['boundaries/dependencies', 'import-x/no-extraneous-dependencies']],
    ['subgraphs/kit/src/x.ts', '../../../test/net.js', ['boundaries/dependencies', 'import-x/no-relative-packages']],
    ['common/src/x.ts', '@partnerskap/kit', ['boundaries/dependencies', 'import-x/no-extraneous-dependencies']],
    ['demo/x.ts', '../launcher/start.js', ['boundaries/dependencies']],
    ['launcher/x.ts', '../bench/workload.js', ['boundaries/dependencies']],
    ['test/x.ts', '../gateway/src/log.js', ['import-x/no-relative-packages']],
    ['gateway/src/x.ts', 'dataloader', ['import-x/no-extraneous-dependencies']],
  ])('refuses %s importing %s', async (filePath, specifier, rules) => {
    expect(await lintSnippet(snippets, filePath, imports(specifier))).toEqual(rules);
  });

  it.each([
    ['subgraphs/plans/src/x.ts', '@partnerskap/kit'],
    ['subgraphs/plans/src/x.ts', './store.js'],
    ['gateway/src/x.ts', '@partnerskap/common'],
    ['test/x.ts', '@partnerskap/plans/figures'],
    ['bench/x.ts', '../launcher/supergraph.js'],
  ])('allows %s importing %s', async (filePath, specifier) => {
    expect(await lintSnippet(snippets, filePath, imports(specifier))).toEqual([]);
  });

  it('refuses `as never` and `any` in production code; a test may use both', async () => {
    const code = 'export const f = (x: unknown) => x as never;\nexport const g = (x: any) => x as string;\n';
    expect(await lintSnippet(snippets, 'gateway/src/x.ts', code)).toEqual(['@typescript-eslint/no-explicit-any', 'no-restricted-syntax']);
    expect(await lintSnippet(snippets, 'test/x.ts', code)).toEqual([]);
  });
});
