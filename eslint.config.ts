/**
 * `npm run lint`: typescript-eslint's type-checked rules, and the boundary rule that holds the
 * picture of docs/architecture.md (the table is `tools/architecture.ts`, which
 * `test/architecture.test.ts` checks the real import graph against too). Formatting is Prettier's
 * (`.prettierrc.json`), so every stylistic rule is off (eslint-config-prettier).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import boundaries from 'eslint-plugin-boundaries';
import { importX } from 'eslint-plugin-import-x';
import { type ESLint, type Linter } from 'eslint';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { LAYERS } from './tools/architecture.js';

const ROOT = fileURLToPath(new URL('.', import.meta.url));

// The package's types describe an ES module's default export; what Node loads is its CommonJS
// `module.exports`, which is the plugin itself.
const boundariesPlugin = boundaries as unknown as ESLint.Plugin;

/** The workspaces' folders, from the root package.json. */
const WORKSPACES = (JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8')) as { workspaces: string[] }).workspaces;

/** Not production code: the tests, wherever they are, and the benchmarks. */
const TESTS = ['test/**', '**/*.test.ts', '**/test/**', 'bench/**'];

/**
 * Each folder of the table as a boundaries element (a subgraph captures its name, so that it may
 * import itself and no other), and the root's own files (`.`) as a file category: an element is a folder.
 */
const elements = LAYERS.filter((l) => l.folder !== '.').map((l) => ({
  type: l.name,
  pattern: l.folder,
  partialMatch: false,
  ...(l.folder.includes('*') ? { capture: ['name'] } : {}),
}));
const files = LAYERS.filter((l) => l.folder === '.').map((l) => ({ category: l.name, pattern: '*.ts' }));

/**
 * What each layer may import, as boundaries policies: the layers of its row. Imports inside one
 * element (one folder of the table, one subgraph) are not checked: boundaries calls them internal.
 */
const policies = LAYERS.filter((l) => l.mayImport.length > 0).map((l) => ({
  from: l.folder === '.' ? { file: { categories: l.name } } : { element: { type: l.name } },
  allow: { to: { element: { types: { anyOf: [...l.mayImport] } } } },
}));

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '**/dist/',
    '.data/',
    'coverage/',
    'test-output/',
    // Hidden folders: scratch copies and tools' state, never sources.
    '**/.*/',
    // Generated: GraphQL Code Generator's output, the client kit (npm run client-kit), the bench's bundle.
    '**/generated/',
    'client/',
    'bench/.serve.bundle.mjs',
    '**/*.tmpl',
  ]),
  js.configs.recommended,

  // The browser pages' scripts: plain JavaScript served as they are, with the browser's globals.
  {
    files: ['gateway/explorer/*.js', 'gateway/insights/*.js'],
    // The libraries the pages load with their own <script> tags (node_modules, served by the gateway).
    languageOptions: {
      globals: { ...globals.browser, React: 'readonly', ReactDOM: 'readonly', GraphiQL: 'readonly', Chart: 'readonly' },
      sourceType: 'script',
    },
  },

  // TypeScript, type-aware: one program from the root tsconfig.json.
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: ROOT },
      globals: globals.node,
    },
    plugins: { boundaries: boundariesPlugin, 'import-x': importX },
    settings: {
      'boundaries/elements': elements,
      'boundaries/files': files,
      'boundaries/root-path': ROOT,
      'boundaries/legacy-templates': false,
      // How boundaries resolves an import to a file: `.js` specifiers to their `.ts`, a workspace's name to its folder.
      'import/resolver': { typescript: { project: 'tsconfig.json' } },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // The house style: `import { type X }`.
      // (`typeof import('x')` stays allowed: it types a module loaded with `createRequire`.)
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      // Off: an `async` method without `await` is how a Promise-returning hook is written here (Apollo's
      // plugin hooks, resolvers); dropping `async` would turn its throw into a synchronous one.
      '@typescript-eslint/require-await': 'off',
      'no-restricted-syntax': [
        'error',
        { selector: 'TSAsExpression > TSNeverKeyword', message: '`as never` silences the type checker: give the value its type' },
      ],

      // docs/architecture.md, rules 1 to 3 and 5: a folder imports only what its row allows.
      'boundaries/dependencies': ['error', { default: 'disallow', checkUnknownLocals: true, policies }],
      // Rule 4: another workspace by its package name only, declared in the importing workspace's package.json.
      'import-x/no-relative-packages': 'error',
      'import-x/no-extraneous-dependencies': ['error', { includeInternal: true, includeTypes: true, devDependencies: false }],
    },
  },

  // A workspace's production code uses its own dependencies; the programs at the root (tools, demo,
  // launcher, bench, test) the root's, where everything is a devDependency (the root is never deployed).
  {
    files: ['**/*.ts'],
    ignores: WORKSPACES.map((w) => `${w}/**`),
    rules: { 'import-x/no-extraneous-dependencies': ['error', { includeInternal: true, includeTypes: true, devDependencies: true }] },
  },
  // A workspace's own tests may use its devDependencies and the root's test tools (vitest, fast-check).
  ...WORKSPACES.map((w): Linter.Config => ({
    files: [`${w}/**/*.test.ts`, `${w}/test/**`],
    rules: {
      'import-x/no-extraneous-dependencies': ['error', { includeInternal: true, includeTypes: true, devDependencies: true, packageDir: [`${ROOT}${w}`, ROOT] }],
    },
  })),

  // The tests and the benchmarks are looser: they build fixtures and fakes by hand, and read answers
  // (JSON bodies, driver results) whose shape the assertion itself checks.
  {
    files: TESTS,
    rules: {
      // A fake standing in for a driver or a server object is cast where its full type would be noise.
      'no-restricted-syntax': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // `(await res.json()).data.x`: an answer is `any` until the assertion checks it.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `expect(store.close).toHaveBeenCalled()` passes a method without calling it.
      '@typescript-eslint/unbound-method': 'off',
      // A fake shows what it was given (`String(init.body)`), whatever it is.
      '@typescript-eslint/no-base-to-string': 'off',
      // `child.once('exit', async () => ...)` in a helper: a rejection there fails the test all the same.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },

  prettier,
);
