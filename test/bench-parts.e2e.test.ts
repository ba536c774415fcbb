import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../', import.meta.url);

describe('npm run bench:parts', () => {
  it('checks old and new give the same figures and times each part once (--smoke)', async () => {
    const { stdout } = await run('npm', ['run', 'bench:parts', '--', '--smoke'], { cwd: root, timeout: 120_000, maxBuffer: 1 << 20 });
    expect(stdout).toMatch(/documents, the same figures old and new: yes/);
    for (const part of [
      'rate limit, a partner request: rate-limiter-flexible, memory',
      'checks, warm (the same document): one analysis',
      'checks, cold (a new document each): three walks (before)',
    ]) {
      expect(stdout).toMatch(new RegExp(`${part.replace(/[()]/g, '\\$&')} +[\\d.]+ µs`));
    }
  }, 180_000);
});
