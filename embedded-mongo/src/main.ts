import { parseArgs } from 'node:util';
import { JournalError } from './journal.js';
import { StoreLockedError } from './lock.js';
import { startEmbeddedMongo } from './server.js';

const USAGE = 'usage: npm run mongo -- [--port 27017] [--dir .data/mongo] [--fsync always|interval] [--salvage] [--enable-test-commands]';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '27017' },
    dir: { type: 'string' },
    fsync: { type: 'string', default: 'always' },
    // Start from the valid records of a damaged journal, keeping the damaged file aside.
    salvage: { type: 'boolean', default: false },
    // configureFailPoint, for the driver's retry tests; never for npm start.
    'enable-test-commands': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535 || (values.fsync !== 'always' && values.fsync !== 'interval')) {
  console.error(USAGE);
  process.exit(2);
}

const store = await startEmbeddedMongo({
  port,
  fsync: values.fsync,
  ...(values.dir ? { dir: values.dir } : {}),
  ...(values.salvage ? { salvage: true } : {}),
  ...(values['enable-test-commands'] ? { enableTestCommands: true } : {}),
}).catch((err: unknown) => {
  // A refusal the operator acts on: its message, not a stack.
  if (!(err instanceof JournalError || err instanceof StoreLockedError)) throw err;
  process.stderr.write(`[embedded-mongo] ${err.message}\n`);
  process.exit(1);
});
console.log(store.uri);

const stop = (signal: string): void => {
  process.stderr.write(`[embedded-mongo] ${signal}: closing\n`);
  void store.close().then(() => process.exit(0));
};
process.once('SIGINT', () => stop('SIGINT'));
process.once('SIGTERM', () => stop('SIGTERM'));
