import { type IncomingMessage } from 'node:http';
import { type Identity } from '@partnerskap/common';
import { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { type Logger } from './log.js';

/** How many requests a caller may make per minute. */
export interface RateLimits {
  /** Per partner organisation (all callers of one institution, owner, union; the directorate; each teacher). */
  partnerPerMinute: number;
  /** Per client address, for callers without a token. */
  publicPerMinute: number;
  /**
   * Estimated cost units (cost.ts) per minute per client address, for callers without a token:
   * what bounds the CPU one address can buy, whatever mix of cheap and dear operations it sends.
   * Default {@link DEFAULT_RATE_LIMITS}' 300,000: 5,000 units a second, at `CPU_US_PER_COST_UNIT`
   * (40) µs 0.2 of a core.
   */
  publicCostPerMinute?: number;
}

/**
 * The defaults: far above what a partner's frontend sends, low enough to stop a runaway script.
 * The public's cost budget is what bounds the CPU one address can buy: 300,000 units a minute at
 * 40 µs a unit is 0.2 of a core (docs/security.md; `limits.test.ts` checks it); the request count
 * alone could not, since one request may cost 1 or 10,000.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Required<RateLimits>> = Object.freeze({
  partnerPerMinute: 1200,
  publicPerMinute: 300,
  publicCostPerMinute: 300_000,
});

/** What the limiter says of one request. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterS: number };

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** The limits (default {@link DEFAULT_RATE_LIMITS}). */
  limits?: RateLimits;
  /**
   * A Redis every gateway replica counts in (`redis://` or `rediss://`), so N replicas share one
   * limit. Default none: each process counts in its own memory, and N replicas allow N times the limit.
   */
  redisUrl?: string;
  /** Milliseconds a Redis command may take before this process's memory answers instead (default 250). */
  redisTimeoutMs?: number;
  /** Where the loss and return of Redis are told (default: nowhere). */
  logger?: Logger;
}

/** Counts requests and cost units per caller, in memory or in a Redis shared by the replicas. */
export interface RateLimiter {
  /** Where the counts are kept. */
  readonly store: 'memory' | 'redis';
  /** Counts one request: against its organisation's limit, or for the public (and refused tokens) its address's. */
  request(identity: Identity, address: string): Promise<RateDecision>;
  /** Takes an operation's estimated cost from a public address's budget. */
  cost(address: string, units: number): Promise<RateDecision>;
  /** Whether the store is reachable, waiting up to `timeoutMs` (default 2000) for a first connection; memory always is. */
  connected(timeoutMs?: number): Promise<boolean>;
  /** Closes the connection to Redis, if any. */
  close(): Promise<void>;
}

/** A window of one minute: a limit per minute is the points of a window. */
const WINDOW_S = 60;

const ALLOWED: RateDecision = Object.freeze({ allowed: true });
const allowed = () => ALLOWED;

/** A refusal with the seconds to its window's end; anything else is a store failing without its fallback: fail open (see below). */
function refused(refusal: unknown): RateDecision {
  if (!(refusal instanceof RateLimiterRes)) return ALLOWED;
  return { allowed: false, retryAfterS: Math.max(1, Math.ceil(refusal.msBeforeNext / 1000)) };
}

/**
 * The rate limiter (rate-limiter-flexible): a fixed window of a minute per caller, `points` the
 * limit per minute. In memory by default; with `redisUrl`, in Redis (an atomic increment with
 * expiry per caller and window), so every replica counts against the same limit.
 *
 * When Redis is down or slow, it fails open to memory: each replica counts in its own memory (the
 * limits hold per replica, as without Redis) until Redis is back, and the loss is logged once.
 * A rate limit protects the service; refusing every caller because its counter is unreachable
 * would turn a Redis outage into a gateway outage, and letting everyone through unlimited would
 * drop the protection exactly when something is already wrong. A caller over its limit is then
 * refused from this process's memory until its window ends, without asking Redis again.
 */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const limits = { ...DEFAULT_RATE_LIMITS, ...options.limits };
  const logger = options.logger;
  const redis = options.redisUrl
    ? new Redis(options.redisUrl, {
        // Never queue a command while disconnected (a request would wait for the reconnect): memory answers at once.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: options.redisTimeoutMs ?? 250,
        connectTimeout: 2000,
        retryStrategy: (times) => Math.min(times * 200, 2000),
      })
    : undefined;
  if (redis) {
    let down = false;
    redis.on('error', (err: Error) => {
      if (down) return;
      down = true;
      logger?.warn({ msg: "the rate limits' Redis is unreachable: each replica counts in its own memory until it is back", error: err.message });
    });
    redis.on('ready', () => {
      if (!down) return;
      down = false;
      logger?.info({ msg: "the rate limits' Redis is back: the replicas share their limits again" });
    });
  }
  const limiter = (keyPrefix: string, points: number): RateLimiterAbstract => {
    const insurance = new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_S });
    if (!redis) return insurance;
    return new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `partnerskap:rate:${keyPrefix}`,
      points,
      duration: WINDOW_S,
      rejectIfRedisNotReady: true,
      insuranceLimiter: insurance,
      // Once over, refused from memory to the window's end: a flood does not become Redis's load.
      inMemoryBlockOnConsumed: points + 1,
    });
  };
  const partners = limiter('partner', limits.partnerPerMinute);
  const publics = limiter('public', limits.publicPerMinute);
  const costs = limiter('cost', limits.publicCostPerMinute);
  const take = (on: RateLimiterAbstract, key: string, points: number): Promise<RateDecision> => on.consume(key, points).then(allowed, refused);
  return {
    store: redis ? 'redis' : 'memory',
    request: (identity, address) => (identity.role === 'public' ? take(publics, address, 1) : take(partners, `${identity.role}:${identity.org ?? ''}`, 1)),
    // Whole units: a store counts integers.
    cost: (address, units) => take(costs, address, Math.ceil(units)),
    connected: async (timeoutMs = 2000) => {
      if (!redis || redis.status === 'ready') return true;
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          redis.off('ready', ready);
          resolve(false);
        }, timeoutMs);
        const ready = () => {
          clearTimeout(timer);
          resolve(true);
        };
        redis.once('ready', ready);
      });
    },
    close: async () => {
      redis?.disconnect();
    },
  };
}

/**
 * The client's address: the socket's, or, when the socket is a trusted proxy, the nearest
 * address in `X-Forwarded-For` that is not one (a client can put anything at the left end).
 */
export function clientAddress(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  const socket = normalise(req.socket.remoteAddress ?? 'unknown');
  if (!trustedProxies.has(socket)) return socket;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((h) => normalise(h.trim()))
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!trustedProxies.has(hops[i]!)) return hops[i]!;
  return socket;
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one address. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
