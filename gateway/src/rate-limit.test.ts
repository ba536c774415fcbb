import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limit.js';

describe('createRateLimiter (in memory)', () => {
  it('allows each caller its limit a minute, then refuses with the seconds to wait; each organisation and address counts apart', async () => {
    const limiter = createRateLimiter({ limits: { partnerPerMinute: 3, publicPerMinute: 2, publicCostPerMinute: 100 } });
    expect(limiter.store).toBe('memory');
    expect(await limiter.connected()).toBe(true);
    const owner = { role: 'school-owner', org: '4601' } as const;
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.request(owner, '10.0.0.1'));
    expect(decisions.slice(0, 3)).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
    expect(decisions[3]).toEqual({ allowed: false, retryAfterS: expect.any(Number) });
    const refused = decisions[3] as { retryAfterS: number };
    expect(refused.retryAfterS).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterS).toBeLessThanOrEqual(60);
    // Another organisation of the same role, and the public at the same address, have their own counts.
    expect(await limiter.request({ role: 'school-owner', org: '0301' }, '10.0.0.1')).toEqual({ allowed: true });
    expect(await limiter.request({ role: 'public' }, '10.0.0.1')).toEqual({ allowed: true });
    expect(await limiter.request({ role: 'public' }, '10.0.0.1')).toEqual({ allowed: true });
    expect((await limiter.request({ role: 'public' }, '10.0.0.1')).allowed).toBe(false);
    expect(await limiter.request({ role: 'public' }, '10.0.0.2')).toEqual({ allowed: true });
    await limiter.close();
  });

  it("takes cost units from a public address's budget: what is left is spent, more is refused", async () => {
    const limiter = createRateLimiter({ limits: { partnerPerMinute: 10, publicPerMinute: 10, publicCostPerMinute: 100 } });
    expect(await limiter.cost('10.0.0.1', 60)).toEqual({ allowed: true });
    expect(await limiter.cost('10.0.0.1', 40)).toEqual({ allowed: true });
    expect((await limiter.cost('10.0.0.1', 1)).allowed).toBe(false);
    expect(await limiter.cost('10.0.0.2', 100)).toEqual({ allowed: true });
  });
});
