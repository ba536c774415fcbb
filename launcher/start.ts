/** `npm start`: the embedded store (or MONGODB_URI), demo data on first start, the registry's subgraphs and the gateway. */
import { readFileSync } from 'node:fs';
import { type EmbeddedMongo, startEmbeddedMongo, storeRefusal } from '@partnerskap/embedded-mongo';
import { authOptionsFrom, gatewayOptionsFrom, loadGatewayConfig } from '@partnerskap/gateway';
import { startSupergraph } from './supergraph.js';

if (process.env.NODE_ENV === 'production') {
  console.error('npm start runs the development stack (demo data, a development key): unset NODE_ENV=production, or deploy the images (docs/operations.md)');
  process.exit(1);
}
// The gateway reads the same variables as `npm run gateway` and the images (CORS_ORIGINS, LIMIT_*,
// RATE_LIMIT_*, AUTH_*...); npm start is development asked for, so the development key is allowed.
let config: ReturnType<typeof loadGatewayConfig>;
try {
  config = loadGatewayConfig({ ...process.env, PARTNERSKAP_DEV: process.env.PARTNERSKAP_DEV || '1' });
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
const terminal = process.stdout.isTTY === true;

/** A progress bar on one terminal line (a plain line now and then elsewhere). */
function seedBar(): (done: number, of: number) => void {
  let lastPercent = -1;
  return (done, of) => {
    const percent = Math.floor((done / of) * 100);
    if (percent === lastPercent) return;
    lastPercent = percent;
    if (!terminal) {
      if (percent % 25 === 0) console.log(`  ${percent}% (${done.toLocaleString('en-US')} of ${of.toLocaleString('en-US')} documents)`);
      return;
    }
    const width = 30;
    const filled = Math.round((percent / 100) * width);
    process.stdout.write(
      `\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent).padStart(3)}%  ${done.toLocaleString('en-US')} of ${of.toLocaleString('en-US')} documents${done >= of ? '\n' : ''}`,
    );
  };
}

const started = performance.now();
let store: EmbeddedMongo | undefined;
const storeDir = process.env.MONGO_DIR || '.data/mongo';
if (!process.env.MONGODB_URI) {
  console.log(`starting the embedded store (${storeDir})`);
  try {
    store = await startEmbeddedMongo({ port: Number(process.env.MONGO_PORT ?? 27017), dir: storeDir, fsync: 'interval' });
  } catch (err) {
    // A damaged journal or a directory another store holds: the message says what to do, no stack.
    const refusal = storeRefusal(err);
    if (!refusal) throw err;
    console.error(refusal);
    process.exit(1);
  }
}
const mongodbUri = process.env.MONGODB_URI ?? store!.uri;
const running = await startSupergraph({
  mongodbUri,
  // PORT=0: every service on a free port (a test runs npm start beside another).
  ports:
    config.port === 0
      ? { gateway: 0, catalogue: 0, admissions: 0, plans: 0, feedback: 0 }
      : { gateway: config.port, catalogue: 4001, admissions: 4002, plans: 4003, feedback: 4004 },
  // In a terminal the collections' lines would scroll the bar away: the bar says it all.
  progress: (line) => (terminal && line.startsWith('  ') ? undefined : console.log(line)),
  seedProgress: seedBar(),
  auth: await authOptionsFrom(config),
  gateway: gatewayOptionsFrom(config),
  // OpenTelemetry traces when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER=otlp) asks (docs/tracing.md).
  tracing: process.env,
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`
Partnerskap is up (${seconds} s):
  gateway     ${running.gateway.url}   (Apollo Sandbox: open it in a browser)
  explorer    ${new URL('/graphiql', running.gateway.url).href}   (GraphiQL from the gateway itself: works offline)
  catalogue   ${running.subgraphs.catalogue.url}
  admissions  ${running.subgraphs.admissions.url}
  plans       ${running.subgraphs.plans.url}
  feedback    ${running.subgraphs.feedback.url}
${Object.entries(running.others)
  .map(([name, o]) => `  ${name.padEnd(11)} ${o.listening.url}\n`)
  .join('')}  database    ${store ? `${store.uri} (embedded, data in ${storeDir})` : 'MONGODB_URI'}

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
