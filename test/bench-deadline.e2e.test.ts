import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// `npm run bench:deadline -- --smoke` through npm, as CI would run it: the rush's code path end to end
// (the store, npm run dev's processes and supervisor, each partner stopped and started again, retries, the counts
// in admissions' database, settle, reconcile) in a dozen seconds. Its correctness figures must pass;
// its timings are information at this size (the bench says so), and CI's machine is not the bench's.
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** `npm run <script> -- <args>` in a process group of its own, killed whole on a timeout; its exit code and output. */
function npmRun(script: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; leftovers: boolean }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'FORCE_COLOR'));
  const child = spawn('npm', ['run', script, '--', ...args], {
    cwd: ROOT,
    env: { ...env, NO_COLOR: '1', npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const group = child.pid!;
  const alive = () => {
    try {
      process.kill(-group, 0);
      return true;
    } catch {
      return false;
    }
  };
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // SIGTERM first: the bench then takes dev's subgraphs (process groups of their own) with it.
      if (alive()) process.kill(-group, 'SIGTERM');
      setTimeout(() => alive() && process.kill(-group, 'SIGKILL'), 3000);
      reject(new Error(`npm run ${script} took over ${timeoutMs / 1000} s:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', async (code) => {
      clearTimeout(timer);
      for (let i = 0; i < 20 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
      const leftovers = alive();
      if (leftovers) process.kill(-group, 'SIGKILL');
      resolve({ code, stdout, stderr, leftovers });
    });
  });
}

describe('npm run bench:deadline', () => {
  // The smoke run stops each partner with SIGTERM (a SIGKILL mid-transaction holds that transaction's
  // locks for the store's 60 s transaction lifetime); test/dev-supervision.e2e.test.ts kills with SIGKILL.
  it('runs a small rush (--smoke) with every partner stopped once, and every correctness figure passes', async () => {
    const run = await npmRun('bench:deadline', ['--smoke'], 75_000);
    expect(run, `${run.stdout}\n${run.stderr}`).toMatchObject({ code: 0, leftovers: false });
    const lines = run.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^deadline: accepted (\d+) of \1 valid, p99 \d+ ms, lag p99 \d+ ms, differences 0$/);
    expect(run.stdout).not.toMatch(/ FAIL$/m);
    for (const figure of [
      /^accepted exactly once: (\d+) of \1 valid teachers \(admissions holds \1 applications for 2030, 0 of others; each as answered\) +PASS$/m,
      /^retries with the same key: \d+ answered with the teacher's one application +PASS$/m,
      /^second applications: (\d+) of \1 refused CONFLICT, none accepted +PASS$/m,
      /^no owner's teachers: (\d+) of \1 refused FORBIDDEN +PASS$/m,
      /^owners' decisions on 2029's applications, meanwhile: (\d+) of \1 stored as answered .* +PASS$/m,
      /^kills: catalogue at [\d.]+ s back in [\d.]+ s, plans at .*, admissions at .*, feedback at .* \(SIGTERM; npm run dev started each again\) +PASS$/m,
      /^reconcile: [\d,]+ records checked, 0 differences +PASS$/m,
      /^figures: [\d,]+ cells checked against a recount, 0 differences +PASS$/m,
      /^submission latency \(each request the service answered\): p50 \d+ ms, p99 [\d,]+ ms/m,
      /^projection lag \(answer → plans' projection\), every partner up: /m,
    ]) {
      expect(run.stdout).toMatch(figure);
    }
    // dev's supervisor said what it did, for each partner.
    for (const name of ['catalogue', 'plans', 'admissions', 'feedback']) {
      expect(run.stdout).toMatch(new RegExp(`^ +[\\d.]+ s {2}${name}: ✗ ${name} stopped unexpectedly \\(its process is gone\\): starting it again`, 'm'));
    }
  }, 80_000);
});
