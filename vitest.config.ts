import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// One graphql for the whole run. graphql 16 has no `exports` map: Node gives every `require` and
// `import` its `main`, the CommonJS build, as Apollo's CommonJS packages require it. Vite would
// resolve our `import 'graphql'` by its `module` field to the ES build instead: a second copy, whose
// `instanceof` checks refuse the schemas and errors of Apollo's (common/src/graphql-once.test.ts).
const resolve = { alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }] };

// Two projects: unit tests (no network, next to the code) and integration tests (real servers on port 0).
export default defineConfig({
  test: {
    // Both cores (vitest's default leaves one idle: CPUs - 1), and a young generation that fits a
    // seeding's garbage (the demo data and the projections built from it), as the benches run.
    maxWorkers: 2,
    execArgv: ['--max-semi-space-size=64'],
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['**/src/**/*.test.ts', 'tools/**/*.test.ts', 'operations/*.test.ts', 'test/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.e2e.test.ts', '**/node_modules/**'],
          // The services' logs are off (a test that reads them gives its own log or logger).
          env: { LOG_LEVEL: 'silent' },
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts', 'test/**/*.e2e.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          // The services log every masked error as JSON; the tests read the gateway's log in memory.
          env: { LOG_LEVEL: 'silent' },
        },
      },
    ],
  },
});
