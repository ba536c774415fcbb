import { loadGatewayConfig } from './config.js';
import { createAuthenticator } from './auth.js';
import { DEV_AUDIENCE, DEV_ISSUER, loadOrCreateDevKey } from './dev-key.js';
import { createGatewayServer, listenGateway } from './server.js';

const config = loadGatewayConfig(process.env);
const authenticate =
  'jwksUrl' in config.auth
    ? createAuthenticator(config.auth)
    : createAuthenticator({ jwks: { keys: [(await loadOrCreateDevKey()).publicJwk] }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE });
const server = createGatewayServer({
  ...(config.supergraphSourceUrl ? { supergraphSourceUrl: config.supergraphSourceUrl } : { supergraphPath: config.supergraphPath }),
  supergraphPollMs: config.supergraphPollMs,
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
const gateway = await listenGateway(server, { port: config.port, host: config.host });
process.stdout.write(`gateway ready at ${gateway.url}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void gateway.stop().then(() => process.exit(0));
  });
}
