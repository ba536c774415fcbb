import { type Authenticator, type AuthOptions, createAuthenticator } from './auth.js';
import { type GatewayConfig } from './config.js';
import { DEV_AUDIENCE, DEV_ISSUER, loadOrCreateDevKey } from './dev-key.js';
import { type GatewayServerOptions } from './server.js';

/**
 * The gateway's options as its configuration (`loadGatewayConfig`) gives them: one reading of the
 * environment for every way the gateway runs (`npm run gateway` and the images, `npm start` and
 * `npm run dev`, which bring their own subgraph URLs and secrets), so a variable set for one holds
 * for all.
 */
export function gatewayOptionsFrom(
  config: GatewayConfig,
): Pick<
  GatewayServerOptions,
  | 'development'
  | 'limits'
  | 'rateLimits'
  | 'rateLimitRedisUrl'
  | 'subgraphCalls'
  | 'trustedProxies'
  | 'responseCacheTtlSeconds'
  | 'metrics'
  | 'corsOrigins'
  | 'overrideLabels'
  | 'trustedDocuments'
> {
  return {
    development: config.development,
    limits: config.limits,
    rateLimits: config.rateLimits,
    ...(config.rateLimitRedisUrl ? { rateLimitRedisUrl: config.rateLimitRedisUrl } : {}),
    subgraphCalls: config.subgraphCalls,
    trustedProxies: config.trustedProxies,
    responseCacheTtlSeconds: config.responseCacheTtlSeconds,
    metrics: config.metrics,
    ...(config.corsOrigins ? { corsOrigins: config.corsOrigins } : {}),
    overrideLabels: config.overrideLabels,
    trustedDocuments: config.trustedDocuments,
  };
}

/** How client tokens are verified under a configuration: the identity provider's JWKS, or (`PARTNERSKAP_DEV=1`) the development key. */
export async function authOptionsFrom(config: GatewayConfig): Promise<AuthOptions> {
  if ('jwksUrl' in config.auth) return config.auth;
  return { jwks: { keys: [(await loadOrCreateDevKey()).publicJwk] }, issuer: DEV_ISSUER, audience: DEV_AUDIENCE };
}

/** The authenticator of a configuration (see {@link authOptionsFrom}). */
export async function authenticatorFrom(config: GatewayConfig): Promise<Authenticator> {
  return createAuthenticator(await authOptionsFrom(config));
}
