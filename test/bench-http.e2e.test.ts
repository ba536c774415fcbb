import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../', import.meta.url);

// `npm run bench:http -- --smoke`, through npm as CI would run it: every variant of the HTTP layer
// (ours, Fastify, node:http with middleware, the bare floor) started, its answers checked, a few
// requests of each workload sent. The figures of a smoke run mean nothing.
describe('npm run bench:http', () => {
  it('checks every variant (--smoke) and prints a row per workload and variant', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'FORCE_COLOR'));
    const { stdout } = await run('npm', ['run', 'bench:http', '--', '--smoke'], {
      cwd: root,
      env: { ...env, NO_COLOR: '1', npm_config_update_notifier: 'false' },
      timeout: 150_000,
      maxBuffer: 1 << 20,
    });
    expect(stdout).toContain("bench:http: every variant's answers checked (bodies, br, CORS, request id, 413): serveGraphQL, fastify, middleware, bare");
    for (const workload of ['small', 'server small', '5 kB', 'static 50 kB']) {
      for (const variant of ['serveGraphQL', 'fastify', 'middleware', ...(workload.startsWith('static') ? [] : ['bare'])]) {
        expect(stdout).toMatch(new RegExp(`^${workload} +${variant} +[\\d,]+ +[\\d,]+ +[\\d,]+ +[\\d,]+`, 'm'));
      }
    }
  }, 180_000);
});
