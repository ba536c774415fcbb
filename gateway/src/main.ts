import { loadGatewayConfig } from './config.js';
import { createLogger } from './log.js';
import { authenticatorFrom, gatewayOptionsFrom } from './options.js';
import { recordSupergraphReload } from './metrics.js';
import { createGatewayServer, listenGateway } from './server.js';
import { startGatewayTracing } from './tracing.js';

const config = loadGatewayConfig(process.env);
const authenticate = await authenticatorFrom(config);
const logger = createLogger();
// Traces only when the OpenTelemetry variables ask for them (docs/tracing.md).
const tracing = await startGatewayTracing(process.env);
const server = createGatewayServer({
  logger,
  ...(tracing.tracer ? { tracer: tracing.tracer } : {}),
  ...(config.supergraphSourceUrl ? { supergraphSourceUrl: config.supergraphSourceUrl } : { supergraphPath: config.supergraphPath }),
  supergraphPollMs: config.supergraphPollMs,
  onSupergraphReload: ({ applied }) => recordSupergraphReload(applied ? 'applied' : 'refused'),
  subgraphUrls: (name) => config.subgraphs.urlOf(name),
  authenticate,
  secrets: (name) => config.subgraphs.secretOf(name),
  ...gatewayOptionsFrom(config),
});
const gateway = await listenGateway(server, { port: config.port, host: config.host, shutdownGraceMs: config.shutdownGraceMs });
process.stdout.write(`gateway ready at ${gateway.url}\n`);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal while draining means: now.
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ msg: `${signal}: draining requests in flight, then stopping`, graceMs: config.shutdownGraceMs });
    void gateway
      .stop()
      .then(() => tracing.shutdown())
      .then(() => process.exit(0));
  });
}
