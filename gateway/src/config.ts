import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Identity, ROLES, devGatewaySecret, devModeFromEnv } from '@partnerskap/common';
import { DEFAULT_SUBGRAPH_CALLS, type SubgraphCallOptions } from './data-source.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './rate-limit.js';

/** A subgraph's name as it appears in environment variables: `plans` → `PLANS`, `in-service` → `IN_SERVICE`. */
export const envName = (name: string): string => name.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/**
 * Where the gateway finds each subgraph and the secret it shares with it. The names come from the
 * supergraph being served (a new supergraph may name a new subgraph), so these are looked up by
 * name: `<NAME>_URL` and `GATEWAY_SECRET_<NAME>` in the environment first, then the file
 * `GATEWAY_SUBGRAPHS_FILE` (read again when it changes, so a new partner needs no restart), then
 * the composed URL and, only with `PARTNERSKAP_DEV=1` and only for a subgraph registered in
 * `schema/subgraphs.json`, this machine's development secret.
 */
export interface SubgraphSettings {
  /** The URL replacing the composed one, if any. */
  urlOf(name: string): string | undefined;
  /** The shared secret, if any. */
  secretOf(name: string): string | undefined;
}

/** The gateway's configuration. */
export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  /** The supergraph file the gateway serves and watches (`SUPERGRAPH_PATH`, default the committed one). */
  readonly supergraphPath: string;
  /** A URL to fetch the supergraph from instead (`SUPERGRAPH_SOURCE_URL`). */
  readonly supergraphSourceUrl: string | undefined;
  /** Milliseconds between looks for a new supergraph (`SUPERGRAPH_POLL_MS`, default 1000; 0 turns hot reload off). */
  readonly supergraphPollMs: number;
  /** Each subgraph's URL and secret, by name. */
  readonly subgraphs: SubgraphSettings;
  /** False only when `NODE_ENV=production`: Sandbox and stack traces are for development. */
  readonly development: boolean;
  /** `PARTNERSKAP_DEV=1`: development asked for explicitly, the only way to the development secrets and key (refused with `NODE_ENV=production`). */
  readonly devMode: boolean;
  /** How client tokens are verified: a JWKS URL, or the development key (only with `PARTNERSKAP_DEV=1`). */
  readonly auth: Readonly<{ jwksUrl: string; issuer: string; audience: string; clockToleranceS: number } | { devKey: true }>;
  /** Operation limits (`LIMIT_DEPTH`, `LIMIT_ALIASES`, `LIMIT_FIELDS`, `LIMIT_DIRECTIVES`, `LIMIT_PARTNER_COST`, `LIMIT_TOKENS`, `LIMIT_COST`, `LIMIT_BODY_BYTES`). */
  readonly limits: Limits;
  /** Requests per minute (`RATE_LIMIT_PARTNER_PER_MINUTE`, `RATE_LIMIT_PUBLIC_PER_MINUTE`) and the public's cost units per minute (`RATE_LIMIT_PUBLIC_COST_PER_MINUTE`). */
  readonly rateLimits: RateLimits;
  /** A Redis the replicas share their rate limits in (`RATE_LIMIT_REDIS_URL`, `redis://` or `rediss://`; default none: each counts in its memory). */
  readonly rateLimitRedisUrl: string | undefined;
  /** Subgraph timeout and pool (`SUBGRAPH_TIMEOUT_MS`, `SUBGRAPH_CONNECTIONS`). */
  readonly subgraphCalls: SubgraphCallOptions;
  /** Browser origins allowed (`CORS_ORIGINS`, comma-separated). */
  readonly corsOrigins: readonly string[] | undefined;
  /** Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, comma-separated addresses). */
  readonly trustedProxies: readonly string[];
  /** Seconds a public answer may come from the response cache (`RESPONSE_CACHE_TTL_S`, default 0: off). */
  readonly responseCacheTtlSeconds: number;
  /**
   * Trusted documents: the roles that may send registered documents only (`TRUSTED_DOCUMENTS_ROLES`, comma-separated, `none` for
   * nobody; unset: every partner role in production, none in development) and the registry (`TRUSTED_DOCUMENTS_MANIFEST`).
   */
  readonly trustedDocuments: Readonly<{ roles?: readonly Identity['role'][]; manifestPath?: string }>;
  /** Serve `/metrics` (`METRICS=1`; always in development). */
  readonly metrics: boolean;
  /** How long a stop lets requests in flight finish (`SHUTDOWN_GRACE_MS`, default 10,000). */
  readonly shutdownGraceMs: number;
  /** Progressive `@override` labels (other than `percent(N)`) on for every request (`OVERRIDE_LABELS`, comma-separated; default none). */
  readonly overrideLabels: readonly string[];
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

const list = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** The committed supergraph. */
export const DEFAULT_SUPERGRAPH = fileURLToPath(new URL('../../schema/supergraph.graphql', import.meta.url));
/** The registry of subgraphs: the only names a development secret is made for. */
export const DEFAULT_REGISTRY = fileURLToPath(new URL('../../schema/subgraphs.json', import.meta.url));

/**
 * Reads the gateway's configuration once: `PORT` (4000), `HOST`, `SUPERGRAPH_PATH`,
 * `SUPERGRAPH_SOURCE_URL`, `SUPERGRAPH_POLL_MS`, `<SUBGRAPH>_URL`, `GATEWAY_SECRET_<SUBGRAPH>`,
 * `GATEWAY_SUBGRAPHS_FILE`, `AUTH_JWKS_URL`, `AUTH_ISSUER`, `AUTH_AUDIENCE`, `AUTH_CLOCK_TOLERANCE`, `NODE_ENV`, `PARTNERSKAP_DEV`, the
 * limits (`LIMIT_*`), `RATE_LIMIT_*` (`RATE_LIMIT_REDIS_URL` among them), `SUBGRAPH_TIMEOUT_MS`, `SUBGRAPH_CONNECTIONS`, `CORS_ORIGINS`,
 * `TRUSTED_PROXIES`, `METRICS`, `SHUTDOWN_GRACE_MS`, `OVERRIDE_LABELS`, `TRUSTED_DOCUMENTS_ROLES`, `TRUSTED_DOCUMENTS_MANIFEST`. Every malformed
 * variable is reported in one error; the result is frozen.
 */
export function loadGatewayConfig(env: Record<string, string | undefined>, registryPath = DEFAULT_REGISTRY): GatewayConfig {
  const problems: string[] = [];
  const port = env.PORT ? Number(env.PORT) : 4000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be a port number (0-65535), got "${env.PORT}"`);
  const nodeEnv = env.NODE_ENV ?? 'development';
  if (!['development', 'production', 'test'].includes(nodeEnv)) problems.push(`NODE_ENV must be development, production or test, got "${nodeEnv}"`);
  const production = nodeEnv === 'production';
  const devMode = devModeFromEnv(env, problems);
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
  } else if (!devMode) {
    problems.push('AUTH_JWKS_URL (with AUTH_ISSUER and AUTH_AUDIENCE) must be set, or PARTNERSKAP_DEV=1 for the development key');
  }
  for (const [variable, value] of Object.entries(env)) {
    if (variable.startsWith('GATEWAY_SECRET_') && value !== undefined && value.length < 32) problems.push(`${variable} must be at least 32 characters`);
  }
  const subgraphsFile = env.GATEWAY_SUBGRAPHS_FILE || undefined;
  if (subgraphsFile) {
    try {
      readSubgraphsFile(subgraphsFile);
    } catch (err) {
      problems.push(`GATEWAY_SUBGRAPHS_FILE: ${(err as Error).message}`);
    }
  }
  const supergraphSourceUrl = env.SUPERGRAPH_SOURCE_URL || undefined;
  if (supergraphSourceUrl && !/^https?:\/\/[^\s]+$/.test(supergraphSourceUrl))
    problems.push(`SUPERGRAPH_SOURCE_URL must be an http(s) URL, got "${supergraphSourceUrl}"`);
  const supergraphPollMs = intEnv(env, 'SUPERGRAPH_POLL_MS', 1000, 0, 3_600_000, problems);
  const limits: Limits = {
    depth: intEnv(env, 'LIMIT_DEPTH', DEFAULT_LIMITS.depth, 1, 100, problems),
    aliases: intEnv(env, 'LIMIT_ALIASES', DEFAULT_LIMITS.aliases, 0, 1000, problems),
    fields: intEnv(env, 'LIMIT_FIELDS', DEFAULT_LIMITS.fields, 1, 1_000_000, problems),
    directives: intEnv(env, 'LIMIT_DIRECTIVES', DEFAULT_LIMITS.directives, 0, 1000, problems),
    tokens: intEnv(env, 'LIMIT_TOKENS', DEFAULT_LIMITS.tokens, 50, 100_000, problems),
    cost: intEnv(env, 'LIMIT_COST', DEFAULT_LIMITS.cost, 1, 10_000_000, problems),
    partnerCost: intEnv(env, 'LIMIT_PARTNER_COST', DEFAULT_LIMITS.partnerCost, 1, 10_000_000, problems),
    bodyBytes: intEnv(env, 'LIMIT_BODY_BYTES', DEFAULT_LIMITS.bodyBytes, 1000, 10_000_000, problems),
    pageSize: DEFAULT_LIMITS.pageSize,
  };
  const rateLimits: RateLimits = {
    partnerPerMinute: intEnv(env, 'RATE_LIMIT_PARTNER_PER_MINUTE', DEFAULT_RATE_LIMITS.partnerPerMinute, 1, 10_000_000, problems),
    publicPerMinute: intEnv(env, 'RATE_LIMIT_PUBLIC_PER_MINUTE', DEFAULT_RATE_LIMITS.publicPerMinute, 1, 10_000_000, problems),
    publicCostPerMinute: intEnv(env, 'RATE_LIMIT_PUBLIC_COST_PER_MINUTE', DEFAULT_RATE_LIMITS.publicCostPerMinute, 1, 1_000_000_000, problems),
  };
  const rateLimitRedisUrl = env.RATE_LIMIT_REDIS_URL || undefined;
  if (rateLimitRedisUrl && !/^rediss?:\/\/[^\s]+$/.test(rateLimitRedisUrl)) problems.push('RATE_LIMIT_REDIS_URL must be a redis:// or rediss:// URL');
  const subgraphCalls: SubgraphCallOptions = {
    timeoutMs: intEnv(env, 'SUBGRAPH_TIMEOUT_MS', DEFAULT_SUBGRAPH_CALLS.timeoutMs, 100, 120_000, problems),
    connections: intEnv(env, 'SUBGRAPH_CONNECTIONS', DEFAULT_SUBGRAPH_CALLS.connections, 1, 10_000, problems),
  };
  const responseCacheTtlSeconds = intEnv(env, 'RESPONSE_CACHE_TTL_S', 0, 0, 3600, problems);
  const shutdownGraceMs = intEnv(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000, problems);
  const corsOrigins = env.CORS_ORIGINS === undefined ? undefined : list(env.CORS_ORIGINS);
  for (const origin of corsOrigins ?? [])
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin))
      problems.push(`CORS_ORIGINS must list origins such as https://partner.example.no, got "${origin}"`);
  if (production && corsOrigins?.includes('*')) problems.push("CORS_ORIGINS must not be * in production: list the partners' origins");
  const overrideLabels = list(env.OVERRIDE_LABELS);
  for (const label of overrideLabels)
    if (!/^[a-zA-Z][a-zA-Z0-9_\-:./]*$/.test(label) || /^percent\(/.test(label))
      problems.push(`OVERRIDE_LABELS must list @override labels such as use-admissions-credits (percent(N) ones decide themselves), got "${label}"`);
  const trustedDocuments = trustedDocumentsFrom(env, problems);
  if (problems.length > 0) throw new Error(`Invalid gateway configuration:\n- ${problems.join('\n- ')}`);
  return Object.freeze({
    port,
    host: env.HOST || '127.0.0.1',
    supergraphPath: env.SUPERGRAPH_PATH || DEFAULT_SUPERGRAPH,
    supergraphSourceUrl,
    supergraphPollMs,
    subgraphs: Object.freeze(subgraphSettings(env, subgraphsFile, devMode ? registryPath : undefined)),
    development: !production,
    devMode,
    auth: Object.freeze(auth),
    limits: Object.freeze(limits),
    rateLimits: Object.freeze(rateLimits),
    rateLimitRedisUrl,
    subgraphCalls: Object.freeze(subgraphCalls),
    corsOrigins: corsOrigins ? Object.freeze(corsOrigins) : undefined,
    trustedProxies: Object.freeze(list(env.TRUSTED_PROXIES)),
    responseCacheTtlSeconds,
    trustedDocuments: Object.freeze(trustedDocuments),
    metrics: !production || env.METRICS === '1',
    shutdownGraceMs,
    overrideLabels: Object.freeze(overrideLabels),
  });
}

/** The roles `TRUSTED_DOCUMENTS_ROLES` may list: every caller but the subgraphs' own service tokens. */
const TRUSTABLE_ROLES: readonly Identity['role'][] = ['public', ...ROLES.filter((r) => r !== 'service')];

/** `TRUSTED_DOCUMENTS_ROLES` and `TRUSTED_DOCUMENTS_MANIFEST` (trusted-documents.ts); problems are collected. */
function trustedDocumentsFrom(env: Record<string, string | undefined>, problems: string[]): GatewayConfig['trustedDocuments'] {
  const raw = env.TRUSTED_DOCUMENTS_ROLES;
  const manifestPath = env.TRUSTED_DOCUMENTS_MANIFEST || undefined;
  const given = raw === undefined || raw.trim() === '' ? undefined : list(raw);
  const roles: Identity['role'][] = [];
  for (const role of given ?? []) {
    const known = TRUSTABLE_ROLES.find((r) => r === role);
    if (known) roles.push(known);
    else if (role !== 'none' || given!.length > 1)
      problems.push(`TRUSTED_DOCUMENTS_ROLES must be none or list roles among ${TRUSTABLE_ROLES.join(', ')} (service never), got "${role}"`);
  }
  return { ...(given ? { roles } : {}), ...(manifestPath ? { manifestPath } : {}) };
}

/** The shape of `GATEWAY_SUBGRAPHS_FILE`: `{ "subgraphs": { "<name>": { "url": "...", "secret": "..." } } }`. */
interface SubgraphsFile {
  subgraphs: Record<string, { url?: string; secret?: string }>;
}

/** Reads and checks `GATEWAY_SUBGRAPHS_FILE`, or throws with what is wrong. */
function readSubgraphsFile(path: string): SubgraphsFile {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<SubgraphsFile>;
  if (!parsed || typeof parsed.subgraphs !== 'object' || parsed.subgraphs === null)
    throw new Error('expected { "subgraphs": { "<name>": { "url", "secret" } } }');
  for (const [name, entry] of Object.entries(parsed.subgraphs)) {
    if (entry.url !== undefined && !/^https?:\/\/[^\s]+$/.test(entry.url)) throw new Error(`subgraphs.${name}.url must be an http(s) URL`);
    if (entry.secret !== undefined && entry.secret.length < 32) throw new Error(`subgraphs.${name}.secret must be at least 32 characters`);
  }
  return parsed as SubgraphsFile;
}

/** The names `schema/subgraphs.json` registers (none when it cannot be read: no development secret then). */
function registeredNames(path: string): ReadonlySet<string> {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { subgraphs?: { name?: unknown }[] };
    return new Set((parsed.subgraphs ?? []).map((s) => s.name).filter((n): n is string => typeof n === 'string'));
  } catch {
    return new Set();
  }
}

/**
 * A file's content as `read` makes it, read again only when its mtime changes; a file being
 * rewritten or gone for a moment keeps what was read last (undefined before the first good read).
 */
function readWhenChanged<T>(path: string, read: (path: string) => T): () => T | undefined {
  let cached: { mtimeMs: number; content: T } | undefined;
  return () => {
    try {
      const { mtimeMs } = statSync(path);
      if (!cached || cached.mtimeMs !== mtimeMs) cached = { mtimeMs, content: read(path) };
    } catch {
      // keep the last good read
    }
    return cached?.content;
  };
}

/**
 * The lookups of {@link SubgraphSettings} over a snapshot of the environment and the file (re-read
 * when its mtime changes). `registry`, given only with `PARTNERSKAP_DEV=1`: the development secret
 * for the subgraphs it registers (read again when it changes, as `npm run new-subgraph` adds one).
 */
function subgraphSettings(env: Record<string, string | undefined>, file: string | undefined, registry: string | undefined): SubgraphSettings {
  const snapshot = new Map(Object.entries(env).filter(([k, v]) => v && (k.endsWith('_URL') || k.startsWith('GATEWAY_SECRET_'))) as [string, string][]);
  const subgraphsFile = file ? readWhenChanged(file, readSubgraphsFile) : () => undefined;
  const registeredSet = registry ? readWhenChanged(registry, registeredNames) : () => undefined;
  const fromFile = (name: string) => subgraphsFile()?.subgraphs[name];
  const isRegistered = (name: string) => registeredSet()?.has(name) ?? false;
  return {
    urlOf: (name) => snapshot.get(`${envName(name)}_URL`) ?? fromFile(name)?.url,
    secretOf: (name) => snapshot.get(`GATEWAY_SECRET_${envName(name)}`) ?? fromFile(name)?.secret ?? (isRegistered(name) ? devGatewaySecret(name) : undefined),
  };
}
