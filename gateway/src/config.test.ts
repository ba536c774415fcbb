import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devGatewaySecret } from '@partnerskap/common';
import { loadGatewayConfig } from './config.js';

describe('loadGatewayConfig', () => {
  it('uses the development key and development secrets only with PARTNERSKAP_DEV=1, and only for registered subgraphs', () => {
    const config = loadGatewayConfig({ PARTNERSKAP_DEV: '1' });
    expect(config.auth).toEqual({ devKey: true });
    expect(config.devMode).toBe(true);
    expect(config.port).toBe(4000);
    // This machine's development secret for each registered subgraph: random, not derivable from the name.
    expect(config.subgraphs.secretOf('feedback')).toBe(devGatewaySecret('feedback'));
    expect(config.subgraphs.secretOf('feedback')).not.toBe('development-only-gateway-secret-for-feedback');
    expect(config.subgraphs.secretOf('feedback')!.length).toBeGreaterThanOrEqual(32);
    expect(config.subgraphs.secretOf('plans')).not.toBe(config.subgraphs.secretOf('feedback'));
    // A name the registry does not know gets none (a forged service token names whatever it likes).
    expect(config.subgraphs.secretOf('evil')).toBeUndefined();
    expect(config.subgraphs.urlOf('feedback')).toBeUndefined();
    expect(config.supergraphPollMs).toBe(1000);
  });

  it('has no development secret or key unless development is asked for: NODE_ENV=test or unset is not enough', () => {
    for (const env of [{}, { NODE_ENV: 'test' }, { NODE_ENV: 'development' }, { PARTNERSKAP_DEV: '0' }]) {
      expect(() => loadGatewayConfig(env)).toThrow(/AUTH_JWKS_URL \(with AUTH_ISSUER and AUTH_AUDIENCE\) must be set, or PARTNERSKAP_DEV=1/);
      const config = loadGatewayConfig({ ...env, AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' });
      expect(config.devMode).toBe(false);
      for (const name of ['plans', 'evil']) expect(config.subgraphs.secretOf(name)).toBeUndefined();
    }
  });

  it('refuses PARTNERSKAP_DEV=1 with NODE_ENV=production, and a malformed PARTNERSKAP_DEV', () => {
    const idp = { AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' };
    expect(() => loadGatewayConfig({ ...idp, NODE_ENV: 'production', PARTNERSKAP_DEV: '1' })).toThrow(
      /PARTNERSKAP_DEV=1 must not be set with NODE_ENV=production/,
    );
    expect(() => loadGatewayConfig({ ...idp, PARTNERSKAP_DEV: 'yes' })).toThrow(/PARTNERSKAP_DEV must be 1 \(development\) or 0, got "yes"/);
  });

  it('refuses the development key and short secrets in production, listing every problem', () => {
    expect(() => loadGatewayConfig({ NODE_ENV: 'production', PORT: 'x', GATEWAY_SECRET_PLANS: 'short', SUPERGRAPH_POLL_MS: '-1' })).toThrow(
      /PORT must be a port number[\s\S]*AUTH_JWKS_URL[\s\S]*GATEWAY_SECRET_PLANS must be at least 32 characters[\s\S]*SUPERGRAPH_POLL_MS/,
    );
  });

  it('has no development secrets in production: a subgraph without GATEWAY_SECRET_<NAME> has none', () => {
    const config = loadGatewayConfig({ NODE_ENV: 'production', AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' });
    expect(config.subgraphs.secretOf('plans')).toBeUndefined();
  });

  it('reads subgraph URLs and secrets from GATEWAY_SUBGRAPHS_FILE, again when it changes; the environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
    const file = join(dir, 'subgraphs.json');
    writeFileSync(file, JSON.stringify({ subgraphs: { plans: { url: 'http://plans:4003/graphql', secret: 'p'.repeat(32) } } }));
    const config = loadGatewayConfig({ PARTNERSKAP_DEV: '1', GATEWAY_SUBGRAPHS_FILE: file, FEEDBACK_URL: 'http://feedback:4004/graphql' });
    expect(config.subgraphs.urlOf('plans')).toBe('http://plans:4003/graphql');
    expect(config.subgraphs.secretOf('plans')).toBe('p'.repeat(32));
    expect(config.subgraphs.urlOf('feedback')).toBe('http://feedback:4004/graphql');
    writeFileSync(
      file,
      JSON.stringify({ subgraphs: { plans: { url: 'http://plans:4003/graphql' }, events: { url: 'http://events:4005/graphql', secret: 'e'.repeat(32) } } }),
    );
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(config.subgraphs.urlOf('events')).toBe('http://events:4005/graphql');
    expect(config.subgraphs.secretOf('events')).toBe('e'.repeat(32));
    writeFileSync(file, '{ "subgraphs": { "plans": { "secret": "short" } } }');
    expect(() => loadGatewayConfig({ PARTNERSKAP_DEV: '1', GATEWAY_SUBGRAPHS_FILE: file })).toThrow(/subgraphs\.plans\.secret must be at least 32 characters/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a production configuration', () => {
    const secret = 's'.repeat(32);
    const config = loadGatewayConfig({
      NODE_ENV: 'production',
      AUTH_JWKS_URL: 'https://idp.example/.well-known/jwks.json',
      AUTH_ISSUER: 'https://idp.example',
      AUTH_AUDIENCE: 'partnerskap',
      GATEWAY_SECRET_CATALOGUE: secret,
      GATEWAY_SECRET_ADMISSIONS: secret,
      GATEWAY_SECRET_PLANS: secret,
      GATEWAY_SECRET_FEEDBACK: secret,
      PLANS_URL: 'http://plans:4003/graphql',
    });
    expect(config.auth).toEqual({
      jwksUrl: 'https://idp.example/.well-known/jwks.json',
      issuer: 'https://idp.example',
      audience: 'partnerskap',
      clockToleranceS: 30,
    });
    expect(config.subgraphs.urlOf('plans')).toBe('http://plans:4003/graphql');
    expect(config.subgraphs.urlOf('catalogue')).toBeUndefined();
    expect(config.subgraphs.secretOf('catalogue')).toBe(secret);
    expect(config.development).toBe(false);
  });
});
