import { defineConfig } from 'vitest/config';

// Two projects: unit tests (no network, next to the code) and integration tests (real servers on port 0).
export default defineConfig({
  test: {
    // Both cores (vitest's default leaves one idle: CPUs - 1), and a young generation that fits a
    // seeding's garbage (the demo data and the projections built from it), as the benches run.
    maxWorkers: 2,
    execArgv: ['--max-semi-space-size=64'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/src/**/*.test.ts', 'tools/**/*.test.ts', 'operations/*.test.ts', 'test/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/*.e2e.test.ts', '**/node_modules/**'],
        },
      },
      {
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
