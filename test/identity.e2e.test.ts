import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { CREDENTIAL_HEADER, createCredentialSigner, createCredentialVerifier } from '@partnerskap/kit';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, TEST_AUDIENCE, TEST_ISSUER, startHarness } from './harness.js';

// A recording proxy in front of the catalogue subgraph: what the gateway really sends it.
let proxy: Server;
let proxyTarget = '';
const seen: IncomingHttpHeaders[] = [];
let h: Harness;
const STUDIES = '{ studies(first: 1) { totalCount } }';

beforeAll(async () => {
  proxy = createServer((req, res) => {
    seen.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
      void fetch(proxyTarget, { method: req.method ?? 'POST', headers, body: Buffer.concat(chunks) }).then(async (r) => {
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;
  h = await startHarness({
    seedProjections: false,
    subgraphUrl: (name, url) => {
      if (name !== 'catalogue') return url;
      proxyTarget = url;
      return `http://127.0.0.1:${port}/graphql`;
    },
  });
}, 120_000);
afterAll(async () => {
  await h?.close();
  await new Promise((resolve) => proxy?.close(resolve));
});

describe('authentication at the gateway', () => {
  it('serves a caller without a token as the public', async () => {
    const res = await h.query(STUDIES);
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
  });

  it('serves a caller with a valid token', async () => {
    const res = await h.query(STUDIES, {}, { token: await h.token({ role: 'school-owner', org: '0301' }) });
    expect([res.status, res.errors]).toEqual([200, undefined]);
  });

  it('accepts a token that expired within the allowed clock skew', async () => {
    const token = await h.token({ role: 'directorate' }, {}, Math.floor(Date.now() / 1000) - 10);
    expect((await h.query(STUDIES, {}, { token })).status).toBe(200);
  });

  const bad: [string, () => Promise<Record<string, string>>][] = [
    ['a token that is not a JWT', async () => ({ authorization: 'Bearer not-a-token' })],
    ['another scheme', async () => ({ authorization: 'Basic dXNlcjpwYXNz' })],
    ['an expired token', async () => ({ authorization: `Bearer ${await h.token({ role: 'directorate' }, {}, Math.floor(Date.now() / 1000) - 120)}` })],
    [
      'a token signed by another key',
      async () => {
        const { privateKey } = await generateKeyPair('EdDSA');
        const token = await new SignJWT({ role: 'directorate' })
          .setProtectedHeader({ alg: 'EdDSA', kid: 'test' })
          .setIssuer(TEST_ISSUER)
          .setAudience(TEST_AUDIENCE)
          .setExpirationTime('5m')
          .sign(privateKey);
        return { authorization: `Bearer ${token}` };
      },
    ],
    ['a token of another issuer', async () => ({ authorization: `Bearer ${await h.token({ role: 'directorate' }, { iss: 'https://evil.test' })}` })],
    ['a token for another audience', async () => ({ authorization: `Bearer ${await h.token({ role: 'directorate' }, { aud: 'other' })}` })],
    ['a token with an unknown role', async () => ({ authorization: `Bearer ${await h.token({ role: 'directorate' }, { role: 'admin' })}` })],
    ['a token whose organisation does not fit its role', async () => ({ authorization: `Bearer ${await h.token({ role: 'institution', org: '0301' })}` })],
  ];

  it.each(bad)('refuses %s with 401 UNAUTHENTICATED, never as the public', async (_name, headers) => {
    const res = await h.query(STUDIES, {}, { headers: await headers() });
    expect(res.status).toBe(401);
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('subgraphs answer only the gateway', () => {
  const names = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
  const ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) { __typename } }';

  it.each(names)('%s refuses _service and _entities without the credential, before any database command', async (name) => {
    h.takeCommands();
    const service = await h.querySubgraph(name, '{ _service { sdl } }', {}, { as: null });
    const entities = await h.querySubgraph(name, ENTITIES, { r: [{ __typename: 'Study', id: 'x' }] }, { as: null });
    for (const res of [service, entities]) {
      expect(res.status).toBe(401);
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    }
    expect(h.takeCommands()).toEqual([]);
  });

  it.each(names)('%s refuses a credential meant for another subgraph or signed with another secret', async (name) => {
    const other = name === 'catalogue' ? 'plans' : 'catalogue';
    const forOther = await createCredentialSigner(other, h.secrets[other])({ role: 'directorate' });
    const forged = await createCredentialSigner(name, 'x'.repeat(40))({ role: 'directorate' });
    for (const credential of [forOther, forged, 'garbage']) {
      const res = await h.querySubgraph(name, '{ _service { sdl } }', {}, { as: null, headers: { [CREDENTIAL_HEADER]: credential } });
      expect(res.status).toBe(401);
    }
    expect((await h.querySubgraph(name, '{ _service { sdl } }')).status).toBe(200);
  });

  it('passes only the identity the gateway verified: client identity headers never reach a subgraph', async () => {
    const forged = await createCredentialSigner('catalogue', h.secrets.catalogue)({ role: 'directorate' });
    seen.length = 0;
    const res = await h.query(
      STUDIES,
      {},
      {
        headers: { [CREDENTIAL_HEADER]: forged, 'x-user-id': 't-1', 'x-role': 'directorate', 'x-org': '0301' },
      },
    );
    expect(res.status).toBe(200);
    expect(seen.length).toBe(1);
    const received = seen[0]!;
    expect(received['x-user-id'] ?? received['x-role'] ?? received['x-org']).toBeUndefined();
    expect(received[CREDENTIAL_HEADER]).not.toBe(forged);
    const verify = createCredentialVerifier('catalogue', h.secrets.catalogue);
    expect(await verify(received[CREDENTIAL_HEADER] as string)).toEqual({ role: 'public' });
  });

  it('vouches for the caller the token names', async () => {
    seen.length = 0;
    await h.query(STUDIES, {}, { token: await h.token({ role: 'institution', org: '874789542' }) });
    const verify = createCredentialVerifier('catalogue', h.secrets.catalogue);
    expect(await verify(seen[0]![CREDENTIAL_HEADER] as string)).toEqual({ role: 'institution', org: '874789542' });
  });
});
