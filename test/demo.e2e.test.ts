import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

// The README's `npm run year`, as a user runs it: it must walk the whole year and say so.
describe('npm run year', () => {
  it('walks one application year and ends with a completed application and an audit trail', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'launcher/year.ts'], { cwd: new URL('..', import.meta.url), timeout: 90_000 });
    expect(stdout).toContain('applies too early: refused, NOT_OPEN_YET on input.study');
    expect(stdout).toContain('K2ENG1510-2030: 3 applicants, 2 approved, 2 admitted, 0 of 2 seats vacant, rating 5 (1)');
    expect(stdout).toContain("t-anna's application: COMPLETED, 30 credits.");
    expect(stdout).toMatch(/Bergen's audit trail: .*confirmParticipation/);
  }, 120_000);
});
