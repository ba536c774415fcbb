/**
 * `npm run bench:store`: insert, `_id` and `$in` throughput of the store, an `$in` indexed against
 * unindexed side by side in one run; then the commands the subgraphs send per request (issue 19), each row's
 * commands per second, CPU time per command and the share of it spent collecting garbage.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '@partnerskap/embedded-mongo';

const DOCS = 100_000;
const KEYS = 100;
const ROUNDS = 7;
const REQUIRED_RATIO = 50;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const fmt = (n: number, digits = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: digits });

// Garbage collection pauses, summed: a row's share of them tells how much garbage its commands make.
let gcMs = 0;
const gc = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
});
gc.observe({ entryTypes: ['gc'] });

/**
 * Runs `once` (which sends `commands` commands) until `ms` have passed, after a warm-up, and prints
 * commands/s, CPU µs per command (client and store share this process, as in the benchmark backend;
 * with `--split`, the store's own in its process) and the GC share of the wall time.
 */
async function row(label: string, commands: number, ms: number, once: (i: number) => Promise<void>): Promise<void> {
  if (only && !label.startsWith(only)) return;
  for (let i = 0; i < 20; i++) await once(i);
  let n = 0;
  const gcBefore = gcMs;
  const storeBefore = storeCpu();
  const cpu = process.cpuUsage();
  const t = performance.now();
  let elapsed = 0;
  // A single row (profiling it) runs longer, so that the data set up before weighs little.
  while (elapsed < (only ? 5 * ms : ms)) {
    for (let k = 0; k < 10; k++) await once(n++);
    elapsed = performance.now() - t;
  }
  const used = process.cpuUsage(cpu);
  const storeUsed = storeBefore === undefined ? undefined : storeCpu()! - storeBefore;
  const total = n * commands;
  console.log(
    `${label.padEnd(68)} ${fmt(total / (elapsed / 1000), 0).padStart(7)} commands/s ` +
      `${fmt((used.user + used.system) / total, 0).padStart(6)} µs CPU/command  GC ${fmt((100 * (gcMs - gcBefore)) / elapsed, 0).padStart(2)} %` +
      (storeUsed === undefined ? '' : `  store ${fmt(storeUsed / total, 0).padStart(5)} µs CPU/command`),
  );
}

// `-- --shapes`: the subgraphs' shapes alone, without the verdict (to profile them); `-- --shapes=page`: the rows whose label starts so.
const shapesFlag = process.argv.find((a) => a.startsWith('--shapes'));
const only = shapesFlag?.split('=')[1];

// `-- --split`: the store runs in a process of its own (`npm run mongo`), whose CPU time each row shows too (Linux).
const child =
  process.argv.includes('--split') && !process.env.MONGODB_URI
    ? spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../embedded-mongo/src/main.ts', import.meta.url)), '--port', '0'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : undefined;
const childUri = child && (await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(String(d).trim()))));

/** The store process's CPU time so far in µs (`/proc/<pid>/stat`: utime and stime in ticks of 10 ms), when it runs apart. */
function storeCpu(): number | undefined {
  if (!child?.pid) return undefined;
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const store = process.env.MONGODB_URI || child ? undefined : await startEmbeddedMongo();
const uri = process.env.MONGODB_URI ?? childUri ?? store!.uri;
const client = await MongoClient.connect(uri);
const db = client.db(`bench_${randomBytes(4).toString('hex')}`);
console.log(
  `node ${process.version}, backend: ${store ? 'embedded store (in memory)' : child ? 'embedded store (in memory, its own process)' : 'MONGODB_URI'}`,
);

/** A figure cell as the kit's counted collections keep them. */
interface Cell {
  _id: string;
  set: string;
  study: string;
  year: number;
  [sum: string]: number | string;
}

/** A study as the catalogue stores it. */
interface Study {
  _id: string;
  code: string;
  name: string;
  subject: string;
  gradeBand: string;
  credits: number;
  level: string;
  institution: string;
  campus: string;
  delivery: string;
  gatherings: number | null;
  semesters: number;
  startTerm: string;
  year: number;
  places: number;
  status: string;
}

const CELLS = 20_000;
const STUDIES = 20_000;
const YEARS = [2022, 2023, 2024, 2025];
const SUBJECTS = Array.from({ length: 20 }, (_, i) => `subject-${i}`);
const BANDS = ['1-4', '5-7', '8-10', 'vgs', 'all'];
const NAMES = ['Matematikk', 'Norsk', 'Engelsk', 'Ørsta', 'Åsnes', 'Ærlig', 'Zoologi', 'Bergen', 'Naturfag', 'Kunst'];
const NB = { locale: 'nb' };

/** The rows for the shapes the subgraphs send (issue 19), on their own collections. */
async function shapes(): Promise<void> {
  const figures = db.collection<Cell>('figures');
  await figures.createIndexes([{ key: { set: 1 } }, { key: { set: 1, year: 1 } }]);
  const cellId = (i: number) => `perStudy|["s${i}",${YEARS[i % YEARS.length]}]`;
  for (let i = 0; i < CELLS; i += 1000) {
    await figures.insertMany(
      Array.from({ length: 1000 }, (_, j): Cell => {
        const k = i + j;
        return {
          _id: cellId(k),
          set: 'perStudy',
          study: `s${k}`,
          year: YEARS[k % YEARS.length]!,
          applied: k % 37,
          funded: k % 11,
          withdrawn: k % 3,
          credits: 15 * (k % 4),
          places: k % 50,
        };
      }),
    );
  }
  const studies = db.collection<Study>('studies');
  await studies.createIndexes([
    { key: { name: 1, _id: 1 }, collation: NB },
    { key: { year: 1 } },
    { key: { subject: 1 } },
    { key: { institution: 1 } },
    { key: { code: 1, year: 1 }, unique: true },
  ]);
  for (let i = 0; i < STUDIES; i += 1000) {
    await studies.insertMany(
      Array.from({ length: 1000 }, (_, j): Study => {
        const k = i + j;
        return {
          _id: `study-${k}`,
          code: `C${k}`,
          name: `${NAMES[k % NAMES.length]} ${k % 997}`,
          subject: SUBJECTS[(k >> 2) % SUBJECTS.length]!,
          gradeBand: BANDS[(k >> 4) % BANDS.length]!,
          credits: 30,
          level: 'master',
          institution: `inst-${k % 60}`,
          campus: 'Oslo',
          delivery: k % 2 ? 'campus' : 'online',
          gatherings: k % 3 ? 4 : null,
          semesters: 2,
          startTerm: 'autumn',
          year: YEARS[k % YEARS.length]!,
          places: 20 + (k % 30),
          status: 'published',
        };
      }),
    );
  }

  await row('figures: find { _id: { $in: 50 ids } } (20,000 cells)', 1, 1500, async (i) => {
    const ids = Array.from({ length: 50 }, (_, j) => cellId((i * 389 + j * 397) % CELLS));
    if ((await figures.find({ _id: { $in: ids } }).toArray()).length !== 50) throw new Error('expected 50 cells');
  });
  await row('entities: find { _id: { $in: 50 ids } } (20,000 studies)', 1, 1500, async (i) => {
    const ids = Array.from({ length: 50 }, (_, j) => `study-${(i * 389 + j * 397) % STUDIES}`);
    if ((await studies.find({ _id: { $in: ids } }).toArray()).length !== 50) throw new Error('expected 50 studies');
  });
  // As the kit's eqFilter writes them.
  const pageFilter = (i: number) => ({
    year: { $eq: YEARS[i % YEARS.length]! },
    subject: { $eq: SUBJECTS[i % SUBJECTS.length]! },
    gradeBand: { $eq: BANDS[(i >> 2) % BANDS.length]! },
  });
  await row('page: find { year, subject, gradeBand } sort name, _id (nb) limit 26', 1, 1500, async (i) => {
    await studies.find(pageFilter(i)).sort({ name: 1, _id: 1 }).collation(NB).limit(26).toArray();
  });
  await row('count: countDocuments { year, subject, gradeBand }', 1, 1500, async (i) => {
    await studies.countDocuments(pageFilter(i));
  });

  const applications = db.collection<{ _id: string; study: string; state: string; n: number }>('applications');
  await applications.insertOne({ _id: 'a-seed', study: 's0', state: 'new', n: 0 });
  // insertOne, findOneAndUpdate, findOneAndReplace, a bulkWrite of three upserted $inc and the commit.
  await row('writes: transaction of 4 writes and a commit (per command)', 5, 2000, async (i) => {
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        const id = `a-${i}-${randomBytes(3).toString('hex')}`;
        await applications.insertOne({ _id: id, study: `s${i % 100}`, state: 'new', n: 0 }, { session });
        await applications.findOneAndUpdate({ _id: id }, { $set: { state: 'sent' }, $inc: { n: 1 } }, { session, returnDocument: 'before' });
        await applications.findOneAndReplace({ _id: id }, { study: `s${i % 100}`, state: 'decided', n: 2 }, { session, returnDocument: 'before' });
        await figures.bulkWrite(
          [0, 1, 2].map((j) => ({
            updateOne: {
              filter: { _id: `perOwner|["o${(i + j) % 50}",2025]` },
              update: { $inc: { applied: 1, funded: j === 0 ? 1 : 0 }, $setOnInsert: { set: 'perOwner', owner: `o${(i + j) % 50}`, year: 2025 } },
              upsert: true,
            },
          })) as never,
          { session, ordered: true },
        );
      });
    } finally {
      await session.endSession();
    }
  });
}

/** The first rows: bulk and single inserts, `findOne` by `_id`, and an indexed `$in` against the same `$in` scanning; the ratio of these two. */
async function classic(): Promise<number> {
  const coll = db.collection<{ _id: number; key: string; plain: string; n: number }>('docs');
  await coll.createIndex({ key: 1 });
  let t = performance.now();
  for (let i = 0; i < DOCS; i += 1000) {
    await coll.insertMany(Array.from({ length: 1000 }, (_, j) => ({ _id: i + j, key: `k${i + j}`, plain: `k${i + j}`, n: (i + j) % 97 })));
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
  // The range beside the $in makes the scan test each document in general (mingo's test): the
  // store tests the simplest filters (equalities, $in) itself, about 40 times faster, and that scan
  // of 100,000 documents would cost less than 50 round trips.
  const indexed: number[] = [];
  const scanned: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const keys = Array.from({ length: KEYS }, (_, i) => `k${(round * 7717 + i * 997) % DOCS}`);
    for (const [field, out] of [
      ['key', indexed],
      ['plain', scanned],
    ] as const) {
      t = performance.now();
      const found = await coll.find({ [field]: { $in: keys }, n: { $gte: 0 } }).toArray();
      out.push(performance.now() - t);
      if (found.length !== KEYS) throw new Error(`expected ${KEYS} documents from $in on ${field}, got ${found.length}`);
    }
  }
  const ratio = median(scanned) / median(indexed);

  console.log(`insertMany (batches of 1,000):  ${fmt(bulkRate, 0)} docs/s`);
  console.log(`insertOne:                      ${fmt(singleRate, 0)} docs/s`);
  console.log(`findOne by _id:                 ${fmt(byIdRate, 0)} lookups/s`);
  console.log(
    `$in of ${KEYS} keys and a range over ${fmt(DOCS, 0)} docs (median of ${ROUNDS} alternating rounds): ` +
      `indexed ${fmt(median(indexed), 2)} ms, unindexed ${fmt(median(scanned), 1)} ms, ratio ${fmt(ratio)}x`,
  );
  return ratio;
}

try {
  const ratio = shapesFlag ? undefined : await classic();
  await shapes();
  if (ratio !== undefined) {
    const pass = ratio >= REQUIRED_RATIO;
    console.log(`${pass ? 'PASS' : 'FAIL'}: the indexed $in must be at least ${REQUIRED_RATIO}x faster than the scan`);
    process.exitCode = pass ? 0 : 1;
  }
} finally {
  gc.disconnect();
  await db.dropDatabase();
  await client.close();
  await store?.close();
  if (child) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}
