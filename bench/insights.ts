/**
 * `npm run bench:insights`: the strategy insights' report queries over the demo data and over
 * `--scale` times it (default 10), side by side in one run: the time each answer takes through the
 * gateway (median and worst of `--rounds`) and the database commands it sends (driver command
 * monitoring), which must not grow with the volume. Exits 1 when a report's median is over 200 ms
 * at the larger volume or it sends more commands there. The copies are loaded around the
 * subgraphs (a bulk load), so each partner's figures are then rebuilt from its records, as
 * `npm run seed` does.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { parseArgs } from 'node:util';
import { type EmbeddedMongo, startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { DEFAULT_LIMITS, loadOrCreateDevKey, signDevToken } from '@partnerskap/gateway';
import { type Db } from 'mongodb';
import { rebuildFigures } from '../demo/figures.js';
import { type RunningSupergraph, startSupergraph } from '../launcher/supergraph.js';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '10' }, rounds: { type: 'string', default: '5' } } });
const SCALE = Number(values.scale);
const ROUNDS = Number(values.rounds);
/** Issue 19's target: every report's median at the larger volume. */
const LIMIT_MS = 200;
if (!Number.isInteger(SCALE) || SCALE < 2 || !Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--scale must be a whole number from 2, --rounds from 1');

const operation = (file: string) => readFileSync(new URL(`../operations/${file}`, import.meta.url), 'utf8');

/**
 * The report queries: the page's whole funnel of a year and the owner's picture (the registered
 * operations, as clients send them), the full report of a year with every breakdown, and the trend.
 */
const QUERIES: { name: string; query: string; variables: Record<string, unknown> }[] = [
  { name: 'the page (funnel)', query: operation('insights-funnel.graphql'), variables: { year: 2024 } },
  {
    name: 'full report of a year',
    query: `query Full($year: Int!) { insights(year: $year) { year
      offers { subject gradeBand offers cancelled places }
      funding { funded notFunded bySubject { key funded } byGradeBand { key funded } byCounty { key funded } split { scheme participants stateNok ownerNok teacherNok stateFtes ownerFtes teacherFtes } }
      applications { total { applications admitted completed credits } bySubject { key applications admitted waitlisted completed } byGradeBand { key applications } byCounty { key applications admitted } byOwner { key applications } }
      vacantSeats { subject places admitted vacant }
      decisions { total { approved refused refusalRate } bySubject { key approved refused } byGradeBand { key approved } byCounty { key approved refused refusalRate } byOwner { key approved } reasons { reason count } }
      competence { subject teachers below share }
      ratings { overall { count average byTopic { topic average } } bySubject { key rating { count average } } byCounty { key rating { average } } } } }`,
    variables: { year: 2024 },
  },
  {
    name: 'trend over the years',
    query: `{ insightsTrend { year applications { total { applications admitted completed } } decisions { total { approved refused refusalRate } } funding { funded } ratings { overall { average } } } }`,
    variables: {},
  },
  { name: 'one school owner', query: operation('owner-picture.graphql'), variables: { owner: '4601', year: 2024 } },
];

/** The collections the reports read, copied `times - 1` more times with fresh ids: the same shape, `times` as many documents. */
const SCALED: Record<string, string[]> = {
  catalogue: ['studies', 'allocations'],
  admissions: ['applications'],
  plans: ['decisions', 'teachers'],
  feedback: ['feedback'],
};
async function multiply(dbs: Record<string, Db>, times: number): Promise<number> {
  let added = 0;
  for (const [partner, names] of Object.entries(SCALED)) {
    for (const name of names) {
      const coll = dbs[partner]!.collection(name);
      const docs = await coll.find({}).toArray();
      for (let k = 1; k < times; k++) {
        const copies = docs.map((d) => {
          const copy: Record<string, unknown> = { ...d, _id: `${String(d._id)}~${k}` };
          // Copies are other offers, teachers and participants: what unique indexes key on stays unique.
          for (const field of ['participant', 'code', 'teacher']) if (typeof copy[field] === 'string') copy[field] = `${copy[field]}~${k}`;
          return copy;
        });
        for (let i = 0; i < copies.length; i += 5000) await coll.insertMany(copies.slice(i, i + 5000));
        added += copies.length;
      }
    }
  }
  return added;
}

/** The collections the events' consumers, the feeds' sequencer and the webhooks' worker use in the background. */
const BACKGROUND_COLLECTIONS = /^(outbox|outbox_meta|projections|cursors|inbox|webhook_deliveries)$/;

interface Figures {
  medianMs: number;
  worstMs: number;
  commands: number;
}

async function measure(running: RunningSupergraph, count: () => number, token: string | undefined, profile = false): Promise<Figures[]> {
  const out: Figures[] = [];
  for (const q of QUERIES) {
    const session = profile && process.env.BENCH_PROFILE === q.name ? new Session() : undefined;
    if (session) {
      session.connect();
      await new Promise((r) => session.post('Profiler.enable', () => session.post('Profiler.start', r)));
    }
    const times: number[] = [];
    let commands = 0;
    for (let r = 0; r < ROUNDS + 1; r++) {
      const before = count();
      const started = performance.now();
      const res = await fetch(running.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query: q.query, variables: q.variables }),
      });
      const body = (await res.json()) as { errors?: unknown[] };
      const ms = performance.now() - started;
      if (res.status !== 200 || body.errors) throw new Error(`${q.name}: HTTP ${res.status} ${JSON.stringify(body.errors ?? body).slice(0, 400)}`);
      // The first round warms the plan cache and the JIT; the rest are measured.
      if (r > 0) times.push(ms);
      commands = count() - before;
    }
    if (session) {
      const profileOut = await new Promise<any>((r) => session.post('Profiler.stop', (_e, res) => r(res.profile)));
      writeFileSync('/tmp/insights.cpuprofile', JSON.stringify(profileOut));
      session.disconnect();
    }
    times.sort((a, b) => a - b);
    out.push({ medianMs: times[Math.floor(times.length / 2)]!, worstMs: times[times.length - 1]!, commands });
  }
  return out;
}

async function run(times: number, token: string): Promise<{ documents: number; figures: Figures[] }> {
  let store: EmbeddedMongo | undefined;
  const uri = process.env.MONGODB_URI ?? (store = await startEmbeddedMongo({ log: () => undefined })).uri;
  let commands = 0;
  const running = await startSupergraph({
    mongodbUri: uri,
    prefix: `bench_insights_${randomBytes(3).toString('hex')}_`,
    // The full report is over the cost limit (docs/security.md): this times it, whatever it costs.
    gateway: {
      limits: { ...DEFAULT_LIMITS, cost: Number.MAX_SAFE_INTEGER, partnerCost: Number.MAX_SAFE_INTEGER },
      rateLimits: { partnerPerMinute: 1_000_000, publicPerMinute: 1_000_000 },
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined } as never,
    },
    // The report's own commands: the events' consumers, the feeds and the webhooks' worker read and write in the background meanwhile.
    onCommand: (e) => {
      const collection = e.command[e.commandName] ?? e.command.collection;
      if (typeof collection === 'string' && BACKGROUND_COLLECTIONS.test(collection)) return;
      if (e.commandName === 'commitTransaction' || e.commandName === 'abortTransaction') return;
      commands++;
    },
  });
  try {
    const documents = times > 1 ? await multiply(running.dbs, times) : 0;
    if (times > 1) await rebuildFigures(running.dbs);
    const figures = await measure(running, () => commands, token, times > 1);
    return { documents, figures };
  } finally {
    await Promise.all(Object.values(running.dbs).map((db) => db.dropDatabase().catch(() => undefined)));
    await running.stop();
    await store?.close();
  }
}

process.env.LOG_LEVEL = 'silent';
const token = await signDevToken(await loadOrCreateDevKey(), { role: 'directorate' });
console.log(`bench:insights: ${QUERIES.length} report queries as the directorate, ${ROUNDS} measured rounds each, the demo volume and ${SCALE}x it`);
const base = await run(1, token);
const large = await run(SCALE, token);
console.log(`(${large.documents.toLocaleString('en-US')} documents added for ${SCALE}x)\n`);
console.log(
  `${'report'.padEnd(22)} ${'1x median'.padStart(10)} ${'1x worst'.padStart(9)} ${'1x cmds'.padStart(8)} ${`${SCALE}x median`.padStart(11)} ${`${SCALE}x worst`.padStart(10)} ${`${SCALE}x cmds`.padStart(9)}  verdict`,
);
let failed = 0;
QUERIES.forEach((q, i) => {
  const a = base.figures[i]!;
  const b = large.figures[i]!;
  const ok = b.medianMs <= LIMIT_MS && b.commands <= a.commands;
  if (!ok) failed++;
  console.log(
    `${q.name.padEnd(22)} ${`${a.medianMs.toFixed(0)} ms`.padStart(10)} ${`${a.worstMs.toFixed(0)} ms`.padStart(9)} ${String(a.commands).padStart(8)} ${`${b.medianMs.toFixed(0)} ms`.padStart(11)} ${`${b.worstMs.toFixed(0)} ms`.padStart(10)} ${String(b.commands).padStart(9)}  ${ok ? 'PASS' : `FAIL (median limit ${LIMIT_MS} ms, commands may not grow)`}`,
  );
});
console.log(`\n${QUERIES.length - failed} of ${QUERIES.length} reports within ${LIMIT_MS} ms (median) at ${SCALE}x with no more database commands than at 1x`);
process.exit(failed > 0 ? 1 : 0);
