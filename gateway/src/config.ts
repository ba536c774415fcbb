import { fileURLToPath } from 'node:url';
import { devGatewaySecret } from '@partnerskap/kit';
import { DEFAULT_SUBGRAPH_CALLS, type SubgraphCallOptions } from './data-source.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './rate-limit.js';

/** The subgraphs the gateway calls, by their name in the supergraph. */
export const SUBGRAPH_NAMES = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** The gateway's configuration. */
export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  /** The composed supergraph the gateway serves. */
  readonly supergraphPath: string;
  /** Subgraph URLs that replace the ones composed into the supergraph. */
  readonly subgraphUrls: Readonly<Partial<Record<SubgraphName, string>>>;
  /** False only when `NODE_ENV=production`: Sandbox and stack traces are for development. */
  readonly development: boolean;
  /** How client tokens are verified: a JWKS URL, or the development key (never in production). */
  readonly auth: Readonly<{ jwksUrl: string; issuer: string; audience: string; clockToleranceS: number } | { devKey: true }>;
  /** The secret shared with each subgraph, to sign its credentials. */
  readonly secrets: Readonly<Record<SubgraphName, string>>;
  /** Operation limits (`LIMIT_DEPTH`, `LIMIT_ALIASES`, `LIMIT_DIRECTIVES`, `LIMIT_TOKENS`, `LIMIT_COST`, `LIMIT_BODY_BYTES`). */
  readonly limits: Limits;
  /** Requests per minute (`RATE_LIMIT_PARTNER_PER_MINUTE`, `RATE_LIMIT_PUBLIC_PER_MINUTE`). */
  readonly rateLimits: RateLimits;
  /** Subgraph timeout and pool (`SUBGRAPH_TIMEOUT_MS`, `SUBGRAPH_CONNECTIONS`). */
  readonly subgraphCalls: SubgraphCallOptions;
  /** Browser origins allowed (`CORS_ORIGINS`, comma-separated). */
  readonly corsOrigins: readonly string[] | undefined;
  /** Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, comma-separated addresses). */
  readonly trustedProxies: readonly string[];
  /** Seconds a public answer may come from the response cache (`RESPONSE_CACHE_TTL_S`, default 0: off). */
  readonly responseCacheTtlSeconds: number;
  /** Serve `/metrics` (`METRICS=1`; always in development). */
  readonly metrics: boolean;
}

/** A whole number from the environment within bounds, or the default; problems are collected. */
function intEnv(env: Record<string, string | undefined>, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    return fallback;
  }
  return n;
}

const list = (raw: string | undefined) => (raw ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/** The committed supergraph. */
export const DEFAULT_SUPERGRAPH = fileURLToPath(new URL('../../schema/supergraph.graphql', import.meta.url));

/**
 * Reads the gateway's configuration once: `PORT` (4000), `HOST`, `SUPERGRAPH_PATH`,
 * `CATALOGUE_URL`, `ADMISSIONS_URL`, `PLANS_URL`, `FEEDBACK_URL`, `AUTH_JWKS_URL`,
 * `AUTH_ISSUER`, `AUTH_AUDIENCE`, `AUTH_CLOCK_TOLERANCE`, `GATEWAY_SECRET_<SUBGRAPH>`, `NODE_ENV`, the
 * limits (`LIMIT_*`), `RATE_LIMIT_*`, `SUBGRAPH_TIMEOUT_MS`, `SUBGRAPH_CONNECTIONS`, `CORS_ORIGINS`,
 * `TRUSTED_PROXIES`. Every malformed
 * variable is reported in one error; the result is frozen.
 */
export function loadGatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  const problems: string[] = [];
  const port = env.PORT ? Number(env.PORT) : 4000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be a port number (0-65535), got "${env.PORT}"`);
  const subgraphUrls: Partial<Record<SubgraphName, string>> = {};
  for (const name of SUBGRAPH_NAMES) {
    const value = env[`${name.toUpperCase()}_URL`];
    if (!value) continue;
    if (!/^https?:\/\/[^\s]+$/.test(value)) problems.push(`${name.toUpperCase()}_URL must be an http(s) URL, got "${value}"`);
    else subgraphUrls[name] = value;
  }
  const nodeEnv = env.NODE_ENV ?? 'development';
  if (!['development', 'production', 'test'].includes(nodeEnv)) problems.push(`NODE_ENV must be development, production or test, got "${nodeEnv}"`);
  const production = nodeEnv === 'production';
  let auth: GatewayConfig['auth'] = { devKey: true };
  if (env.AUTH_JWKS_URL) {
    if (!/^https?:\/\//.test(env.AUTH_JWKS_URL)) problems.push('AUTH_JWKS_URL must be an http(s) URL');
    if (!env.AUTH_ISSUER) problems.push('AUTH_ISSUER must be set with AUTH_JWKS_URL');
    if (!env.AUTH_AUDIENCE) problems.push('AUTH_AUDIENCE must be set with AUTH_JWKS_URL');
    const clockToleranceS = env.AUTH_CLOCK_TOLERANCE ? Number(env.AUTH_CLOCK_TOLERANCE) : 30;
    if (!Number.isInteger(clockToleranceS) || clockToleranceS < 0 || clockToleranceS > 300) problems.push('AUTH_CLOCK_TOLERANCE must be 0 to 300 seconds');
    auth = { jwksUrl: env.AUTH_JWKS_URL, issuer: env.AUTH_ISSUER ?? '', audience: env.AUTH_AUDIENCE ?? '', clockToleranceS };
  } else if (production) {
    problems.push('AUTH_JWKS_URL (with AUTH_ISSUER and AUTH_AUDIENCE) must be set in production: the development key is refused there');
  }
  const secrets = {} as Record<SubgraphName, string>;
  for (const name of SUBGRAPH_NAMES) {
    const variable = `GATEWAY_SECRET_${name.toUpperCase()}`;
    const secret = env[variable] || (production ? '' : devGatewaySecret(name));
    if (secret.length < 32) problems.push(`${variable} must be set to at least 32 characters (the ${name} subgraph's GATEWAY_SECRET)`);
    secrets[name] = secret;
  }
  const limits: Limits = {
    depth: intEnv(env, 'LIMIT_DEPTH', DEFAULT_LIMITS.depth, 1, 100, problems),
    aliases: intEnv(env, 'LIMIT_ALIASES', DEFAULT_LIMITS.aliases, 0, 1000, problems),
    directives: intEnv(env, 'LIMIT_DIRECTIVES', DEFAULT_LIMITS.directives, 0, 1000, problems),
    tokens: intEnv(env, 'LIMIT_TOKENS', DEFAULT_LIMITS.tokens, 50, 100_000, problems),
    cost: intEnv(env, 'LIMIT_COST', DEFAULT_LIMITS.cost, 1, 10_000_000, problems),
    bodyBytes: intEnv(env, 'LIMIT_BODY_BYTES', DEFAULT_LIMITS.bodyBytes, 1000, 10_000_000, problems),
    pageSize: DEFAULT_LIMITS.pageSize,
  };
  const rateLimits: RateLimits = {
    partnerPerMinute: intEnv(env, 'RATE_LIMIT_PARTNER_PER_MINUTE', DEFAULT_RATE_LIMITS.partnerPerMinute, 1, 10_000_000, problems),
    publicPerMinute: intEnv(env, 'RATE_LIMIT_PUBLIC_PER_MINUTE', DEFAULT_RATE_LIMITS.publicPerMinute, 1, 10_000_000, problems),
  };
  const subgraphCalls: SubgraphCallOptions = {
    timeoutMs: intEnv(env, 'SUBGRAPH_TIMEOUT_MS', DEFAULT_SUBGRAPH_CALLS.timeoutMs, 100, 120_000, problems),
    connections: intEnv(env, 'SUBGRAPH_CONNECTIONS', DEFAULT_SUBGRAPH_CALLS.connections, 1, 10_000, problems),
  };
  const responseCacheTtlSeconds = intEnv(env, 'RESPONSE_CACHE_TTL_S', 0, 0, 3600, problems);
  const corsOrigins = env.CORS_ORIGINS === undefined ? undefined : list(env.CORS_ORIGINS);
  for (const origin of corsOrigins ?? []) if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) problems.push(`CORS_ORIGINS must list origins such as https://partner.example.no, got "${origin}"`);
  if (production && corsOrigins?.includes('*')) problems.push('CORS_ORIGINS must not be * in production: list the partners\' origins');
  if (problems.length > 0) throw new Error(`Invalid gateway configuration:\n- ${problems.join('\n- ')}`);
  return Object.freeze({
    port,
    host: env.HOST || '127.0.0.1',
    supergraphPath: env.SUPERGRAPH_PATH || DEFAULT_SUPERGRAPH,
    subgraphUrls: Object.freeze(subgraphUrls),
    development: !production,
    auth: Object.freeze(auth),
    secrets: Object.freeze(secrets),
    limits: Object.freeze(limits),
    rateLimits: Object.freeze(rateLimits),
    subgraphCalls: Object.freeze(subgraphCalls),
    corsOrigins: corsOrigins ? Object.freeze(corsOrigins) : undefined,
    trustedProxies: Object.freeze(list(env.TRUSTED_PROXIES)),
    responseCacheTtlSeconds,
    metrics: !production || env.METRICS === '1',
  });
}
