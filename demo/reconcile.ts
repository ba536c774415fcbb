/**
 * `npm run reconcile [-- --repair] [--prefix partnerskap_] [--examples 3]`: compares every
 * projection a partner keeps of another partner's records with the owner's records, prints what it
 * checked and every difference per consumer and kind, then each partner's maintained figures
 * against a recount of its records, and ends with `differences N` (exit 1 when N > 0). `--repair`
 * rebuilds what differs (the projections from the owners' records, the figures from the partner's
 * own) and checks again.
 */
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { type SubgraphModule } from '@partnerskap/kit';
import { admissions } from '@partnerskap/admissions';
import { catalogue } from '@partnerskap/catalogue';
import { feedback } from '@partnerskap/feedback';
import { plans } from '@partnerskap/plans';
import { type FigureReport, checkFigures, rebuildFigures } from './figures.js';
import { type Difference, rebuildProjections, reconcile } from './projections.js';
import { type PartnerDbs, partnerDbs } from './seed.js';

type Name = keyof PartnerDbs;
/** What reconcile uses of each partner's module: the feeds its projections are built from. */
const MODULES: Record<Name, Pick<SubgraphModule<never, never>, 'subscriptions'>> = { catalogue, admissions, plans, feedback };

/** One consumer's kind of another partner's records, as the report lists it. */
export interface KindReport {
  consumer: Name;
  source: Name;
  kind: string;
  /** Records of the owner compared (rows the consumer should keep). */
  checked: number;
  differences: Difference[];
}

/** The report of one check: per consumer and kind, per partner's figure set, and in all. */
export interface ReconcileReport {
  kinds: KindReport[];
  /** Each partner's maintained figures against a recount of its records. */
  figures: FigureReport[];
  checked: number;
  differences: number;
}

/** Checks every projection (via {@link reconcile}) and groups what it found by consumer and kind. */
export async function reconcileReport(dbs: PartnerDbs): Promise<ReconcileReport> {
  const { checked, differences } = await reconcile(dbs);
  const kinds: KindReport[] = [];
  for (const consumer of Object.keys(MODULES) as Name[]) {
    for (const subscription of MODULES[consumer].subscriptions?.(dbs[consumer]) ?? []) {
      for (const kind of Object.keys(subscription.kinds)) {
        const mine = differences.filter((d) => d.consumer === consumer && d.kind === kind && d.source === subscription.source);
        // What it should keep: what it keeps, less the extra rows, plus the missing ones.
        const kept = await dbs[consumer].collection('projections').countDocuments({ kind });
        const checkedHere = kept - mine.filter((d) => d.problem === 'extra').length + mine.filter((d) => d.problem === 'missing').length;
        kinds.push({ consumer, source: subscription.source as Name, kind, checked: checkedHere, differences: mine });
      }
    }
  }
  // Admissions' own copy of the owners' approvals on its applications.
  const approvals = differences.filter((d) => d.kind === 'ownerApproved');
  kinds.push({
    consumer: 'admissions',
    source: 'plans',
    kind: 'ownerApproved',
    checked: await dbs.admissions.collection('applications').countDocuments(),
    differences: approvals,
  });
  const figures = await checkFigures(dbs);
  return { kinds, figures, checked, differences: differences.length + figures.reduce((n, f) => n + f.differences.length, 0) };
}

const short = (value: unknown) => {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What differs between the owner's state and the kept one: the fields that differ, for records. */
function changes(expected: unknown, actual: unknown): string {
  if (!isRecord(expected) || !isRecord(actual)) return `expected ${short(expected)}, kept ${short(actual)}`;
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].filter((k) => JSON.stringify(expected[k]) !== JSON.stringify(actual[k]));
  return keys.map((k) => `${k} expected ${short(expected[k])}, kept ${short(actual[k])}`).join('; ');
}

/** The report as lines: one per consumer and kind, then a few examples of each kind's differences and their counts. */
export function reportLines(report: ReconcileReport, examples = 3): string[] {
  const lines: string[] = [];
  const width = Math.max(...report.kinds.map((k) => `${k.consumer} ← ${k.source} ${k.kind}`.length));
  for (const k of report.kinds) {
    lines.push(`${`${k.consumer} ← ${k.source} ${k.kind}`.padEnd(width)}  checked ${k.checked.toLocaleString('en-US')}, differences ${k.differences.length}`);
    for (const d of k.differences.slice(0, examples)) {
      const detail =
        d.problem === 'missing' ? `expected ${short(d.expected)}` : d.problem === 'extra' ? `kept ${short(d.actual)}` : changes(d.expected, d.actual);
      lines.push(`  ${d.problem} ${d.key}: ${detail}`);
    }
    if (k.differences.length > examples) {
      const counts = ['missing', 'extra', 'different'].map((p) => [p, k.differences.filter((d) => d.problem === p).length] as const).filter(([, n]) => n > 0);
      lines.push(`  ... and ${k.differences.length - examples} more (${counts.map(([p, n]) => `${n} ${p}`).join(', ')} in all)`);
    }
  }
  const figureWidth = Math.max(...report.figures.map((f) => `${f.partner} figures ${f.set}`.length));
  for (const f of report.figures) {
    lines.push(`${`${f.partner} figures ${f.set}`.padEnd(figureWidth)}  cells ${f.checked.toLocaleString('en-US')}, differences ${f.differences.length}`);
    for (const d of f.differences.slice(0, examples)) {
      lines.push(
        `  ${d.problem} ${d.id}: ${d.problem === 'missing' ? `expected ${short(d.expected)}` : d.problem === 'extra' ? `kept ${short(d.actual)}` : changes(d.expected, d.actual)}`,
      );
    }
    if (f.differences.length > examples) lines.push(`  ... and ${f.differences.length - examples} more`);
  }
  return lines;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { values } = parseArgs({
    options: {
      repair: { type: 'boolean', default: false },
      /** The database names' prefix, as the subgraphs use it (`partnerskap_`: `partnerskap_plans`...). */
      prefix: { type: 'string', default: 'partnerskap_' },
      examples: { type: 'string', default: '3' },
    },
  });
  const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 3000 }).catch((err: Error) => {
    console.error(`Cannot reach MongoDB at ${uri} (${err.message}). Start the store first (npm start, npm run mongo) or set MONGODB_URI.`);
    process.exit(2);
  });
  const dbs = partnerDbs(client, values.prefix);
  const examples = Math.max(0, Number(values.examples) || 0);
  let report = await reconcileReport(dbs);
  for (const line of reportLines(report, examples)) console.log(line);
  console.log(
    `checked ${report.checked.toLocaleString('en-US')} records the partners keep of each other's, and ${report.figures.reduce((n, f) => n + f.checked, 0).toLocaleString('en-US')} cells of the figures they maintain`,
  );
  if (values.repair) {
    if (report.differences === 0) {
      console.log('repair: nothing to repair');
    } else {
      const found = report.differences;
      const byKind = report.kinds.filter((k) => k.differences.length > 0).map((k) => `${k.consumer} ← ${k.source} ${k.kind} ${k.differences.length}`);
      const figureSets = report.figures.filter((f) => f.differences.length > 0).map((f) => `${f.partner} figures ${f.set} ${f.differences.length}`);
      const done: string[] = [];
      if (byKind.length > 0)
        done.push(
          `every projection from the owners' records (${(await rebuildProjections(dbs, { also: true })).toLocaleString('en-US')} rows; cursors at the sources' heads)`,
        );
      if (figureSets.length > 0) done.push(`every partner's figures from its records (${(await rebuildFigures(dbs)).toLocaleString('en-US')} cells)`);
      report = await reconcileReport(dbs);
      console.log(
        `repair: rebuilt ${done.join(' and ')}, repaired ${found - report.differences} of ${found} differences (${[...byKind, ...figureSets].join(', ')})`,
      );
      for (const line of reportLines(report, examples)) if (report.differences > 0) console.log(line);
    }
  }
  console.log(`differences ${report.differences}`);
  await client.close();
  process.exit(report.differences > 0 ? 1 : 0);
}
