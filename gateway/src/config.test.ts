import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from './config.js';

describe('loadGatewayConfig', () => {
  it('uses the development key and development secrets outside production', () => {
    const config = loadGatewayConfig({});
    expect(config.auth).toEqual({ devKey: true });
    expect(config.port).toBe(4000);
    expect(Object.keys(config.secrets)).toEqual(['catalogue', 'admissions', 'plans', 'feedback']);
  });

  it('refuses the development key and missing secrets in production, listing every problem', () => {
    expect(() => loadGatewayConfig({ NODE_ENV: 'production', PORT: 'x' })).toThrow(
      /PORT must be a port number[\s\S]*AUTH_JWKS_URL[\s\S]*GATEWAY_SECRET_CATALOGUE[\s\S]*GATEWAY_SECRET_FEEDBACK/,
    );
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
    expect(config.auth).toEqual({ jwksUrl: 'https://idp.example/.well-known/jwks.json', issuer: 'https://idp.example', audience: 'partnerskap', clockToleranceS: 30 });
    expect(config.subgraphUrls).toEqual({ plans: 'http://plans:4003/graphql' });
    expect(config.development).toBe(false);
  });
});
