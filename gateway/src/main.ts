import { loadGatewayConfig } from './config.js';
import { createAuthenticator } from './auth.js';
import { DEV_AUDIENCE, DEV_ISSUER, loadOrCreateDevKey } from './dev-key.js';
import { createLogger } from './log.js';
import { recordSupergraphReload } from './metrics.js';
import { createGatewayServer, listenGateway } from './server.js';

const config = loadGatewayConfig(process.env);
const authenticate =
  'jwksUrl' in config.auth
    ? createAuthenticator(config.auth)
    : createAuthenticator({ jwks: { keys: [(await loadOrCreateDevKey()).publicJwk] }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE });
const logger = createLogger();
const server = createGatewayServer({
  logger,
  ...(config.supergraphSourceUrl ? { supergraphSourceUrl: config.supergraphSourceUrl } : { supergraphPath: config.supergraphPath }),
  supergraphPollMs: config.supergraphPollMs,
  onSupergraphReload: ({ applied }) => recordSupergraphReload(applied ? 'applied' : 'refused'),
  subgraphUrls: config.subgraphs.urlOf,
  development: config.development,
  authenticate,
  secrets: config.subgraphs.secretOf,
  limits: config.limits,
  rateLimits: config.rateLimits,
  subgraphCalls: config.subgraphCalls,
  trustedProxies: config.trustedProxies,
  responseCacheTtlSeconds: config.responseCacheTtlSeconds,
  metrics: config.metrics,
  ...(config.corsOrigins ? { corsOrigins: config.corsOrigins } : {}),
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
    void gateway.stop().then(() => process.exit(0));
  });
}
