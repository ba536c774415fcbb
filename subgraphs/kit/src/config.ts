import { DEFAULT_SHUTDOWN_GRACE_MS, devGatewaySecret, devModeFromEnv } from '@partnerskap/common';

/** What every subgraph needs from its environment. */
export interface SubgraphConfig {
  readonly name: string;
  readonly port: number;
  readonly host: string;
  readonly mongodbUri: string;
  readonly database: string;
  /** False only when `NODE_ENV=production`: stack traces and Sandbox are for development. */
  readonly development: boolean;
  /** `PARTNERSKAP_DEV=1`: development asked for explicitly, so a missing `GATEWAY_SECRET` falls back to this machine's development secret. */
  readonly devMode: boolean;
  /** The secret this subgraph shares with the gateway, to verify its credentials. */
  readonly gatewaySecret: string;
  /** The gateway, for rules that ask another partner's decision as a service (`SUPERGRAPH_URL`). */
  readonly supergraphUrl: string;
  /** Serve `GET /metrics` (`METRICS=1`; always in development). */
  readonly metrics: boolean;
  /** How long a stop lets requests in flight finish (`SHUTDOWN_GRACE_MS`, default 10,000). */
  readonly shutdownGraceMs: number;
  /** The assumptions the strategy insights value funding with (`INSIGHTS_*`; the catalogue uses them). */
  readonly insights: InsightsSettings;
}

/** The assumptions the strategy insights turn funded participants into NOK and FTEs with. */
export interface InsightsSettings {
  /** The average salary cost of one teacher FTE (årsverk) with social costs, NOK (`INSIGHTS_NOK_PER_FTE`, default 850,000). */
  readonly nokPerFte: number;
  /** The scholarship per participant and study year, NOK (`INSIGHTS_SCHOLARSHIP_NOK`, default 120,000). */
  readonly scholarshipNok: number;
}

/** The insights' assumptions when none are configured: an assumed salary cost, the scholarship of recent years. */
export const DEFAULT_INSIGHTS: InsightsSettings = Object.freeze({ nokPerFte: 850_000, scholarshipNok: 120_000 });

/** Reads `INSIGHTS_NOK_PER_FTE` and `INSIGHTS_SCHOLARSHIP_NOK` (whole kroner), adding what is malformed to `problems`. */
function readInsights(env: Record<string, string | undefined>, problems: string[]): InsightsSettings {
  const read = (name: string, fallback: number, max: number) => {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > max) problems.push(`${name} must be a whole number of kroner from 1 to ${max}, got "${raw}"`);
    return value;
  };
  return Object.freeze({
    nokPerFte: read('INSIGHTS_NOK_PER_FTE', DEFAULT_INSIGHTS.nokPerFte, 10_000_000),
    scholarshipNok: read('INSIGHTS_SCHOLARSHIP_NOK', DEFAULT_INSIGHTS.scholarshipNok, 1_000_000),
  });
}

/** The insights' assumptions from the environment alone (for `npm start`, which runs every subgraph in one process). */
export function insightsFromEnv(env: Record<string, string | undefined>): InsightsSettings {
  const problems: string[] = [];
  const settings = readInsights(env, problems);
  if (problems.length > 0) throw new Error(`Invalid configuration:\n- ${problems.join('\n- ')}`);
  return settings;
}

/** The store `npm run mongo` starts by default. */
export const DEFAULT_MONGODB_URI = 'mongodb://127.0.0.1:27017/';

/**
 * Reads a subgraph's configuration once: `PORT`, `HOST`, `MONGODB_URI`, `MONGODB_DB`, `NODE_ENV`,
 * `GATEWAY_SECRET`, `PARTNERSKAP_DEV`, `SUPERGRAPH_URL`, `PARTNERSKAP_NOW`, `METRICS`, `SHUTDOWN_GRACE_MS`, `INSIGHTS_NOK_PER_FTE`,
 * `INSIGHTS_SCHOLARSHIP_NOK`.
 * Every malformed variable is reported in one error; the result is frozen.
 */
export function loadSubgraphConfig(env: Record<string, string | undefined>, name: string, defaultPort: number): SubgraphConfig {
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
  const devMode = devModeFromEnv(env, problems);
  const gatewaySecret = env.GATEWAY_SECRET || (devMode ? devGatewaySecret(name) : '');
  if (gatewaySecret.length < 32)
    problems.push('GATEWAY_SECRET must be set to at least 32 characters (shared with the gateway), or PARTNERSKAP_DEV=1 for the development secret');
  const supergraphUrl = env.SUPERGRAPH_URL || 'http://127.0.0.1:4000/';
  if (!/^https?:\/\//.test(supergraphUrl)) problems.push(`SUPERGRAPH_URL must be an http(s) URL, got "${supergraphUrl}"`);
  if (env.PARTNERSKAP_NOW && Number.isNaN(Date.parse(env.PARTNERSKAP_NOW)))
    problems.push(`PARTNERSKAP_NOW must be an ISO 8601 time, got "${env.PARTNERSKAP_NOW}"`);
  const shutdownGraceMs = env.SHUTDOWN_GRACE_MS ? Number(env.SHUTDOWN_GRACE_MS) : DEFAULT_SHUTDOWN_GRACE_MS;
  if (!Number.isInteger(shutdownGraceMs) || shutdownGraceMs < 0 || shutdownGraceMs > 600_000)
    problems.push(`SHUTDOWN_GRACE_MS must be a whole number from 0 to 600000, got "${env.SHUTDOWN_GRACE_MS}"`);
  const insights = readInsights(env, problems);
  if (problems.length > 0) throw new Error(`Invalid configuration of the ${name} subgraph:\n- ${problems.join('\n- ')}`);
  return Object.freeze({
    name,
    port,
    host: env.HOST || '127.0.0.1',
    mongodbUri,
    database,
    development: !production,
    devMode,
    gatewaySecret,
    supergraphUrl,
    metrics: !production || env.METRICS === '1',
    shutdownGraceMs,
    insights,
  });
}
