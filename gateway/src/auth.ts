import { type Identity, PUBLIC, identityFromClaims } from '@partnerskap/kit';
import { GraphQLError } from 'graphql';
import { type JWK, type JWTVerifyGetKey, createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';

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

const unauthenticated = (message: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/**
 * Verifies bearer JWTs (signature, issuer, audience, expiry with clock skew; EdDSA, ES256 or RS256).
 * No header is the public caller; a bad, expired or wrongly signed token is a 401, never a
 * silent downgrade to public.
 */
export function createAuthenticator(options: AuthOptions): Authenticator {
  let keys: JWTVerifyGetKey;
  if (options.jwksUrl) keys = createRemoteJWKSet(new URL(options.jwksUrl));
  else if (options.jwks) keys = createLocalJWKSet(options.jwks);
  else throw new Error('the gateway needs AUTH_JWKS_URL or a JWK set to verify tokens');
  return async (authorization) => {
    if (authorization === undefined || authorization === '') return PUBLIC;
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
    return identity;
  };
}
