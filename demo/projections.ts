/**
 * The partners' projections of each other's records, built from the owners' records (seed,
 * `npm run reconcile -- --repair`) and compared with them (`npm run reconcile`).
 */
import { type Db } from 'mongodb';
import { type Subscription, createOutbox, createProjections, plain, rowsOf } from '@partnerskap/kit';
import * as admissions from '@partnerskap/admissions/events';
import * as catalogue from '@partnerskap/catalogue/events';
import * as feedback from '@partnerskap/feedback/events';
import * as plans from '@partnerskap/plans/events';
import { type PartnerDbs } from './seed.js';

type Name = keyof PartnerDbs;
/** Each partner's events module: what it keeps of the others, and its records as they keep them (the seed's image bundles these, not the servers). */
const MODULES: Record<
  Name,
  { subscriptions?: (db: Db) => readonly Subscription[]; snapshots?: Record<string, (db: Db) => Promise<{ subject: string; data: Record<string, unknown> }[]>> }
> = {
  catalogue: { subscriptions: () => catalogue.subscriptions, snapshots: catalogue.snapshots },
  admissions: { subscriptions: admissions.subscriptions, snapshots: admissions.snapshots },
  plans: { subscriptions: () => plans.subscriptions, snapshots: plans.snapshots },
  feedback: { subscriptions: () => feedback.subscriptions },
};

/** The collections of the events machinery: emptied when the demo data is seeded again. */
export const EVENT_COLLECTIONS = ['outbox', 'outbox_meta', 'projections', 'cursors', 'inbox'];

/** One projected kind of one consumer: the rows the owner's records make, beside what the consumer keeps. */
interface Projected {
  consumer: Name;
  source: Name;
  kind: string;
  subscription: Subscription;
  expected: { ref: string; key: string; data: Record<string, unknown> }[];
  truth: { subject: string; data: Record<string, unknown> }[];
}

async function projected(dbs: PartnerDbs): Promise<Projected[]> {
  const out: Projected[] = [];
  // Each owner's records are read once, whoever keeps them.
  const truths = new Map<string, Promise<{ subject: string; data: Record<string, unknown> }[]>>();
  for (const consumer of Object.keys(MODULES) as Name[]) {
    for (const subscription of MODULES[consumer].subscriptions?.(dbs[consumer]) ?? []) {
      const source = subscription.source as Name;
      for (const [kind, spec] of Object.entries(subscription.kinds)) {
        const snapshot = MODULES[source].snapshots?.[kind];
        if (!snapshot) throw new Error(`${consumer} keeps ${source}'s ${kind} records, but ${source} declares no snapshot of them`);
        if (!truths.has(`${source}|${kind}`))
          truths.set(
            `${source}|${kind}`,
            snapshot(dbs[source]).then((rows) => rows.map((t) => ({ subject: t.subject, data: plain(t.data) }))),
          );
        const truth = await truths.get(`${source}|${kind}`)!;
        // The states are plain JSON values already (plain() above): rows are made of them as they are.
        const expected = truth.flatMap((t) => rowsOf(spec, t.data, t.subject).map((r) => ({ ref: t.subject, key: r.key, data: r.data })));
        out.push({ consumer, source, kind, subscription, expected, truth });
      }
    }
  }
  return out;
}

/**
 * Builds every projection from the owners' records and moves each consumer's cursor to the
 * source's head (events after it are applied on top). `also` runs each kind's side effects too
 * (admissions' `ownerApproved`): the seed's data has them right already, a repair sets them.
 */
export async function rebuildProjections(dbs: PartnerDbs, options: { also?: boolean } = {}): Promise<number> {
  // Heads first: an event committed after this is newer than the records read below and is applied on top.
  const heads = Object.fromEntries(await Promise.all((Object.keys(dbs) as Name[]).map(async (n) => [n, await createOutbox(dbs[n], n).head()] as const)));
  let n = 0;
  for (const p of await projected(dbs)) {
    await createProjections(dbs[p.consumer]).replace(p.kind, p.source, p.expected);
    const spec = p.subscription.kinds[p.kind]!;
    if (options.also && spec.also) for (const t of p.truth) await spec.also(plain(t.data), t.subject, undefined);
    await dbs[p.consumer]
      .collection<{ _id: string; after: string }>('cursors')
      .updateOne({ _id: `projections|${p.source}` }, { $set: { after: String(heads[p.source]) } }, { upsert: true });
    n += p.expected.length;
  }
  return n;
}

/** One difference between a projection and the owner's records. */
export interface Difference {
  consumer: Name;
  source: Name;
  kind: string;
  key: string;
  problem: 'missing' | 'extra' | 'different';
  expected?: unknown;
  actual?: unknown;
}

const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );

/** Every difference between the partners' projections and the owners' records (none when all is caught up). */
export async function reconcile(dbs: PartnerDbs): Promise<{ checked: number; differences: Difference[] }> {
  const differences: Difference[] = [];
  let checked = 0;
  for (const p of await projected(dbs)) {
    const actual = new Map((await createProjections(dbs[p.consumer]).all(p.kind)).map((r) => [r.key, r.data]));
    for (const e of p.expected) {
      checked++;
      const a = actual.get(e.key);
      actual.delete(e.key);
      if (a === undefined) differences.push({ consumer: p.consumer, source: p.source, kind: p.kind, key: e.key, problem: 'missing', expected: e.data });
      else if (canonical(a) !== canonical(e.data))
        differences.push({ consumer: p.consumer, source: p.source, kind: p.kind, key: e.key, problem: 'different', expected: e.data, actual: a });
    }
    for (const [key, a] of actual) differences.push({ consumer: p.consumer, source: p.source, kind: p.kind, key, problem: 'extra', actual: a });
  }
  // Admissions' own copy of the owners' approvals (institutions see an application only then).
  const approved = new Set(
    (
      await dbs.plans
        .collection('decisions')
        .find({ outcome: 'APPROVED' }, { projection: { _id: 1 } })
        .toArray()
    ).map((d) => String(d._id)),
  );
  for (const a of await dbs.admissions
    .collection('applications')
    .find({}, { projection: { ownerApproved: 1 } })
    .toArray()) {
    checked++;
    if (Boolean(a.ownerApproved) !== approved.has(String(a._id))) {
      differences.push({
        consumer: 'admissions',
        source: 'plans',
        kind: 'ownerApproved',
        key: String(a._id),
        problem: 'different',
        expected: approved.has(String(a._id)),
        actual: Boolean(a.ownerApproved),
      });
    }
  }
  return { checked, differences };
}
