import { describe, expect, it } from 'vitest';
import { createCredentialSigner, createCredentialVerifier, secretKey, signHs256, verifyHs256 } from './identity.js';

const key = secretKey('k'.repeat(32));
const expect_ = { issuer: 'i', audience: 'a' };
const now = Math.floor(Date.now() / 1000);

describe('HS256 credentials', () => {
  it('verify what was signed, and nothing altered, expired, or meant for another audience', () => {
    const token = signHs256({ iss: 'i', aud: 'a', role: 'directorate', exp: now + 60 }, key);
    expect(verifyHs256(token, key, expect_)).toMatchObject({ role: 'directorate' });
    const [h, p, s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ iss: 'i', aud: 'a', role: 'directorate', org: 'x', exp: now + 60 })).toString('base64url')}.${s}`;
    expect(verifyHs256(forged, key, expect_)).toBeUndefined();
    expect(verifyHs256(`${h}.${p}.${s!.slice(0, -2)}AA`, key, expect_)).toBeUndefined();
    expect(verifyHs256(token, secretKey('o'.repeat(32)), expect_)).toBeUndefined();
    expect(verifyHs256(token, key, { issuer: 'i', audience: 'b' })).toBeUndefined();
    expect(verifyHs256(signHs256({ iss: 'i', aud: 'a', exp: now - 1 }, key), key, expect_)).toBeUndefined();
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    expect(verifyHs256(none, key, expect_)).toBeUndefined();
  });

  it('round-trip through the gateway’s signer and a subgraph’s verifier, for that subgraph only', async () => {
    const sign = createCredentialSigner('plans', 's'.repeat(32));
    const token = await sign({ role: 'school-owner', org: '4601' });
    expect(await sign({ role: 'school-owner', org: '4601' })).toBe(token);
    expect(await createCredentialVerifier('plans', 's'.repeat(32))(token)).toEqual({ role: 'school-owner', org: '4601' });
    expect(await createCredentialVerifier('catalogue', 's'.repeat(32))(token)).toBeUndefined();
  });
});
