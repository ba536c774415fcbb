import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedMongo, startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readRegistry, readSdl } from '../tools/schema/compose.js';
import { type RunningDev, portIsFree, startDev } from '../launcher/dev.js';

// `npm run dev` as its launcher runs it, on free ports: every registered subgraph a `tsx watch`
// child process, the gateway here over a supergraph file it watches.
let store: EmbeddedMongo | undefined;
let dev: RunningDev | undefined;
let dir = '';
const prefix = `dev_${randomBytes(4).toString('hex')}_`;
const lines: string[] = [];

/** A port nothing listens on just now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const query = async (body: string) => {
  const res = await fetch(dev!.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: body }) });
  return (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
};

beforeAll(async () => {
  const mongodbUri = process.env.MONGODB_URI ?? (store = await startEmbeddedMongo({ port: 0, log: () => undefined })).uri;
  dir = mkdtempSync(join(tmpdir(), 'partnerskap-dev-'));
  writeFileSync(join(dir, 'supergraph.graphql'), compose().supergraphSdl!);
  const ports = Object.fromEntries(await Promise.all(readRegistry().map(async (s) => [s.name, await freePort()] as const)));
  dev = await startDev({
    mongodbUri,
    ports,
    gatewayPort: await freePort(),
    prefix,
    supergraphPath: join(dir, 'supergraph.graphql'),
    supergraphPollMs: 50,
    print: (line) => lines.push(line),
    color: false,
  });
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  if (store || process.env.MONGODB_URI) {
    const client = await MongoClient.connect(process.env.MONGODB_URI ?? store!.uri);
    await Promise.all(
      readRegistry().map((s) =>
        client
          .db(`${prefix}${s.name}`)
          .dropDatabase()
          .catch(() => undefined),
      ),
    );
    await client.close();
  }
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run dev', () => {
  it('runs each registered subgraph as its own tsx watch process, with its output prefixed by its name', async () => {
    expect(Object.keys(dev!.subgraphs).sort()).toEqual(
      readRegistry()
        .map((s) => s.name)
        .sort(),
    );
    const pids = Object.values(dev!.subgraphs).map((s) => s.pid);
    expect(new Set([...pids, process.pid]).size).toBe(pids.length + 1);
    for (const { url } of Object.values(dev!.subgraphs)) expect((await fetch(new URL('/health', url))).status).toBe(200);
    // The gateway signs for each child with the secret this run made for it: an answer joins two of them.
    expect(await query('{ statements(first: 1) { totalCount } unions { id } studies(first: 1) { totalCount } }')).toEqual({
      data: { statements: { totalCount: 0 }, unions: [], studies: { totalCount: 0 } },
    });
    expect(lines.some((line) => /^feedback +│ \S/.test(line))).toBe(true);
  });

  it('serves a newly composed supergraph without a restart', async () => {
    const withoutUnions = compose((name) =>
      name === 'feedback' ? readSdl(name).replace(/ {2}"The unions of the partnership, in name order."\n {2}unions: .*\n/, '') : readSdl(name),
    );
    expect(withoutUnions.errors).toEqual([]);
    const file = join(dir, 'supergraph.graphql');
    writeFileSync(`${file}.tmp`, withoutUnions.supergraphSdl!);
    renameSync(`${file}.tmp`, file);
    const deadline = Date.now() + 10_000;
    let answer = await query('{ unions { id } }');
    while (!answer.errors && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      answer = await query('{ unions { id } }');
    }
    expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(lines.some((line) => /^gateway +│ ✓ new supergraph \w{12} served: admissions, catalogue, feedback, plans$/.test(line))).toBe(true);
    expect(await query('{ statements(first: 1) { totalCount } }')).toEqual({ data: { statements: { totalCount: 0 } } });
  });

  it('stops every child process and frees every port', async () => {
    const { subgraphs, gateway } = dev!;
    await dev!.stop();
    dev = undefined;
    for (const { pid } of Object.values(subgraphs)) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    for (const port of [gateway.port, ...Object.values(subgraphs).map((s) => Number(new URL(s.url).port))]) expect(await portIsFree(port)).toBe(true);
  }, 30_000);

  it('reports a subgraph that crashes while starting, and stops the others', async () => {
    const ports = Object.fromEntries(await Promise.all(readRegistry().map(async (s) => [s.name, await freePort()] as const)));
    const crashLines: string[] = [];
    // Every child reads the environment it inherits: a malformed PARTNERSKAP_NOW stops each at start.
    process.env.PARTNERSKAP_NOW = 'not-a-time';
    try {
      await expect(
        startDev({
          mongodbUri: process.env.MONGODB_URI ?? store!.uri,
          ports,
          gatewayPort: await freePort(),
          prefix,
          print: (line) => crashLines.push(line),
          color: false,
        }),
      ).rejects.toThrow(/crashed while starting \(the error is above\)$/);
    } finally {
      delete process.env.PARTNERSKAP_NOW;
    }
    expect(crashLines.some((line) => /^\w+ +│ ✗ \w+ crashed \(the error is above\): fix it and save; tsx watch starts it again$/.test(line))).toBe(true);
    expect(crashLines.some((line) => line.includes('PARTNERSKAP_NOW must be an ISO 8601 time'))).toBe(true);
    for (const port of Object.values(ports)) expect(await portIsFree(port)).toBe(true);
  }, 30_000);
});
