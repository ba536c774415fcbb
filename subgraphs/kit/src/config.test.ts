import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devGatewaySecret } from '@partnerskap/common';
import { loadSubgraphConfig } from './config.js';

describe('loadSubgraphConfig', () => {
  const secret = { GATEWAY_SECRET: 'x'.repeat(32) };

  it('has development defaults', () => {
    expect(loadSubgraphConfig(secret, 'plans', 4003)).toMatchObject({ port: 4003, database: 'partnerskap_plans', development: true, devMode: false });
  });

  it('falls back to the development secret only with PARTNERSKAP_DEV=1: NODE_ENV=test or unset is not enough', () => {
    for (const env of [{}, { NODE_ENV: 'test' }, { NODE_ENV: 'development' }]) {
      expect(() => loadSubgraphConfig(env, 'plans', 4003)).toThrow(
        /GATEWAY_SECRET must be set to at least 32 characters \(shared with the gateway\), or PARTNERSKAP_DEV=1/,
      );
    }
    expect(loadSubgraphConfig({ PARTNERSKAP_DEV: '1' }, 'plans', 4003)).toMatchObject({ devMode: true, gatewaySecret: devGatewaySecret('plans') });
    expect(loadSubgraphConfig({ PARTNERSKAP_DEV: '1', ...secret }, 'plans', 4003).gatewaySecret).toBe(secret.GATEWAY_SECRET);
    expect(() => loadSubgraphConfig({ PARTNERSKAP_DEV: '1', NODE_ENV: 'production', ...secret }, 'plans', 4003)).toThrow(
      /PARTNERSKAP_DEV=1 must not be set with NODE_ENV=production/,
    );
  });

  it('makes the development secret from a random seed kept per machine, not from the name alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dev-secret-'));
    const file = join(dir, 'nested', 'dev-gateway-secret');
    const first = devGatewaySecret('plans', file);
    expect(first).not.toBe('development-only-gateway-secret-for-plans');
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(devGatewaySecret('plans', file)).toBe(first);
    expect(devGatewaySecret('feedback', file)).not.toBe(first);
    expect(readFileSync(file, 'utf8')).not.toContain(first);
    const other = join(dir, 'other');
    expect(devGatewaySecret('plans', other)).not.toBe(first);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /metrics in development, in production only with METRICS=1, and reads the shutdown grace', () => {
    expect(loadSubgraphConfig(secret, 'plans', 4003)).toMatchObject({ metrics: true, shutdownGraceMs: 10_000 });
    expect(loadSubgraphConfig({ NODE_ENV: 'production', ...secret }, 'plans', 4003).metrics).toBe(false);
    expect(loadSubgraphConfig({ NODE_ENV: 'production', METRICS: '1', SHUTDOWN_GRACE_MS: '2500', ...secret }, 'plans', 4003)).toMatchObject({
      metrics: true,
      shutdownGraceMs: 2500,
    });
    expect(() => loadSubgraphConfig({ SHUTDOWN_GRACE_MS: 'soon', ...secret }, 'plans', 4003)).toThrow(/SHUTDOWN_GRACE_MS/);
  });

  it('lists every problem at once, and requires GATEWAY_SECRET in production', () => {
    expect(() => loadSubgraphConfig({ NODE_ENV: 'production', PORT: '-1', MONGODB_URI: 'http://x' }, 'plans', 4003)).toThrow(
      /PORT[\s\S]*MONGODB_URI[\s\S]*GATEWAY_SECRET/,
    );
  });
});
