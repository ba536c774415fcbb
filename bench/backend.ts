/**
 * The bench's backend, in a process of its own: the embedded store with the demo data and the four
 * subgraphs on free ports. Prints one JSON line (their URLs and the owners that have applications)
 * when ready; stops on SIGTERM.
 */
import { startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { startSubgraph } from '@partnerskap/kit';
import { admissions } from '@partnerskap/admissions';
import { catalogue } from '@partnerskap/catalogue';
import { feedback } from '@partnerskap/feedback';
import { plans } from '@partnerskap/plans';
import { MongoClient } from 'mongodb';
import { partnerDbs, seedDemoData } from '../demo/seed.js';
import { BENCH_SECRETS } from './workload.js';

process.env.LOG_LEVEL = 'silent';
const store = await startEmbeddedMongo({ log: () => undefined });
const client = await MongoClient.connect(store.uri);
const dbs = partnerDbs(client, 'bench_');
await seedDemoData(dbs);
const modules = { catalogue, admissions, plans, feedback } as const;
const urls: Record<string, string> = {};
const running: { stop(): Promise<void> }[] = [];
for (const [name, module] of Object.entries(modules)) {
  const s = await startSubgraph(module as never, {
    db: dbs[name as keyof typeof modules],
    port: 0,
    development: false,
    gatewaySecret: BENCH_SECRETS[name as keyof typeof BENCH_SECRETS],
  });
  urls[name] = s.url;
  running.push(s);
}
const owners = (await dbs.admissions.collection('applications').distinct('owner')).filter((o: string) => /^\d{4}$/.test(o));
process.stdout.write(`${JSON.stringify({ urls, owners })}\n`);
process.once('SIGTERM', async () => {
  await Promise.all(running.map((s) => s.stop()));
  await client.close();
  await store.close();
  process.exit(0);
});
