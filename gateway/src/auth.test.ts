import { SERVICE_AUDIENCE, SERVICE_ISSUER, secretKey, signHs256 } from '@partnerskap/common';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { type Authenticator, createAuthenticator, withServiceTokens } from './auth.js';

const SECRET = 'p'.repeat(40);
const now = () => Math.floor(Date.now() / 1000);
const service = (sub: string, secret: string, claims: Record<string, unknown> = {}) =>
  `Bearer ${signHs256({ role: 'service', iss: SERVICE_ISSUER, sub, aud: SERVICE_AUDIENCE, iat: now(), exp: now() + 120, ...claims }, secretKey(secret))}`;
const clients: Authenticator = async () => {
  throw new Error('not a service token');
};

describe('withServiceTokens', () => {
  // Every name has a secret here, as every name had a development secret outside production once.
  const authenticate = withServiceTokens(
    clients,
    (name) => `${name}-${SECRET}`,
    () => new Set(['plans']),
  );

  it('accepts a service token of a served subgraph', async () => {
    await expect(authenticate(service('plans', `plans-${SECRET}`))).resolves.toEqual({ role: 'service' });
  });

  it('looks up no secret for a name the served supergraph does not have, whatever secret exists for it', async () => {
    await expect(authenticate(service('evil', `evil-${SECRET}`))).rejects.toThrow('The service token names no subgraph of the supergraph');
  });

  it('refuses a service token without iat, from the future, or living longer than two minutes', async () => {
    for (const claims of [{ iat: undefined }, { iat: now() + 600, exp: now() + 700 }, { exp: now() + 3600 }]) {
      await expect(authenticate(service('plans', `plans-${SECRET}`, claims))).rejects.toThrow('The service token is invalid or has expired');
    }
  });
});

describe('createAuthenticator', () => {
  it('refuses a client token that claims the role service', async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA');
    const authenticate = createAuthenticator({ jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'EdDSA' }] }, issuer: 'i', audience: 'a' });
    const token = (role: string) =>
      new SignJWT({ role }).setProtectedHeader({ alg: 'EdDSA', kid: 'k' }).setIssuer('i').setAudience('a').setExpirationTime('5m').sign(privateKey);
    await expect(authenticate(`Bearer ${await token('service')}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    await expect(authenticate(`Bearer ${await token('directorate')}`)).resolves.toEqual({ role: 'directorate' });
  });
});
