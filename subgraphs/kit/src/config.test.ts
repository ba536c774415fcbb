import { describe, expect, it } from 'vitest';
import { loadSubgraphConfig } from './config.js';

describe('loadSubgraphConfig', () => {
  it('has development defaults', () => {
    expect(loadSubgraphConfig({}, 'plans', 4003)).toMatchObject({ port: 4003, database: 'partnerskap_plans', development: true });
  });

  it('serves /metrics in development, in production only with METRICS=1, and reads the shutdown grace', () => {
    const secret = { GATEWAY_SECRET: 'x'.repeat(32) };
    expect(loadSubgraphConfig({}, 'plans', 4003)).toMatchObject({ metrics: true, shutdownGraceMs: 10_000 });
    expect(loadSubgraphConfig({ NODE_ENV: 'production', ...secret }, 'plans', 4003).metrics).toBe(false);
    expect(loadSubgraphConfig({ NODE_ENV: 'production', METRICS: '1', SHUTDOWN_GRACE_MS: '2500', ...secret }, 'plans', 4003)).toMatchObject({ metrics: true, shutdownGraceMs: 2500 });
    expect(() => loadSubgraphConfig({ SHUTDOWN_GRACE_MS: 'soon' }, 'plans', 4003)).toThrow(/SHUTDOWN_GRACE_MS/);
  });

  it('lists every problem at once, and requires GATEWAY_SECRET in production', () => {
    expect(() => loadSubgraphConfig({ NODE_ENV: 'production', PORT: '-1', MONGODB_URI: 'http://x' }, 'plans', 4003)).toThrow(
      /PORT[\s\S]*MONGODB_URI[\s\S]*GATEWAY_SECRET/,
    );
  });
});
