import {
  type Identity,
  PUBLIC,
  SERVICE_AUDIENCE,
  SERVICE_ISSUER,
  SERVICE_TOKEN_LIFETIME_S,
  identityFromClaims,
  isHs256,
  secretKey,
  verifyHs256,
} from '@partnerskap/common';
import { GraphQLError } from 'graphql';
import { type JWK, type JWTVerifyGetKey, createLocalJWKSet, createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

/** How the gateway verifies client tokens. */
export interface AuthOptions {
  /** The identity provider's JWKS URL; or give `jwks`. */
  jwksUrl?: string;
  /** Public keys as a JWK set (the development key, tests). */
  jwks?: { keys: JWK[] };
  issuer: string;
  audience: string;
  /** Clock skew allowed on `exp`/`nbf`, in seconds; default 30. */
  clockToleranceS?: number;
}

/** Turns the `Authorization` header into an identity. */
export type Authenticator = (authorization: string | undefined) => Promise<Identity>;

const unauthenticated = (message: string): GraphQLError => new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/**
 * Verifies bearer JWTs (signature, issuer, audience, expiry with clock skew; EdDSA, ES256 or RS256).
 * No header is the public caller; a bad, expired or wrongly signed token is a 401, never a
 * silent downgrade to public. A client token never carries the role `service`: that comes only
 * from a subgraph's own service token ({@link withServiceTokens}).
 */
export function createAuthenticator(options: AuthOptions): Authenticator {
  let keys: JWTVerifyGetKey;
  if (options.jwksUrl) keys = createRemoteJWKSet(new URL(options.jwksUrl));
  else if (options.jwks) keys = createLocalJWKSet(options.jwks);
  else throw new Error('the gateway needs AUTH_JWKS_URL or a JWK set to verify tokens');
  // A verified token is kept until it expires: a partner's frontend sends the same token many times.
  const verified = new Map<string, { identity: Identity; expiresAt: number }>();
  return async (authorization) => {
    if (authorization === undefined || authorization === '') return PUBLIC;
    const hit = verified.get(authorization);
    if (hit && hit.expiresAt > Date.now()) return hit.identity;
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization);
    if (!match || authorization.length > 4096) throw unauthenticated('The Authorization header must be "Bearer <JWT>"');
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(match[1]!, keys, {
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockToleranceS ?? 30,
        algorithms: ['EdDSA', 'ES256', 'RS256'],
        requiredClaims: ['exp'],
      }));
    } catch {
      throw unauthenticated('The token is invalid or has expired');
    }
    const identity = identityFromClaims(claims);
    if (!identity) throw unauthenticated('The token names no valid role and organisation');
    if (identity.role === 'service') throw unauthenticated('A client token cannot carry the role service');
    if (verified.size >= 10_000) verified.clear();
    verified.set(authorization, { identity, expiresAt: Number(claims.exp) * 1000 });
    return identity;
  };
}

/**
 * Verifies the service tokens subgraphs sign when a rule of theirs asks the supergraph (HS256 with
 * the secret the gateway already shares with that subgraph; subject = the subgraph, living at most
 * {@link SERVICE_TOKEN_LIFETIME_S}). Only a subgraph of the supergraph being served (`served`) is
 * looked up, never whatever name a token chooses. Anything else is left to the client
 * authenticator. The identity is `service`: it sees what a rule needs.
 */
export function withServiceTokens(
  clients: Authenticator,
  secrets: Readonly<Record<string, string>> | ((name: string) => string | undefined),
  served: () => ReadonlySet<string>,
): Authenticator {
  const secretOf = typeof secrets === 'function' ? secrets : (name: string) => (Object.hasOwn(secrets, name) ? secrets[name] : undefined);
  // Keys are derived once per secret; only served subgraphs' secrets are ever looked up, so the map stays small.
  const keys = new Map<string, ReturnType<typeof secretKey>>();
  const keyOf = (name: string) => {
    if (!served().has(name)) return undefined;
    const secret = secretOf(name);
    if (!secret || secret.length < 32) return undefined;
    if (!keys.has(secret)) keys.set(secret, secretKey(secret));
    return keys.get(secret);
  };
  return async (authorization) => {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
    // Client tokens are never HS256 (the authenticator takes EdDSA, ES256, RS256): only ours are decoded here.
    if (!token || !isHs256(token)) return clients(authorization);
    let claims: { iss?: string; sub?: string } = {};
    try {
      claims = decodeJwt(token);
    } catch {
      // a malformed token: the client authenticator refuses it
    }
    if (claims.iss !== SERVICE_ISSUER) return clients(authorization);
    const key = typeof claims.sub === 'string' ? keyOf(claims.sub) : undefined;
    if (!key) throw unauthenticated('The service token names no subgraph of the supergraph');
    if (!verifyHs256(token, key, { issuer: SERVICE_ISSUER, audience: SERVICE_AUDIENCE, subject: claims.sub!, maxLifetimeS: SERVICE_TOKEN_LIFETIME_S })) {
      throw unauthenticated('The service token is invalid or has expired');
    }
    return { role: 'service' };
  };
}
