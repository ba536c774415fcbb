/**
 * `npm run bench:cost`: what the estimated cost of an operation buys in CPU. Runs the supergraph in
 * this process (the embedded store, the four subgraphs and the gateway, as `npm start` does) over
 * the demo data and sends, one at a time and `--rounds` times each, ordinary operations (the
 * registered ones at a full page) and each report field alone; for each it prints the estimated
 * cost (the committed supergraph's `@cost`/`@listSize`), the process's CPU ms per request (user +
 * system, `process.cpuUsage`) and the CPU per cost unit. The ordinary operations give the
 * conversion (`CPU_US_PER_COST_UNIT` in limits.ts); a report field's weight is its CPU over that.
 * The bound printed at the end is the one docs/security.md states: the public cost budget per minute
 * times the CPU per unit. `--smoke` runs one round of each, for the test that keeps it working.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type EmbeddedMongo, startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { CPU_US_PER_COST_UNIT, DEFAULT_LIMITS, DEFAULT_RATE_LIMITS, createCostEstimator, loadOrCreateDevKey, signDevToken } from '@partnerskap/gateway';
import { parse } from 'graphql';
import { startSupergraph } from '../launcher/supergraph.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, smoke: { type: 'boolean', default: false } } });
const ROUNDS = values.smoke ? 1 : Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds must be a whole number from 1');

type Caller = 'public' | 'directorate' | 'owner' | 'institution' | 'union';
interface Probe {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  as: Caller;
  /** The field alone: its CPU is the probe's minus this one's (the same request without the field). */
  baseline?: string;
  /** Divides the field's CPU and cost, for a per-item figure (a study's rating in a page of 100). */
  per?: number;
  /** An ordinary operation: one of those the conversion comes from. */
  ordinary?: boolean;
}

const operation = (file: string) => readFileSync(new URL(`../operations/${file}`, import.meta.url), 'utf8');
const Y = 2024;
const insights = (selection: string) => `{ insights(year: ${Y}) { year ${selection} } }`;
const FIELDS: Record<string, string> = {
  offers: 'offers { subject gradeBand offers cancelled places }',
  funding:
    'funding { funded notFunded bySubject { key funded notFunded } byGradeBand { key funded } byCounty { key funded } split { scheme participants stateNok ownerNok teacherNok stateFtes ownerFtes teacherFtes } }',
  requirements: 'requirements { subject gradeBand credits }',
  applications:
    'applications { total { applications admitted waitlisted rejected withdrawn completed credits } bySubject { key applications admitted } byGradeBand { key applications } byCounty { key applications admitted } }',
  'applications.byOwner': 'applications { byOwner { key applications admitted } }',
  vacantSeats: 'vacantSeats { subject places admitted vacant }',
  decisions:
    'decisions { total { approved refused refusalRate confirmed } bySubject { key approved refused } byGradeBand { key approved } byCounty { key approved refused refusalRate } reasons { reason count } }',
  'decisions.byOwner': 'decisions { byOwner { key approved refused } }',
  competence: 'competence { subject teachers below share }',
  ratings: 'ratings { overall { count average byTopic { topic average } } bySubject { key rating { count average } } byCounty { key rating { average } } }',
};

const PROBES: Probe[] = [
  // What any request costs: HTTP, the token, parsing, the plan cache; the ordinary operations' figures are over it.
  { name: 'a request: { __typename }', query: '{ __typename }', as: 'public' },
  // The ordinary operations: the registered ones at the largest page, as their callers.
  {
    name: 'catalogue-studies, first 100',
    query: operation('catalogue-studies.graphql'),
    variables: { year: Y, first: 100 },
    as: 'public',
    baseline: '{ __typename }',
    ordinary: true,
  },
  {
    name: 'english-studies',
    query: operation('english-studies.graphql'),
    variables: { owner: '4601' },
    as: 'owner',
    baseline: '{ __typename }',
    ordinary: true,
  },
  {
    name: 'institution-applications, first 100',
    query: operation('institution-applications.graphql'),
    variables: { institution: '874789542', year: Y, first: 100 },
    as: 'institution',
    baseline: '{ __typename }',
    ordinary: true,
  },
  {
    name: 'owner-overview, first 100',
    query: operation('owner-overview.graphql'),
    variables: { owner: '4601', year: Y, first: 100 },
    as: 'owner',
    baseline: '{ __typename }',
    ordinary: true,
  },
  {
    name: 'union-overview, first 100',
    query: operation('union-overview.graphql'),
    variables: { subject: 'ENG', first: 100 },
    as: 'union',
    baseline: '{ __typename }',
    ordinary: true,
  },
  {
    name: 'studies, 100 with every figure',
    query: `{ studies(first: 100) { edges { node { id name institution { name } applicants admitted waitlisted vacantSeats approvedApplications rating { average byTopic { topic average } } } } } }`,
    as: 'public',
    baseline: '{ __typename }',
    ordinary: true,
  },
  // Each report field alone, over the same request without it, as the public and the directorate.
  ...Object.entries(FIELDS).flatMap(([field, selection]): Probe[] =>
    (field.endsWith('byOwner') ? (['directorate'] as const) : (['public', 'directorate'] as const)).map((as) => ({
      name: `Insights.${field} (${as})`,
      query: insights(selection),
      as,
      baseline: insights(''),
    })),
  ),
  { name: 'insightsTrend { year }', query: '{ insightsTrend { year } }', as: 'public', baseline: '{ __typename }' },
  {
    name: 'insightsTrend, every field (public)',
    query: `{ insightsTrend { year ${Object.entries(FIELDS)
      .filter(([f]) => !f.endsWith('byOwner'))
      .map(([, s]) => s)
      .join(' ')} } }`,
    as: 'public',
    baseline: '{ __typename }',
  },
  {
    name: 'insights, every field (public)',
    query: insights(
      Object.entries(FIELDS)
        .filter(([f]) => !f.endsWith('byOwner'))
        .map(([, s]) => s)
        .join(' '),
    ),
    as: 'public',
    baseline: '{ __typename }',
  },
  { name: 'the page (insights-funnel, public)', query: operation('insights-funnel.graphql'), variables: { year: Y }, as: 'public', baseline: '{ __typename }' },
  {
    name: 'the page (insights-funnel, directorate)',
    query: operation('insights-funnel.graphql'),
    variables: { year: Y },
    as: 'directorate',
    baseline: '{ __typename }',
  },
  {
    name: 'SchoolOwner.decisionFigures',
    query: `{ schoolOwner(id: "4601") { id decisionFigures(year: ${Y}) { approved refused refusalRate } } }`,
    as: 'owner',
    baseline: '{ schoolOwner(id: "4601") { id } }',
  },
  {
    name: 'SchoolOwner.admissionFigures',
    query: `{ schoolOwner(id: "4601") { id admissionFigures(year: ${Y}) { applications admitted completed } } }`,
    as: 'owner',
    baseline: '{ schoolOwner(id: "4601") { id } }',
  },
  {
    name: 'Subject.rating, per subject',
    query: '{ subjects { code rating { count average byTopic { topic average } } } }',
    as: 'public',
    baseline: '{ subjects { code } }',
    per: 10,
  },
  {
    name: 'Study.rating, per study of 100',
    query: '{ studies(first: 100) { edges { node { id rating { count average byTopic { topic average } } } } } }',
    as: 'public',
    baseline: '{ studies(first: 100) { edges { node { id } } } }',
    per: 100,
  },
];

const estimate = createCostEstimator(readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'));
const cost = (query: string, variables?: Record<string, unknown>) => estimate(parse(query), variables);

process.env.LOG_LEVEL = 'silent';
const key = await loadOrCreateDevKey();
const tokens: Record<Caller, string | undefined> = {
  public: undefined,
  directorate: await signDevToken(key, { role: 'directorate' }),
  owner: await signDevToken(key, { role: 'school-owner', org: '4601' }),
  institution: await signDevToken(key, { role: 'institution', org: '874789542' }),
  union: await signDevToken(key, { role: 'union', org: 'UDF' }),
};

let store: EmbeddedMongo | undefined;
const uri = process.env.MONGODB_URI ?? (store = await startEmbeddedMongo({ log: () => undefined })).uri;
const running = await startSupergraph({
  mongodbUri: uri,
  prefix: `bench_cost_${randomBytes(3).toString('hex')}_`,
  gateway: {
    // Every probe must run: the limits are what this measures, not what it obeys.
    limits: { ...DEFAULT_LIMITS, cost: Number.MAX_SAFE_INTEGER, partnerCost: Number.MAX_SAFE_INTEGER },
    rateLimits: { partnerPerMinute: 1_000_000, publicPerMinute: 1_000_000 },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined } as never,
  },
});

/** The mean CPU ms per request of a query, over ROUNDS after one warm-up (plans cached, JIT warm). */
async function cpuMs(query: string, variables: Record<string, unknown> | undefined, as: Caller): Promise<number> {
  const send = async () => {
    const res = await fetch(running.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(tokens[as] ? { authorization: `Bearer ${tokens[as]}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { errors?: unknown[] };
    if (res.status !== 200 || body.errors)
      throw new Error(`HTTP ${res.status} ${JSON.stringify(body.errors ?? body).slice(0, 400)} for ${query.slice(0, 120)}`);
  };
  await send();
  const before = process.cpuUsage();
  for (let r = 0; r < ROUNDS; r++) await send();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / ROUNDS;
}

interface Row {
  name: string;
  cost: number;
  ms: number;
  ordinary: boolean;
}
const rows: Row[] = [];
try {
  for (const p of PROBES) {
    const whole = await cpuMs(p.query, p.variables, p.as);
    const base = p.baseline ? await cpuMs(p.baseline, undefined, p.as) : 0;
    const per = p.per ?? 1;
    const c = (cost(p.query, p.variables) - (p.baseline ? cost(p.baseline) : 0)) / per;
    rows.push({ name: p.name, cost: c, ms: Math.max(0, whole - base) / per, ordinary: p.ordinary ?? false });
  }
} finally {
  await Promise.all(Object.values(running.dbs).map((db) => db.dropDatabase().catch(() => undefined)));
  await running.stop();
  await store?.close();
}

const width = Math.max(...rows.map((r) => r.name.length));
console.log(
  `bench:cost: CPU ms per request (the whole process), mean of ${ROUNDS} rounds, the demo data, year ${Y}; a field alone is the request minus the same request without it\n`,
);
console.log(
  `${'operation or field'.padEnd(width)}  ${'cost'.padStart(6)}  ${'CPU ms'.padStart(8)}  ${'µs/unit'.padStart(8)}  ${'weight at the conversion'.padStart(24)}`,
);
for (const r of rows) {
  const usPerUnit = r.cost > 0 ? (r.ms * 1000) / r.cost : NaN;
  const fair = Math.round((r.ms * 1000) / CPU_US_PER_COST_UNIT);
  console.log(
    `${r.name.padEnd(width)}  ${r.cost.toFixed(0).padStart(6)}  ${r.ms.toFixed(2).padStart(8)}  ${(Number.isFinite(usPerUnit) ? usPerUnit.toFixed(1) : '-').padStart(8)}  ${(r.ordinary ? '(ordinary)' : String(fair)).padStart(24)}`,
  );
}
const ordinary = rows.filter((r) => r.ordinary);
const usPerUnit = ordinary.map((r) => (r.ms * 1000) / r.cost);
console.log(
  `\nordinary operations: ${Math.min(...usPerUnit).toFixed(1)} to ${Math.max(...usPerUnit).toFixed(1)} µs of CPU per cost unit; the conversion used: ${CPU_US_PER_COST_UNIT} µs (CPU_US_PER_COST_UNIT)`,
);
const share = (DEFAULT_RATE_LIMITS.publicCostPerMinute / 60) * CPU_US_PER_COST_UNIT * 1e-6;
console.log(
  `the bound: a public address's cost budget ${DEFAULT_RATE_LIMITS.publicCostPerMinute}/min (${(DEFAULT_RATE_LIMITS.publicCostPerMinute / 60).toFixed(0)}/s) x ${CPU_US_PER_COST_UNIT} µs = ${share.toFixed(2)} CPU s per second; one request at most the public cost limit ${DEFAULT_LIMITS.cost} (${((DEFAULT_LIMITS.cost * CPU_US_PER_COST_UNIT) / 1000).toFixed(0)} ms)`,
);
