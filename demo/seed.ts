/** Loads the demo data into the four partners' databases (`npm run seed` reloads it). */
import { type Db, MongoClient } from 'mongodb';
import { FIGURES_COLLECTION } from '@partnerskap/kit';
import { type DemoData, generateDemoData } from './generate.js';
import { rebuildFigures } from './figures.js';
import { EVENT_COLLECTIONS, rebuildProjections } from './projections.js';

/** The partners' databases, one each. */
export type PartnerDbs = Record<keyof DemoData, Db>;

/** The database names the subgraphs use by default (`MONGODB_DB` overrides one subgraph's). */
export function partnerDbs(client: MongoClient, prefix = 'partnerskap_'): PartnerDbs {
  return {
    catalogue: client.db(`${prefix}catalogue`),
    admissions: client.db(`${prefix}admissions`),
    plans: client.db(`${prefix}plans`),
    feedback: client.db(`${prefix}feedback`),
  };
}

/** Whether every partner's database already holds demo data. */
export async function isSeeded(dbs: PartnerDbs): Promise<boolean> {
  const counts = await Promise.all([
    dbs.catalogue.collection('studies').estimatedDocumentCount(),
    dbs.admissions.collection('applications').estimatedDocumentCount(),
    dbs.plans.collection('decisions').estimatedDocumentCount(),
    dbs.feedback.collection('feedback').estimatedDocumentCount(),
  ]);
  return counts.every((n) => n > 0);
}

/**
 * Replaces every demo collection's content; `progress` hears each collection as it is loaded,
 * `documents` the documents written so far of all there are, after every batch (a progress bar).
 */
export async function seedDemoData(
  dbs: PartnerDbs,
  progress: (line: string) => void = () => undefined,
  documents: (done: number, of: number) => void = () => undefined,
  options: { projections?: boolean } = {},
): Promise<number> {
  const data = generateDemoData();
  const all = Object.values(data)
    .flatMap((collections: Record<string, unknown[]>) => Object.values(collections))
    .reduce((n, docs) => n + docs.length, 0);
  let total = 0;
  for (const [partner, collections] of Object.entries(data) as [keyof DemoData, Record<string, Record<string, unknown>[]>][]) {
    for (const [name, docs] of Object.entries(collections)) {
      const coll = dbs[partner].collection(name);
      await coll.drop().catch(() => undefined);
      for (let i = 0; i < docs.length; i += 5000) {
        await coll.insertMany(docs.slice(i, i + 5000), { ordered: true });
        documents(total + Math.min(i + 5000, docs.length), all);
      }
      total += docs.length;
      progress(`${partner}.${name}: ${docs.length.toLocaleString('en-US')} documents`);
    }
  }
  // Each partner's figures (counts and sums served on every page) are recounted from its records; its writes keep them from here on.
  await Promise.all(
    Object.values(dbs).map((db) =>
      db
        .collection(FIGURES_COLLECTION)
        .drop()
        .catch(() => undefined),
    ),
  );
  const cells = await rebuildFigures(dbs, undefined, data);
  progress(`figures: ${cells.toLocaleString('en-US')} cells the partners serve, counted from their records`);
  // The events machinery starts afresh, and each partner's projections of the others' records are built from them.
  for (const db of Object.values(dbs))
    for (const name of EVENT_COLLECTIONS)
      await db
        .collection(name)
        .drop()
        .catch(() => undefined);
  // (Tests that only read may leave them out: about 190,000 rows, most of a seed's time.)
  if (options.projections ?? true) {
    const kept = await rebuildProjections(dbs);
    progress(`projections: ${kept.toLocaleString('en-US')} records the partners keep of each other's`);
  }
  return total;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const uri = process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/';
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 3000 }).catch((err: Error) => {
    console.error(`Cannot reach MongoDB at ${uri} (${err.message}). Start the store first (npm run mongo) or set MONGODB_URI.`);
    process.exit(1);
  });
  const started = performance.now();
  const n = await seedDemoData(partnerDbs(client), (line) => console.log(`  ${line}`));
  console.log(`seeded ${n.toLocaleString('en-US')} documents in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await client.close();
}
