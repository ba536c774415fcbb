import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// The store goes down and comes back: each subgraph answers STORE_UNAVAILABLE within 3 s while it
// is down, says so on /ready, and serves again by itself when it is back. The embedded store is
// stopped and restarted on the same port and journal; a real MongoDB (MONGODB_URI) cannot be
// stopped from a test, so there this case does not run.
const real = Boolean(process.env.MONGODB_URI);
const dir = mkdtempSync(join(tmpdir(), 'partnerskap-outage-'));
let h: Harness;

beforeAll(async () => {
  if (!real) h = await startHarness({ storeDir: dir, seed: false });
}, 120_000);
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the store down and back', () => {
  it.skipIf(real)(
    'answers STORE_UNAVAILABLE within 3 s, tells /ready, and recovers without a restart (embedded store only)',
    async () => {
      const token = await h.token({ role: 'directorate' });
      await h.dbs.catalogue.collection('subjects').insertOne({ _id: 'ENG', name: 'Engelsk', priorityYears: [] } as never);
      const ask = () => h.query<any>('{ subjects { code } }', {}, { token });
      expect((await ask()).data.subjects).toEqual([{ code: 'ENG' }]);
      const readyUrl = new URL('/ready', h.subgraphs.catalogue.url);

      await h.stopStore();
      const started = performance.now();
      const down = await ask();
      expect(performance.now() - started).toBeLessThan(3000);
      expect(down.status).toBe(200);
      expect(down.errors?.map((e) => e.extensions?.code)).toEqual(['STORE_UNAVAILABLE']);
      expect(JSON.stringify(down)).not.toMatch(/Mongo|127\.0\.0\.1|ECONN/);
      const notReady = await fetch(readyUrl);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: 'not ready', checks: { store: false } });

      await h.startStore();
      let back: Awaited<ReturnType<typeof ask>> | undefined;
      for (let i = 0; i < 40 && !back?.data?.subjects; i++) {
        back = await ask();
        if (!back.data?.subjects) await new Promise((r) => setTimeout(r, 250));
      }
      expect(back?.data?.subjects).toEqual([{ code: 'ENG' }]);
      expect((await fetch(readyUrl)).status).toBe(200);
    },
    60_000,
  );
});
