import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `npm start` as the README's first command runs it (tsx launcher/start.ts), on free ports (PORT=0,
// MONGO_PORT=0) over an embedded store in a temporary directory: it seeds, serves the example, reads
// the same gateway variables as every other way the gateway runs, answers a local frontend's CORS
// preflight, and stops cleanly on Ctrl-C. Always the embedded store: that is what npm start runs
// on a fresh machine (a MONGODB_URI of the test run is not handed down).
let child: ChildProcess;
let output = '';
let gatewayUrl = '';
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'partnerskap-start-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', MONGO_PORT: '0', MONGO_DIR: join(dir, 'mongo'), LIMIT_DEPTH: '4', LOG_LEVEL: 'silent' };
  delete env.MONGODB_URI;
  delete env.NODE_ENV;
  delete env.CORS_ORIGINS;
  child = spawn(process.execPath, ['--import', 'tsx', 'launcher/start.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  const deadline = Date.now() + 150_000;
  while (!/Partnerskap is up/.test(output)) {
    if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  gatewayUrl = /gateway\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)![1]!;
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs npm start with more variables to its end (a start that refuses): its exit code and output. */
function run(extra: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', MONGO_PORT: '0', LOG_LEVEL: 'silent', ...extra };
  delete env.MONGODB_URI;
  delete env.NODE_ENV;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'launcher/start.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 45_000);
  return new Promise((resolve) =>
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: out });
    }),
  );
}

const post = (query: string, headers: Record<string, string> = {}) =>
  fetch(gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

describe('npm start', () => {
  it('seeds the demo data with progress and serves the example query', async () => {
    expect(output).toMatch(/seeding the demo data \(first start only\)/);
    expect(output).toMatch(/100% \([\d,]+ of [\d,]+ documents\)/);
    const res = await post('{ studies(filter: { subject: "ENG", year: 2024 }, first: 1) { totalCount edges { node { id } } } }');
    const body = (await res.json()) as { data: { studies: { totalCount: number } } };
    expect(body.data?.studies.totalCount, JSON.stringify(body)).toBeGreaterThan(0);
  });

  it('reads the gateway variables as npm run gateway does (LIMIT_DEPTH=4 here)', async () => {
    const body = (await (await post('{ studies(first: 1) { edges { node { institution { name } } } } }')).json()) as {
      errors: { extensions: Record<string, unknown> }[];
    };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'depth' });
  });

  it('answers the CORS preflight of a frontend dev server on this machine, and of no other origin', async () => {
    const preflight = (origin: string) =>
      fetch(gatewayUrl, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000', 'https://studio.apollographql.com']) {
      expect((await preflight(origin)).headers.get('access-control-allow-origin'), origin).toBe(origin);
    }
    for (const origin of ['https://evil.example', 'http://localhost.evil.example:5173', 'http://localhost:5173.evil.example']) {
      expect((await preflight(origin)).headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  // The two refused starts are processes of their own on directories of their own: side by side.
  it.concurrent(
    'a second npm start on the same data directory stops at once, naming the store that holds it, without a stack',
    async ({ expect }) => {
      const second = await run({ MONGO_DIR: join(dir, 'mongo') });
      expect(second.code).toBe(1);
      expect(second.output).toMatch(new RegExp(`the embedded store did not start: .*pid ${child.pid}`));
      expect(second.output).not.toMatch(/\n\s+at /);
    },
    60_000,
  );

  it.concurrent(
    'a journal damaged before its end stops npm start with the file, the offset and how to salvage',
    async ({ expect }) => {
      const damaged = join(dir, 'damaged');
      const store = await startEmbeddedMongo({ port: 0, dir: damaged });
      const client = await MongoClient.connect(store.uri);
      await client
        .db('d')
        .collection<{ _id: number; text?: string }>('c')
        .insertMany(
          Array.from({ length: 50 }, (_, i) => ({ _id: i, text: 'x'.repeat(100) })),
          { ordered: false },
        );
      for (let i = 50; i < 60; i++) await client.db('d').collection<{ _id: number }>('c').insertOne({ _id: i });
      await client.close();
      await store.close();
      const journal = join(damaged, 'journal.bin');
      const bytes = readFileSync(journal);
      bytes[bytes.length >> 1]! ^= 0xff;
      writeFileSync(journal, bytes);
      const refused = await run({ MONGO_DIR: damaged });
      expect(refused.code).toBe(1);
      expect(refused.output).toContain(`the embedded store did not start: journal ${journal} is damaged at byte`);
      expect(refused.output).toContain('--salvage');
      expect(refused.output).not.toMatch(/\n\s+at /);
    },
    60_000,
  );

  it('stops on Ctrl-C with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 30_000);
});
