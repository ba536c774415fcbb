import { type IncomingMessage } from 'node:http';
import { type Identity } from '@partnerskap/common';

/** How many requests a caller may make per minute, with bursts up to the same number. */
export interface RateLimits {
  /** Per partner organisation (all callers of one institution, owner, union; the directorate; each teacher). */
  partnerPerMinute: number;
  /** Per client address, for callers without a token. */
  publicPerMinute: number;
  /**
   * Estimated cost units (cost.ts) per minute per client address, for callers without a token:
   * what bounds the CPU one address can buy, whatever mix of cheap and dear operations it sends.
   * Default {@link DEFAULT_RATE_LIMITS}' 300,000: 5,000 units a second, at `CPU_US_PER_COST_UNIT`
   * (40 µs) 0.2 of a core.
   */
  publicCostPerMinute?: number;
}

/**
 * The defaults: far above what a partner's frontend sends, low enough to stop a runaway script.
 * The public's cost budget is what bounds the CPU one address can buy: 300,000 units a minute at
 * 40 µs a unit is 0.2 of a core (docs/security.md; `limits.test.ts` checks it); the request count
 * alone could not, since one request may cost 1 or 10,000.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Required<RateLimits>> = Object.freeze({ partnerPerMinute: 1200, publicPerMinute: 300, publicCostPerMinute: 300_000 });

interface Bucket {
  tokens: number;
  updated: number;
}

/** What the limiter says of one request. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterS: number };

/**
 * A token bucket per caller, in this process's memory: each replica of the gateway counts on its
 * own, so N replicas behind a balancer let a caller make up to N times the limit (see docs/operations.md).
 * Idle buckets are dropped, so memory stays bounded by the callers of the last minutes.
 */
export function createRateLimiter(limits: RateLimits, now: () => number = Date.now) {
  const buckets = new Map<string, Bucket>();
  let lastSweep = now();
  return {
    /** Takes `amount` (default 1) from a caller's bucket of `perMinute`, or says when to come back. */
    take(key: string, perMinute: number, amount = 1): RateDecision {
      const t = now();
      if (t - lastSweep > 60_000) {
        for (const [k, b] of buckets) if (t - b.updated > 120_000) buckets.delete(k);
        lastSweep = t;
      }
      const rate = perMinute / 60_000;
      const b = buckets.get(key) ?? { tokens: perMinute, updated: t };
      b.tokens = Math.min(perMinute, b.tokens + (t - b.updated) * rate);
      b.updated = t;
      buckets.set(key, b);
      if (b.tokens >= amount) {
        b.tokens -= amount;
        return { allowed: true };
      }
      // More than a whole bucket can never be had; the cost limit keeps one request below it.
      return { allowed: false, retryAfterS: Math.max(1, Math.ceil((Math.min(amount, perMinute) - b.tokens) / rate / 1000)) };
    },
    /** The bucket key and limit of a caller: its organisation, or its address for the public. */
    keyOf(identity: Identity, address: string): { key: string; perMinute: number } {
      if (identity.role === 'public') return { key: `ip:${address}`, perMinute: limits.publicPerMinute };
      return { key: `${identity.role}:${identity.org ?? ''}`, perMinute: limits.partnerPerMinute };
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
  const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((h) => normalise(h.trim())).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!trustedProxies.has(hops[i]!)) return hops[i]!;
  return socket;
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one address. */
function normalise(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
