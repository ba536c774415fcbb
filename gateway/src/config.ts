import { fileURLToPath } from 'node:url';

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
}

/** The committed supergraph. */
export const DEFAULT_SUPERGRAPH = fileURLToPath(new URL('../../schema/supergraph.graphql', import.meta.url));

/**
 * Reads the gateway's configuration once: `PORT` (4000), `HOST`, `SUPERGRAPH_PATH`,
 * `CATALOGUE_URL`, `ADMISSIONS_URL`, `PLANS_URL`, `FEEDBACK_URL`, `NODE_ENV`. Every malformed
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
  if (problems.length > 0) throw new Error(`Invalid gateway configuration:\n- ${problems.join('\n- ')}`);
  return Object.freeze({
    port,
    host: env.HOST || '127.0.0.1',
    supergraphPath: env.SUPERGRAPH_PATH || DEFAULT_SUPERGRAPH,
    subgraphUrls: Object.freeze(subgraphUrls),
    development: nodeEnv !== 'production',
  });
}
