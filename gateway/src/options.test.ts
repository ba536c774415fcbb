import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from './config.js';
import { authOptionsFrom, gatewayOptionsFrom } from './options.js';

// One reading of the environment for every way the gateway runs: npm start and npm run dev pass
// these options on as npm run gateway does.
describe('gatewayOptionsFrom', () => {
  it('carries CORS origins, limits and rate limits from the environment', () => {
    const config = loadGatewayConfig({
      PARTNERSKAP_DEV: '1',
      CORS_ORIGINS: 'https://app.kommune.no, http://localhost:*',
      LIMIT_DEPTH: '4',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '7',
    });
    const options = gatewayOptionsFrom(config);
    expect(options.corsOrigins).toEqual(['https://app.kommune.no', 'http://localhost:*']);
    expect(options.limits?.depth).toBe(4);
    expect(options.rateLimits?.publicPerMinute).toBe(7);
    expect(options.development).toBe(true);
  });

  it('leaves CORS to the development default when CORS_ORIGINS is unset', () => {
    expect(gatewayOptionsFrom(loadGatewayConfig({ PARTNERSKAP_DEV: '1' })).corsOrigins).toBeUndefined();
  });

  it('verifies with the identity provider when AUTH_JWKS_URL is set, else (development asked for) the development key', async () => {
    const idp = loadGatewayConfig({ AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'partnerskap' });
    expect(await authOptionsFrom(idp)).toEqual({
      jwksUrl: 'https://idp.example/jwks',
      issuer: 'https://idp.example',
      audience: 'partnerskap',
      clockToleranceS: 30,
    });
    expect(await authOptionsFrom(loadGatewayConfig({ PARTNERSKAP_DEV: '1' }))).toMatchObject({ issuer: 'partnerskap-dev', audience: 'partnerskap' });
  });
});
