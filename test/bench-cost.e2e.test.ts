import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../', import.meta.url);

describe('npm run bench:cost', () => {
  it('runs every probe once (--smoke) and prints the conversion and the bound', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/cost.ts', '--smoke'], { cwd: root, timeout: 240_000, maxBuffer: 1 << 20 });
    expect(stdout).toContain('Insights.competence (public)');
    expect(stdout).toContain('the page (insights-funnel, public)');
    expect(stdout).toMatch(/ordinary operations: [\d.]+ to [\d.]+ µs of CPU per cost unit/);
    expect(stdout).toMatch(/the bound: a public address's cost budget 300000\/min \(5000\/s\) x 40 µs = 0\.20 CPU s per second/);
  }, 300_000);
});
