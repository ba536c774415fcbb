/** `npm start`: the embedded store (or MONGODB_URI), demo data on first start, the registry's subgraphs and the gateway. */
import { readFileSync } from 'node:fs';
import { type EmbeddedMongo, startEmbeddedMongo } from '@partnerskap/embedded-mongo';
import { startSupergraph } from './supergraph.js';

const started = performance.now();
let store: EmbeddedMongo | undefined;
if (!process.env.MONGODB_URI) {
  store = await startEmbeddedMongo({ port: Number(process.env.MONGO_PORT ?? 27017), dir: '.data/mongo', fsync: 'interval' });
}
const mongodbUri = process.env.MONGODB_URI ?? store!.uri;
const running = await startSupergraph({
  mongodbUri,
  ports: { gateway: 4000, catalogue: 4001, admissions: 4002, plans: 4003, feedback: 4004 },
  progress: (line) => console.log(line),
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`
Partnerskap is up (${seconds} s):
  gateway     ${running.gateway.url}   (Apollo Sandbox: open it in a browser)
  catalogue   ${running.subgraphs.catalogue.url}
  admissions  ${running.subgraphs.admissions.url}
  plans       ${running.subgraphs.plans.url}
  feedback    ${running.subgraphs.feedback.url}
${Object.entries(running.others).map(([name, o]) => `  ${name.padEnd(11)} ${o.listening.url}\n`).join('')}  database    ${store ? `${store.uri} (embedded, data in .data/mongo)` : 'MONGODB_URI'}

Try the example (npm run example in another terminal), or paste it into Sandbox:
${readFileSync(new URL('../operations/english-studies.graphql', import.meta.url), 'utf8')}
with the variables { "owner": "4601" }. Stop with Ctrl-C.`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the gateway, the subgraphs and the store`);
    void running
      .stop()
      .then(() => store?.close())
      .then(() => process.exit(0));
  });
}
