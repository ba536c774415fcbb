import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import {
  DEFAULT_SUPERGRAPH,
  type ListeningGateway,
  createAuthenticator,
  createGatewayServer,
  envName,
  listenGateway,
  loadGatewayConfig,
  memoryLogger,
} from '@partnerskap/gateway';
import { SERVICE_AUDIENCE, SERVICE_ISSUER, devGatewaySecret, secretKey, signHs256 } from '@partnerskap/kit';
import { type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// The attacks of issue 14 (findings 2 and 7) against a gateway configured as main.ts configures
// it from the environment: NODE_ENV=test (not production), fresh random secrets shared with the
// harness's subgraphs, and a real JWKS served over HTTP by a test identity provider.
const NAMES = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
const ISSUER = 'https://idp.forgery.test';
const AUDIENCE = 'partnerskap-api';
const PUBLIC_PER_MINUTE = 20;
const STUDIES = '{ studies(first: 1) { totalCount } }';
let h: Harness;
let idp: Server;
let signingKey: CryptoKey;
const gateways: ListeningGateway[] = [];
let gateway: ListeningGateway;
let limited: ListeningGateway;

/** A gateway built as gateway/src/main.ts builds it, from an environment. */
async function startConfigured(env: Record<string, string>): Promise<ListeningGateway> {
  const config = loadGatewayConfig(env);
  if (!('jwksUrl' in config.auth)) throw new Error('the test gateway must use the JWKS');
  const server = createGatewayServer({
    logger: memoryLogger(),
    supergraphPath: DEFAULT_SUPERGRAPH,
    supergraphPollMs: config.supergraphPollMs,
    subgraphUrls: config.subgraphs.urlOf,
    development: config.development,
    authenticate: createAuthenticator(config.auth),
    secrets: config.subgraphs.secretOf,
    limits: config.limits,
    rateLimits: config.rateLimits,
  });
  const listening = await listenGateway(server, { port: 0 });
  gateways.push(listening);
  return listening;
}

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
  const { publicKey, privateKey } = await generateKeyPair('EdDSA');
  signingKey = privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'idp', alg: 'EdDSA', use: 'sig' } satisfies JWK] });
  idp = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    SUPERGRAPH_POLL_MS: '0',
    AUTH_JWKS_URL: `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks.json`,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    // This file is one address sending far more than a public caller may; the rate-limit test uses its own gateway.
    RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
  };
  for (const name of NAMES) {
    env[`GATEWAY_SECRET_${envName(name)}`] = h.secrets[name];
    env[`${envName(name)}_URL`] = h.subgraphs[name].url;
  }
  gateway = await startConfigured(env);
  limited = await startConfigured({ ...env, RATE_LIMIT_PUBLIC_PER_MINUTE: String(PUBLIC_PER_MINUTE), RATE_LIMIT_PARTNER_PER_MINUTE: '10000' });
}, 120_000);
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await new Promise((resolve) => idp?.close(resolve));
  await h?.close();
});

/** Posts an operation to a gateway with an Authorization header (or none). */
async function ask(to: ListeningGateway, query: string, authorization?: string, variables?: Record<string, unknown>) {
  const res = await fetch(to.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  return { status: res.status, ...body, codes: body.errors?.map((e) => e.extensions?.code) };
}

/** A service token as a subgraph signs one (createSupergraphClient), with claims to override. */
function serviceToken(sub: string, secret: string, claims: Record<string, unknown> = {}): string {
  const iat = Math.floor(Date.now() / 1000);
  return `Bearer ${signHs256({ role: 'service', iss: SERVICE_ISSUER, sub, aud: SERVICE_AUDIENCE, iat, exp: iat + 120, ...claims }, secretKey(secret))}`;
}

/** A token of the test identity provider. */
function clientToken(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: 'idp' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(signingKey);
}

describe('service identities cannot be forged on a gateway outside production (finding 2)', () => {
  it('serves a real service token of a served subgraph (the check below refuses for the right reason)', async () => {
    expect(await ask(gateway, STUDIES, serviceToken('plans', h.secrets.plans))).toMatchObject({ status: 200, codes: undefined });
  });

  it('refuses a service token for an unknown subgraph signed with its development secret, old or new', async () => {
    for (const secret of ['development-only-gateway-secret-for-evil', devGatewaySecret('evil')]) {
      expect(await ask(gateway, STUDIES, serviceToken('evil', secret))).toMatchObject({ status: 401, codes: ['UNAUTHENTICATED'] });
    }
  });

  it('refuses a service token for a registered subgraph signed with the old derivable development string', async () => {
    for (const name of NAMES) {
      expect(await ask(gateway, STUDIES, serviceToken(name, `development-only-gateway-secret-for-${name}`))).toMatchObject({
        status: 401,
        codes: ['UNAUTHENTICATED'],
      });
    }
  });

  it('refuses a service token that lives too long, has no iat or was issued in the future (finding 7)', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const claims of [{ exp: now + 10 * 365 * 86_400 }, { iat: undefined }, { iat: now + 3600, exp: now + 3700 }]) {
      expect(await ask(gateway, STUDIES, serviceToken('plans', h.secrets.plans, claims))).toMatchObject({ status: 401, codes: ['UNAUTHENTICATED'] });
    }
  });

  it('refuses a client token of the identity provider that claims the role service (finding 7)', async () => {
    expect(await ask(gateway, STUDIES, `Bearer ${await clientToken({ role: 'service', sub: 'someone' })}`)).toMatchObject({
      status: 401,
      codes: ['UNAUTHENTICATED'],
    });
    expect(await ask(gateway, STUDIES, `Bearer ${await clientToken({ role: 'directorate', sub: 'udir' })}`)).toMatchObject({ status: 200, codes: undefined });
  });
});

describe('what a client sends is neither free nor echoed (finding 7)', () => {
  it('does not echo an invalid variable value: names the variable and the type it expects', async () => {
    const marker = `secret-${randomBytes(4).toString('hex')}`;
    const res = await ask(gateway, 'query($n: Int!) { studies(first: $n) { totalCount } }', undefined, { n: marker });
    expect(JSON.stringify(res)).not.toContain(marker);
    expect(res.errors?.map((e) => [e.message, e.extensions?.code])).toEqual([['Variable "$n" got an invalid value; expected type "Int!"', 'BAD_USER_INPUT']]);
  });

  it('counts refused tokens against the address: one over its limit is told 429 whatever token it sends; a valid partner keeps its own bucket', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < PUBLIC_PER_MINUTE + 3; i++) statuses.push((await ask(limited, STUDIES, 'Bearer not.a.token')).status);
    expect(statuses.slice(0, PUBLIC_PER_MINUTE)).toEqual(Array(PUBLIC_PER_MINUTE).fill(401));
    expect(statuses.slice(PUBLIC_PER_MINUTE)).toEqual([429, 429, 429]);
    const forged = await ask(limited, STUDIES, serviceToken('evil', devGatewaySecret('evil')));
    expect(forged).toMatchObject({ status: 429, codes: ['RATE_LIMITED'] });
    expect((await ask(limited, STUDIES)).status).toBe(429);
    expect(await ask(limited, STUDIES, `Bearer ${await clientToken({ role: 'directorate', sub: 'udir' })}`)).toMatchObject({ status: 200, codes: undefined });
  });
});
