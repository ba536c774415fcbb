import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedMongo, NODE_FILES, startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSupergraph, startSupergraph } from '../launcher/supergraph.js';
import { TEST_AUDIENCE, TEST_ISSUER } from './harness.js';

// npm start runs the embedded store in the process of the gateway and the subgraphs. Its disk
// full, a write must come back as a coded error with nothing stored, and nothing may crash. The
// journal's writes go to /dev/full while `full` is set: a real ENOSPC from the kernel. A real
// MongoDB's disk (MONGODB_URI) cannot be filled from a test, so there this does not run.
const real = Boolean(process.env.MONGODB_URI);
const dir = mkdtempSync(join(tmpdir(), 'partnerskap-full-disk-'));
let full = false;
const logs: string[] = [];
let store: EmbeddedMongo;
let running: RunningSupergraph;
let token: string;

beforeAll(async () => {
  if (real) return;
  const devFull = openSync('/dev/full', 'w');
  store = await startEmbeddedMongo({
    dir,
    fsync: 'interval',
    log: (line) => logs.push(line),
    journalFiles: { writeSync: (fd, buffer, offset, length) => writeSync(full ? devFull : fd, buffer, offset, length), freeBytes: NODE_FILES.freeBytes },
  });
  const { publicKey, privateKey } = await generateKeyPair('EdDSA');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test', alg: 'EdDSA' };
  running = await startSupergraph({
    mongodbUri: store.uri,
    prefix: `fulldisk_${randomBytes(4).toString('hex')}_`,
    seed: false,
    auth: { jwks: { keys: [jwk] }, issuer: TEST_ISSUER, audience: TEST_AUDIENCE },
  });
  await running.dbs.feedback.collection<{ _id: string; name: string }>('unions').insertOne({ _id: 'UDF', name: 'Utdanningsforbundet' });
  token = await new SignJWT({ role: 'union', org: 'UDF' })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'test' })
    .setIssuer(TEST_ISSUER)
    .setAudience(TEST_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
}, 60_000);
afterAll(async () => {
  await running?.stop();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

async function ask(query: string): Promise<Answer> {
  const res = await fetch(running.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as never;
}

const publish = (title: string): Promise<Answer> =>
  ask(`mutation { publishStatement(input: { topic: COST, title: "${title}", body: "The cost to school owners." }) { id title } }`);

describe('a full disk under the store npm start runs in-process', () => {
  it.skipIf(real)(
    'a write answers STORE_UNAVAILABLE and stores nothing, reads are served, writes work again (embedded store only)',
    async () => {
      const statements = running.dbs.feedback.collection('statements');
      full = true;
      const refused = await publish('While the disk is full');
      expect(refused.data?.publishStatement ?? null).toBeNull();
      expect(refused.errors).toEqual([
        expect.objectContaining({
          message: expect.stringContaining('cannot store changes just now (its disk is full)'),
          path: ['publishStatement'],
          extensions: expect.objectContaining({ code: 'STORE_UNAVAILABLE' }),
        }),
      ]);
      expect(await statements.countDocuments()).toBe(0);
      expect((await ask('{ unions { id name } }')).data).toEqual({ unions: [{ id: 'UDF', name: 'Utdanningsforbundet' }] });
      expect(logs.some((line) => line.includes('failed (ENOSPC): writes are refused and reads served'))).toBe(true);

      full = false;
      const published = await publish('When space is back');
      expect(published.errors).toBeUndefined();
      expect(published.data).toEqual({ publishStatement: { id: expect.any(String), title: 'When space is back' } });
      expect(await statements.countDocuments()).toBe(1);
    },
    30_000,
  );
});
