import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Identity } from '@partnerskap/common';
import { type JWK, SignJWT, exportJWK, generateKeyPair, importJWK } from 'jose';

/** The development key pair: created on first use, git-ignored, never used in production. */
export const DEV_KEY_FILE = fileURLToPath(new URL('../../.data/dev-auth-key.json', import.meta.url));
/** Issuer and audience of development tokens. */
export const DEV_ISSUER = 'partnerskap-dev';
export const DEV_AUDIENCE = 'partnerskap';

interface DevKey {
  publicJwk: JWK;
  privateJwk: JWK;
}

/** Reads the development key pair, creating it when there is none (Ed25519). */
export async function loadOrCreateDevKey(file = DEV_KEY_FILE): Promise<DevKey> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevKey;
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const kid = `dev-${Date.now().toString(36)}`;
  const key: DevKey = {
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' },
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' },
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  return key;
}

/** Signs a development token for an identity. */
export async function signDevToken(key: DevKey, identity: Identity, expiresIn = '8h'): Promise<string> {
  return new SignJWT({ role: identity.role, ...(identity.org ? { org: identity.org } : {}) })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.privateJwk.kid! })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(identity.org ?? identity.role)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(await importJWK(key.privateJwk, 'EdDSA'));
}
