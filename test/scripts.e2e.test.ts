import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type JWK, decodeJwt, importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startDevSupergraph } from './harness.js';
import { DEV_AUDIENCE, DEV_ISSUER, DEV_KEY_FILE } from '@partnerskap/gateway';
import { rebuildFigures } from '../demo/figures.js';

// The npm scripts no other test runs, each through npm (so the script line itself, its node flags
// and all, is what runs) in its smallest mode that still goes end to end: a command no test runs
// breaks unnoticed. The figures stay in the benches; these only prove they still run and print them.
// The scripts are independent processes on ports of their own, so the suites run concurrently (the
// longest, npm run bench, first): the file takes about as long as its busiest core, not the sum of
// every script. Concurrent tests assert with their own context's expect.
const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Whether a process the script started was still there after npm exited. */
  leftovers: boolean;
}

const alive = (group: number) => {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * `npm run <script> -- <args>` in a process group of its own (spawn rather than execFile, which
 * cannot start one): on a timeout, and whatever the script left behind, the whole group is killed.
 */
function npmRun(script: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<Run> {
  // Not vitest's own variables (a nested vitest, test:unit, would take itself for a worker), and no colours.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'FORCE_COLOR'));
  const child = spawn('npm', ['run', script, ...(args.length > 0 ? ['--', ...args] : [])], {
    cwd,
    env: { ...base, NO_COLOR: '1', npm_config_update_notifier: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const group = child.pid!;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (alive(group)) process.kill(-group, 'SIGKILL');
      reject(new Error(`npm run ${script} took over ${timeoutMs / 1000} s:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', async (code) => {
      clearTimeout(timer);
      // The script's processes are given a moment to finish leaving after npm.
      for (let i = 0; i < 20 && alive(group); i++) await new Promise((r) => setTimeout(r, 100));
      const leftovers = alive(group);
      if (leftovers) process.kill(-group, 'SIGKILL');
      resolve({ code, stdout, stderr, leftovers });
    });
  });
}

describe.concurrent('npm run bench', () => {
  it('builds every target, sends each a few requests (--smoke), checks every body, runs npm run bench:insights and prints the figures and the targets', async ({
    expect,
  }) => {
    const run = await npmRun('bench', ['--smoke'], 270_000);
    expect(run, run.stderr).toMatchObject({ code: 0, leftovers: false });
    for (const workload of ['single-subgraph', 'cross-partner', 'entity-heavy']) {
      for (const target of ['ours', 'stock Apollo', 'Hive Gateway', ...(workload === 'single-subgraph' ? ['subgraph alone'] : [])]) {
        expect(run.stdout).toMatch(new RegExp(`^ {2}round 1 ${target} +\\d+ req/s .* all bodies ok$`, 'm'));
        expect(run.stdout).toMatch(new RegExp(`^${workload} +${target} +rotating +\\d+ +\\d+ +\\d+ +[\\d.]+ +[\\d.NaN]+ +[\\d.]+ +\\d+ +0$`, 'm'));
      }
    }
    expect(run.stdout).toContain(
      'workload          target            mode                   req/s   p50   p99  CPU ms/req  backend ms/req  load ms/req  peak RSS MB  bad',
    );
    expect(run.stdout).toMatch(/^cross-partner: req\/s ours ÷ Hive +[\d.]+ {2}>= 1\.5 +(PASS|FAIL)$/m);
    expect(run.stdout).toMatch(/^cross-partner: backend CPU ms\/req \(ours\) +[\d.]+ {2}<= 3 +(PASS|FAIL)$/m);
    expect(run.stdout).toMatch(/^cross-partner: per request, gateway [\d.]+ .* req\/s ours ÷ stock at most [\d.]+ with a gateway that cost nothing/m);
    expect(run.stdout).toMatch(/^br +\d+ +[\d.]+ % +\d+/m);
    // The insights' report queries, through npm run bench:insights (at twice the demo volume, one round, in a smoke run).
    expect(run.stdout).toMatch(/^ {2}report +1x median +1x worst +1x cmds +2x median +2x worst +2x cmds {2}verdict$/m);
    expect(run.stdout).toMatch(/^ {2}the page \(funnel\) +\d+ ms +\d+ ms +\d+ +\d+ ms +\d+ ms +\d+ {2}(PASS|FAIL)/m);
    expect(run.stdout).toMatch(/^ {2}\d of 4 reports within 200 ms \(median\) at 2x with no more database commands than at 1x$/m);
    expect(run.stdout).toMatch(/^insights at 2x: the page \(funnel\), median ms +[\d.]+ {2}<= 200 +(PASS|FAIL)$/m);
    expect(run.stdout).toMatch(/^insights at 2x: one school owner, commands ÷ at 1x +[\d.]+ {2}<= 1 +(PASS|FAIL)$/m);
    expect(run.stdout).toMatch(/^\d+ of 19 targets met; 0 bad responses; \d+ s in all$/m);
  }, 280_000);
});

describe.concurrent('npm run bench:store', () => {
  it('measures the store and prints its figures and verdict', async ({ expect }) => {
    const run = await npmRun('bench:store', [], 60_000);
    expect(run.leftovers).toBe(false);
    expect([0, 1], run.stderr).toContain(run.code);
    expect(run.stdout).toMatch(/^insertMany \(batches of 1,000\): +[\d,]+ docs\/s$/m);
    expect(run.stdout).toMatch(/^findOne by _id: +[\d,]+ lookups\/s$/m);
    expect(run.stdout).toMatch(/^(PASS|FAIL): the indexed \$in must be at least 50x faster than the scan$/m);
  }, 70_000);
});

describe.concurrent('npm run token', () => {
  it('prints a development JWT for the role and organisation asked, signed with the development key', async ({ expect }) => {
    const run = await npmRun('token', ['--role', 'school-owner', '--org', '4601'], 30_000);
    expect(run).toMatchObject({ code: 0, leftovers: false });
    const token = run.stdout.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(decodeJwt(token)).toMatchObject({ role: 'school-owner', org: '4601', iss: DEV_ISSUER, aud: DEV_AUDIENCE });
    const { publicJwk } = JSON.parse(readFileSync(DEV_KEY_FILE, 'utf8')) as { publicJwk: JWK };
    await expect(jwtVerify(token, await importJWK(publicJwk, 'EdDSA'), { issuer: DEV_ISSUER, audience: DEV_AUDIENCE })).resolves.toBeTruthy();
  }, 40_000);

  it('refuses a role no client has, with the usage', async ({ expect }) => {
    const run = await npmRun('token', ['--role', 'service'], 30_000);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^usage: npm run token -- --role <[a-z|-]+> \[--org/m);
  }, 40_000);
});

// Concurrent with the other suites, but its two tests one after the other: they share one supergraph, whose data and partners the second changes.
describe.concurrent('npm run example', () => {
  let running: Awaited<ReturnType<typeof startDevSupergraph>> | undefined;

  // A supergraph of its own without the demo data: the example's query and token go end to end all the same.
  beforeAll(async () => {
    running = await startDevSupergraph('scripts', { seed: false });
  }, 60_000);
  afterAll(async () => {
    await running?.close();
  });

  it.sequential(
    'asks the gateway at GATEWAY_URL as Bergen and prints the answer',
    async ({ expect }) => {
      const run = await npmRun('example', [], 30_000, { GATEWAY_URL: running!.gateway.url });
      expect(run, run.stderr).toMatchObject({ code: 0, leftovers: false });
      const answer = JSON.parse(run.stdout.slice(run.stdout.indexOf('\n{') + 1)) as unknown;
      expect(answer).toEqual({ data: { studies: { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } } } });
    },
    40_000,
  );

  it.sequential(
    'with a partner down prints the partial answer, says on stderr who did not answer and what is missing, and exits 0',
    async ({ expect }) => {
      // Two English studies of the example's year in the empty catalogue: enough for feedback's ratings to go missing.
      const studies = running!.dbs.catalogue.collection<Record<string, unknown> & { _id: string }>('studies');
      const study = { code: 'K2ENG51001', subject: 'ENG', gradeBand: 'GRADES_5_10', credits: 30, level: 'BACHELOR', institution: '911770709' };
      const more = {
        campus: 'Horten',
        delivery: 'GATHERINGS',
        gatherings: 4,
        semesters: 2,
        startTerm: '2024 autumn',
        year: 2024,
        places: 45,
        status: 'OFFERED',
      };
      await studies.insertMany([
        { _id: 'K2ENG51001-2024', name: 'Engelsk 1 for 5.-10. trinn', ...study, ...more },
        { _id: 'K2ENG52001-2024', name: 'Engelsk 2 for 5.-10. trinn', ...study, code: 'K2ENG52001', ...more },
      ]);
      // Written around the subgraph: its figures are counted from the records again, as a bulk load does.
      await rebuildFigures(running!.dbs, ['catalogue']);
      await running!.stopSubgraph('feedback');
      try {
        const run = await npmRun('example', [], 30_000, { GATEWAY_URL: running!.gateway.url });
        expect(run, run.stderr).toMatchObject({ code: 0, leftovers: false });
        // stdout is the JSON answer alone (after npm's header): the catalogue's studies are there, the ratings null.
        type Answer = { data: { studies: { edges: { node: Record<string, unknown> }[] } }; errors: unknown[] };
        const answer = JSON.parse(run.stdout.slice(run.stdout.indexOf('\n{') + 1)) as Answer;
        expect(answer.data.studies.edges.map((e) => [e.node.name, e.node.places, e.node.rating])).toEqual([
          ['Engelsk 1 for 5.-10. trinn', 45, null],
          ['Engelsk 2 for 5.-10. trinn', 45, null],
        ]);
        expect(answer.errors).toHaveLength(2);
        expect(run.stderr).toContain("Partial answer: feedback (the teachers' unions) did not answer; the rest of the answer is there.");
        expect(run.stderr).toContain('  studies.edges[*].node.rating (feedback: SUBGRAPH_UNAVAILABLE), 2 values');
        // The public too, whose FORBIDDEN for Bergen's approvals is the expected answer, not a failure.
        const asPublic = await npmRun('example', ['--public'], 30_000, { GATEWAY_URL: running!.gateway.url });
        expect(asPublic, asPublic.stderr).toMatchObject({ code: 0, leftovers: false });
        expect(asPublic.stderr).toContain('  studies.edges[*].node.rating (feedback: SUBGRAPH_UNAVAILABLE), 2 values');
        expect(asPublic.stderr).toContain(
          'Not for the public (as expected, not a failure):\n  studies.edges[*].node.approvedApplications (FORBIDDEN), 2 values',
        );

        // The catalogue down: no studies at all, so no answer (exit 1), the same summary.
        await running!.stopSubgraph('catalogue');
        try {
          const none = await npmRun('example', ['--public'], 30_000, { GATEWAY_URL: running!.gateway.url });
          expect(none, none.stderr).toMatchObject({ code: 1, leftovers: false });
          expect(JSON.parse(none.stdout.slice(none.stdout.indexOf('\n{') + 1))).toMatchObject({ data: { studies: null } });
          expect(none.stderr).toContain('No answer: catalogue (Udir) did not answer, and nothing else came.');
          expect(none.stderr).toContain('  studies (catalogue: SUBGRAPH_UNAVAILABLE), 1 value');
        } finally {
          await running!.restartSubgraph('catalogue');
        }
      } finally {
        await running!.restartSubgraph('feedback');
        await studies.deleteMany({});
        await rebuildFigures(running!.dbs, ['catalogue']);
      }
    },
    70_000,
  );
});

describe.concurrent('the checks of the generated files', () => {
  it('npm run compose -- --check: the committed supergraph is current', async ({ expect }) => {
    const run = await npmRun('compose', ['--check'], 60_000);
    expect(run, run.stderr).toMatchObject({ code: 0, leftovers: false });
    expect(run.stdout).toMatch(/^schema\/supergraph\.graphql is current$/m);
  }, 70_000);

  it('npm run client-kit -- --check: the committed client kit is current', async ({ expect }) => {
    const run = await npmRun('client-kit', ['--check'], 60_000);
    expect(run, run.stderr).toMatchObject({ code: 0, leftovers: false });
    expect(run.stdout).toMatch(/^the client kit is current$/m);
  }, 70_000);

  it('npm run documents -- --check: the committed registry of trusted documents is current', async ({ expect }) => {
    const run = await npmRun('documents', ['--check'], 60_000);
    expect(run, run.stderr).toMatchObject({ code: 0, leftovers: false });
    expect(run.stdout).toMatch(/^operations\/manifest\.json is current \(\d+ documents\)$/m);
  }, 70_000);
});

// npm run lint (the whole tree, type-aware: half a minute of a core) runs in full in CI (.ci/run, before
// the tests; test/architecture.test.ts checks it is there) and not again here: the suite keeps to its budget.

describe.concurrent('npm run format', () => {
  // Its script line, with the root's Prettier settings and ignores, in a folder of its own: the tree is
  // left as it is (npm run lint checks it: CI runs that in full, test/architecture.test.ts a sample).
  it('rewrites what Prettier formats in its layout and leaves what it ignores', async ({ expect }) => {
    const dir = mkdtempSync(join(tmpdir(), 'partnerskap-format-'));
    try {
      const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'format', private: true, scripts: { format: scripts.format } }));
      for (const file of ['.prettierrc.json', '.prettierignore']) copyFileSync(join(ROOT, file), join(dir, file));
      mkdirSync(join(dir, 'generated'));
      const messy = 'export const a = {b:"c"}\n';
      writeFileSync(join(dir, 'x.ts'), messy);
      writeFileSync(join(dir, 'generated', 'y.ts'), messy);
      const run = await npmRun('format', [], 30_000, { PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` }, dir);
      expect(run, run.stderr).toMatchObject({ code: 0, leftovers: false });
      expect(readFileSync(join(dir, 'x.ts'), 'utf8')).toBe("export const a = { b: 'c' };\n");
      expect(readFileSync(join(dir, 'generated', 'y.ts'), 'utf8')).toBe(messy);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});

describe.concurrent('the test projects', () => {
  it('npm run test:unit runs a unit test file of its project', async ({ expect }) => {
    const run = await npmRun('test:unit', ['gateway/src/config.test.ts'], 60_000);
    expect(run, run.stdout + run.stderr).toMatchObject({ code: 0, leftovers: false });
    expect(run.stdout).toMatch(/Test Files +1 passed \(1\)/);
  }, 70_000);

  it('npm run test:int runs an integration test file of its project', async ({ expect }) => {
    const run = await npmRun('test:int', ['embedded-mongo/test/wire.int.test.ts'], 60_000);
    expect(run, run.stdout + run.stderr).toMatchObject({ code: 0, leftovers: false });
    expect(run.stdout).toMatch(/Test Files +1 passed \(1\)/);
  }, 70_000);
});
