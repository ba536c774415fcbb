import { describe, expect, it } from 'vitest';
import { createCredentialSigner, createCredentialVerifier, secretKey, signHs256, verifyHs256 } from './identity.js';

const key = secretKey('k'.repeat(32));
const expect_ = { issuer: 'i', audience: 'a', maxLifetimeS: 300 };
const now = Math.floor(Date.now() / 1000);

describe('HS256 credentials', () => {
  it('verify what was signed, and nothing altered, expired, or meant for another audience', () => {
    const token = signHs256({ iss: 'i', aud: 'a', role: 'directorate', iat: now, exp: now + 60 }, key);
    expect(verifyHs256(token, key, expect_)).toMatchObject({ role: 'directorate' });
    const [h, p, s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ iss: 'i', aud: 'a', role: 'directorate', org: 'x', iat: now, exp: now + 60 })).toString('base64url')}.${s}`;
    expect(verifyHs256(forged, key, expect_)).toBeUndefined();
    expect(verifyHs256(`${h}.${p}.${s!.slice(0, -2)}AA`, key, expect_)).toBeUndefined();
    expect(verifyHs256(token, secretKey('o'.repeat(32)), expect_)).toBeUndefined();
    expect(verifyHs256(token, key, { ...expect_, audience: 'b' })).toBeUndefined();
    expect(verifyHs256(signHs256({ iss: 'i', aud: 'a', iat: now - 60, exp: now - 1 }, key), key, expect_)).toBeUndefined();
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    expect(verifyHs256(none, key, expect_)).toBeUndefined();
  });

  it('refuse a token without iat, issued in the future, living longer than the cap or issued longer ago', () => {
    const verify = (claims: Record<string, unknown>) => verifyHs256(signHs256({ iss: 'i', aud: 'a', role: 'directorate', ...claims }, key), key, expect_);
    expect(verify({ iat: now, exp: now + 300 })).toBeDefined();
    expect(verify({ iat: now + 10, exp: now + 300 })).toBeDefined();
    expect(verify({ exp: now + 60 })).toBeUndefined();
    expect(verify({ iat: String(now), exp: now + 60 })).toBeUndefined();
    expect(verify({ iat: now + 3600, exp: now + 3660 })).toBeUndefined();
    // The attack: a credential valid for ten years.
    expect(verify({ iat: now, exp: now + 10 * 365 * 86_400 })).toBeUndefined();
    expect(verify({ iat: now - 3600, exp: now + 60 })).toBeUndefined();
  });

  it('a subgraph refuses a ten-year credential signed with its own secret', async () => {
    const secret = 's'.repeat(32);
    const long = signHs256({ role: 'directorate', iss: 'partnerskap-gateway', aud: 'plans', iat: now, exp: now + 10 * 365 * 86_400 }, secretKey(secret));
    const fine = signHs256({ role: 'directorate', iss: 'partnerskap-gateway', aud: 'plans', iat: now, exp: now + 300 }, secretKey(secret));
    const verify = createCredentialVerifier('plans', secret);
    expect(await verify(long)).toBeUndefined();
    expect(await verify(fine)).toEqual({ role: 'directorate' });
  });

  it('round-trip through the gateway’s signer and a subgraph’s verifier, for that subgraph only', async () => {
    const sign = createCredentialSigner('plans', 's'.repeat(32));
    const token = await sign({ role: 'school-owner', org: '4601' });
    expect(await sign({ role: 'school-owner', org: '4601' })).toBe(token);
    expect(await createCredentialVerifier('plans', 's'.repeat(32))(token)).toEqual({ role: 'school-owner', org: '4601' });
    expect(await createCredentialVerifier('catalogue', 's'.repeat(32))(token)).toBeUndefined();
  });
});
