import { createHmac, timingSafeEqual } from 'node:crypto';

/** The kinds of caller the partnership knows. */
export const ROLES = ['directorate', 'institution', 'school-owner', 'union', 'teacher', 'service'] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/**
 * Who is asking. `org` is the caller's organisation: an institution's org number, a school
 * owner's id (municipality or county number, or org number), a union's code, a teacher's
 * pseudonymous id. The directorate and services have none; the public has role `public`.
 */
export interface Identity {
  role: Role | 'public';
  org?: string;
}

/** The caller with no token. */
export const PUBLIC: Identity = Object.freeze({ role: 'public' });

/** The header that carries the gateway's credential to a subgraph. */
export const CREDENTIAL_HEADER = 'x-partnerskap-credential';
const ISSUER = 'partnerskap-gateway';
/** How long the gateway's credential lives: verifiers refuse one that claims longer. */
export const CREDENTIAL_LIFETIME_S = 300;
/** Clock skew allowed between the signer and the verifier of an HS256 token (on `iat`). */
export const HS256_CLOCK_SKEW_S = 30;

const ORG_PATTERN: Record<Role, RegExp | undefined> = {
  directorate: undefined,
  service: undefined,
  institution: /^\d{9}$/,
  'school-owner': /^(\d{2}|\d{4}|\d{9})$/,
  union: /^[A-Za-z0-9]{2,12}$/,
  teacher: /^[a-z0-9-]{3,40}$/,
};

/** Reads an identity from token claims; undefined when the role or organisation is malformed. */
export function identityFromClaims(claims: Record<string, unknown>): Identity | undefined {
  const role = claims.role;
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) return undefined;
  const pattern = ORG_PATTERN[role as Role];
  if (!pattern) return { role: role as Role };
  const org = claims.org;
  if (typeof org !== 'string' || !pattern.test(org)) return undefined;
  return { role: role as Role, org };
}

const encoder = new TextEncoder();

/** The secret a gateway and one subgraph share; at least 32 characters. */
export function secretKey(secret: string): Uint8Array {
  if (secret.length < 32) throw new Error('a gateway secret must be at least 32 characters');
  return encoder.encode(secret);
}

const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64url');
const HS256_HEADER = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/**
 * A compact HS256 JWT, signed with node:crypto directly: the credential is made and checked on
 * every request, and an HMAC over a few hundred bytes costs microseconds this way (jose's async
 * WebCrypto path costs far more). The claims are the gateway's own, never a client's.
 */
export function signHs256(claims: Record<string, unknown>, key: Uint8Array): string {
  const unsigned = `${HS256_HEADER}.${b64(JSON.stringify(claims))}`;
  return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`;
}

/** Whether a token is one of ours (HS256, as {@link signHs256} makes them): a cheap look at its header. */
export function isHs256(token: string): boolean {
  return token.startsWith(`${HS256_HEADER}.`);
}

/**
 * The claims of an HS256 JWT whose signature, issuer, audience, issue time and expiry hold;
 * undefined otherwise. Our signers make short-lived tokens, so one without `iat`, issued in the
 * future (beyond {@link HS256_CLOCK_SKEW_S}), living longer than `maxLifetimeS` or issued longer
 * ago than that is refused: a leaked secret must not mint credentials valid for years.
 */
export function verifyHs256(
  token: string,
  key: Uint8Array,
  expect: { issuer: string; audience: string; subject?: string; maxLifetimeS: number },
  nowS = Date.now() / 1000,
): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HS256_HEADER) return undefined;
  const signature = Buffer.from(parts[2]!, 'base64url');
  const expected = createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (claims.iss !== expect.issuer || claims.aud !== expect.audience) return undefined;
  if (expect.subject !== undefined && claims.sub !== expect.subject) return undefined;
  const { iat, exp } = claims;
  if (typeof exp !== 'number' || exp <= nowS) return undefined;
  if (typeof iat !== 'number' || !Number.isFinite(iat) || iat > nowS + HS256_CLOCK_SKEW_S) return undefined;
  if (exp - iat > expect.maxLifetimeS || nowS - iat > expect.maxLifetimeS + HS256_CLOCK_SKEW_S) return undefined;
  return claims;
}

/**
 * Signs the gateway's credential for one subgraph: HS256, audience = the subgraph, five minutes.
 * Cached per identity until a minute before it expires, so signing costs nothing per request.
 */
export function createCredentialSigner(subgraph: string, secret: string): (identity: Identity) => Promise<string> {
  const key = secretKey(secret);
  const cache = new Map<string, { token: string; renewAt: number }>();
  return async (identity) => {
    const id = `${identity.role}|${identity.org ?? ''}`;
    const now = Date.now();
    const hit = cache.get(id);
    if (hit && hit.renewAt > now) return hit.token;
    const iat = Math.floor(now / 1000);
    const token = signHs256(
      { role: identity.role, ...(identity.org ? { org: identity.org } : {}), iss: ISSUER, aud: subgraph, iat, exp: iat + CREDENTIAL_LIFETIME_S },
      key,
    );
    if (cache.size > 10_000) cache.clear();
    cache.set(id, { token, renewAt: now + (CREDENTIAL_LIFETIME_S - 60) * 1000 });
    return token;
  };
}

/**
 * Verifies the gateway's credential in a subgraph; resolves to the identity, or undefined when
 * the credential is missing, forged, expired or meant for another subgraph. Verified tokens are
 * cached until they expire.
 */
export function createCredentialVerifier(subgraph: string, secret: string): (token: string | undefined) => Promise<Identity | undefined> {
  const key = secretKey(secret);
  const cache = new Map<string, { identity: Identity; expires: number }>();
  return async (token) => {
    if (!token || token.length > 2048) return undefined;
    const hit = cache.get(token);
    if (hit && hit.expires > Date.now()) return hit.identity;
    const payload = verifyHs256(token, key, { issuer: ISSUER, audience: subgraph, maxLifetimeS: CREDENTIAL_LIFETIME_S });
    if (!payload) return undefined;
    const identity = payload.role === 'public' ? PUBLIC : identityFromClaims(payload);
    if (!identity) return undefined;
    if (cache.size > 10_000) cache.clear();
    cache.set(token, { identity, expires: Number(payload.exp) * 1000 });
    return identity;
  };
}

/** The issuer of the service tokens a subgraph signs for the gateway. */
export const SERVICE_ISSUER = 'partnerskap-service';
/** Their audience. */
export const SERVICE_AUDIENCE = 'partnerskap-gateway';
/** How long a service token lives: the gateway refuses one that claims longer. */
export const SERVICE_TOKEN_LIFETIME_S = 120;
