/** `npm run bench:store`: insert, `_id` and `$in` throughput of the store, indexed against unindexed side by side in one run. */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../src/index.js';

const DOCS = 100_000;
const KEYS = 100;
const ROUNDS = 7;
const REQUIRED_RATIO = 50;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const fmt = (n: number, digits = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: digits });

const store = process.env.MONGODB_URI ? undefined : await startEmbeddedMongo();
const uri = process.env.MONGODB_URI ?? store!.uri;
const client = await MongoClient.connect(uri);
const db = client.db(`bench_${randomBytes(4).toString('hex')}`);
console.log(`node ${process.version}, backend: ${store ? 'embedded store (in memory)' : 'MONGODB_URI'}`);

try {
  const coll = db.collection<{ _id: number; key: string; plain: string; n: number }>('docs');
  await coll.createIndex({ key: 1 });
  let t = performance.now();
  for (let i = 0; i < DOCS; i += 1000) {
    await coll.insertMany(
      Array.from({ length: 1000 }, (_, j) => ({ _id: i + j, key: `k${i + j}`, plain: `k${i + j}`, n: (i + j) % 97 })),
    );
  }
  const bulkRate = DOCS / ((performance.now() - t) / 1000);

  const single = db.collection('single');
  t = performance.now();
  for (let i = 0; i < 2000; i++) await single.insertOne({ i });
  const singleRate = 2000 / ((performance.now() - t) / 1000);

  t = performance.now();
  for (let i = 0; i < 3000; i++) await coll.findOne({ _id: (i * 7919) % DOCS });
  const byIdRate = 3000 / ((performance.now() - t) / 1000);

  // Alternate indexed and unindexed rounds: the machine drifts, so both see the same conditions.
  const indexed: number[] = [];
  const scanned: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const keys = Array.from({ length: KEYS }, (_, i) => `k${(round * 7717 + i * 997) % DOCS}`);
    for (const [field, out] of [['key', indexed], ['plain', scanned]] as const) {
      t = performance.now();
      const found = await coll.find({ [field]: { $in: keys } }).toArray();
      out.push(performance.now() - t);
      if (found.length !== KEYS) throw new Error(`expected ${KEYS} documents from $in on ${field}, got ${found.length}`);
    }
  }
  const ratio = median(scanned) / median(indexed);

  console.log(`insertMany (batches of 1,000):  ${fmt(bulkRate, 0)} docs/s`);
  console.log(`insertOne:                      ${fmt(singleRate, 0)} docs/s`);
  console.log(`findOne by _id:                 ${fmt(byIdRate, 0)} lookups/s`);
  console.log(
    `$in of ${KEYS} keys over ${fmt(DOCS, 0)} docs (median of ${ROUNDS} alternating rounds): ` +
      `indexed ${fmt(median(indexed), 2)} ms, unindexed ${fmt(median(scanned), 1)} ms, ratio ${fmt(ratio)}x`,
  );
  const pass = ratio >= REQUIRED_RATIO;
  console.log(`${pass ? 'PASS' : 'FAIL'}: the indexed $in must be at least ${REQUIRED_RATIO}x faster than the scan`);
  process.exitCode = pass ? 0 : 1;
} finally {
  await db.dropDatabase();
  await client.close();
  await store?.close();
}
