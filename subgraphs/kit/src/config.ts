import { DEFAULT_SHUTDOWN_GRACE_MS } from './http.js';

/** What every subgraph needs from its environment. */
export interface SubgraphConfig {
  readonly name: string;
  readonly port: number;
  readonly host: string;
  readonly mongodbUri: string;
  readonly database: string;
  /** False only when `NODE_ENV=production`: stack traces and Sandbox are for development. */
  readonly development: boolean;
  /** The secret this subgraph shares with the gateway, to verify its credentials. */
  readonly gatewaySecret: string;
  /** The gateway, for rules that ask another partner's decision as a service (`SUPERGRAPH_URL`). */
  readonly supergraphUrl: string;
  /** Serve `GET /metrics` (`METRICS=1`; always in development). */
  readonly metrics: boolean;
  /** How long a stop lets requests in flight finish (`SHUTDOWN_GRACE_MS`, default 10,000). */
  readonly shutdownGraceMs: number;
}

/** The secret a subgraph and the gateway use in development when none is configured (refused in production). */
export function devGatewaySecret(name: string): string {
  return `development-only-gateway-secret-for-${name}`;
}

/** The store `npm run mongo` starts by default. */
export const DEFAULT_MONGODB_URI = 'mongodb://127.0.0.1:27017/';

/**
 * Reads a subgraph's configuration once: `PORT`, `HOST`, `MONGODB_URI`, `MONGODB_DB`, `NODE_ENV`,
 * `GATEWAY_SECRET`, `SUPERGRAPH_URL`, `PARTNERSKAP_NOW`, `METRICS`, `SHUTDOWN_GRACE_MS`.
 * Every malformed variable is reported in one error; the result is frozen.
 */
export function loadSubgraphConfig(
  env: Record<string, string | undefined>,
  name: string,
  defaultPort: number,
): SubgraphConfig {
  const problems: string[] = [];
  const port = env.PORT === undefined || env.PORT === '' ? defaultPort : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be a port number (0-65535), got "${env.PORT}"`);
  const mongodbUri = env.MONGODB_URI || DEFAULT_MONGODB_URI;
  if (!/^mongodb(\+srv)?:\/\//.test(mongodbUri)) problems.push('MONGODB_URI must start with mongodb:// or mongodb+srv://');
  const database = env.MONGODB_DB || `partnerskap_${name}`;
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(database)) problems.push(`MONGODB_DB must be 1-63 letters, digits, _ or -, got "${database}"`);
  const nodeEnv = env.NODE_ENV ?? 'development';
  if (!['development', 'production', 'test'].includes(nodeEnv)) problems.push(`NODE_ENV must be development, production or test, got "${nodeEnv}"`);
  const production = nodeEnv === 'production';
  const gatewaySecret = env.GATEWAY_SECRET || (production ? '' : devGatewaySecret(name));
  if (gatewaySecret.length < 32) problems.push('GATEWAY_SECRET must be set to at least 32 characters (shared with the gateway)');
  const supergraphUrl = env.SUPERGRAPH_URL || 'http://127.0.0.1:4000/';
  if (!/^https?:\/\//.test(supergraphUrl)) problems.push(`SUPERGRAPH_URL must be an http(s) URL, got "${supergraphUrl}"`);
  if (env.PARTNERSKAP_NOW && Number.isNaN(Date.parse(env.PARTNERSKAP_NOW))) problems.push(`PARTNERSKAP_NOW must be an ISO 8601 time, got "${env.PARTNERSKAP_NOW}"`);
  const shutdownGraceMs = env.SHUTDOWN_GRACE_MS ? Number(env.SHUTDOWN_GRACE_MS) : DEFAULT_SHUTDOWN_GRACE_MS;
  if (!Number.isInteger(shutdownGraceMs) || shutdownGraceMs < 0 || shutdownGraceMs > 600_000) problems.push(`SHUTDOWN_GRACE_MS must be a whole number from 0 to 600000, got "${env.SHUTDOWN_GRACE_MS}"`);
  if (problems.length > 0) throw new Error(`Invalid configuration of the ${name} subgraph:\n- ${problems.join('\n- ')}`);
  return Object.freeze({
    name,
    port,
    host: env.HOST || '127.0.0.1',
    mongodbUri,
    database,
    development: !production,
    gatewaySecret,
    supergraphUrl,
    metrics: !production || env.METRICS === '1',
    shutdownGraceMs,
  });
}
