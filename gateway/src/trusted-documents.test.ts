import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from './config.js';
import {
  DEFAULT_MANIFEST,
  type ManifestOperation,
  type PersistedQueryManifest,
  createTrustedDocuments,
  manifestProblems,
  normalizeDocument,
  parseManifest,
  sha256Hex,
} from './trusted-documents.js';

// A registered document as Apollo Client sends it (a __typename in each selection but the root).
const BODY = 'query Subjects($first: Int) {\n  studies(first: $first) {\n    totalCount\n    __typename\n  }\n}';
const op = (body: string, name: string, clientName = 'catalogue'): ManifestOperation => ({ id: sha256Hex(body), name, type: 'query', body, clientName });
const manifest: PersistedQueryManifest = { format: 'apollo-persisted-query-manifest', version: 1, operations: [op(BODY, 'Subjects')] };
const ID = sha256Hex(BODY);
const OWNER = { role: 'school-owner', org: '4601' } as const;
const PUBLIC = { role: 'public' } as const;
const post = (body: unknown, identity: { role: 'school-owner' | 'public' | 'teacher'; org?: string } = OWNER) => ({
  identity,
  method: 'POST',
  body,
  search: new URLSearchParams(),
});
const get = (params: Record<string, string>, identity = OWNER) => ({ identity, method: 'GET', body: undefined, search: new URLSearchParams(params) });
const production = createTrustedDocuments({ manifest }, false);
const codeOf = (prepared: unknown) =>
  (prepared as { refused?: { status: number; body: { errors: { extensions: { code: string } }[] } } } | undefined)?.refused && {
    status: (prepared as { refused: { status: number } }).refused.status,
    code: (prepared as { refused: { body: { errors: { extensions: { code: string } }[] } } }).refused.body.errors[0]!.extensions.code,
  };

describe('normalizeDocument', () => {
  it('drops what GraphQL ignores (layout, commas, comments) and keeps strings and the space between names', () => {
    const a = normalizeDocument('# a comment\nquery Q($a: Int, $b: String) {\n  x(a: $a, b: "two  words, #not a comment") { y z }\n}\n');
    const b = normalizeDocument('query Q($a:Int $b:String){x(a:$a b:"two  words, #not a comment"){y\tz}}');
    expect(a).toBe('query Q($a:Int$b:String){x(a:$a b:"two  words, #not a comment"){y z}}');
    expect(b).toBe(a);
    expect(normalizeDocument('{ a { b } }')).not.toBe(normalizeDocument('{ a b }'));
    expect(normalizeDocument('{ ... on A { b } }')).toBe(normalizeDocument('{...on A{b}}'));
    expect(normalizeDocument('{ a(s: """ x\n  y """) }')).toBe('{a(s:""" x\n  y """)}');
  });
});

describe('the manifest', () => {
  it('is refused with a reason for an id that is not its body’s SHA-256, a duplicate id or name, a wrong format', () => {
    expect(manifestProblems(manifest)).toEqual([]);
    expect(manifestProblems({ ...manifest, format: 'other' })).toEqual([expect.stringContaining('apollo-persisted-query-manifest')]);
    expect(manifestProblems({ ...manifest, operations: [{ ...op(BODY, 'Subjects'), id: 'abc' }] })).toEqual([
      'operations[0] Subjects (catalogue): its id is not the SHA-256 of its body',
    ]);
    const other = `${BODY}\n`;
    expect(manifestProblems({ ...manifest, operations: [op(BODY, 'Subjects'), op(BODY, 'Again', 'plans'), op(other, 'Subjects', 'plans')] })).toEqual([
      `operations[1] Again (plans): the same document as Subjects (catalogue) (id ${ID})`,
      'operations[2] Subjects (plans): the name is taken by operations[0] (catalogue)',
    ]);
    expect(() => parseManifest('{', 'x.json')).toThrow(/x\.json is not JSON/);
  });

  it('is the committed one by default, and every registered file’s text is accepted as it is (comments, layout, no __typename)', () => {
    const committed = createTrustedDocuments({}, false);
    expect(committed.size).toBeGreaterThanOrEqual(10);
    const dir = new URL('../../operations/', import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.graphql'))) {
      const query = readFileSync(new URL(file, dir), 'utf8');
      expect(committed.prepare(post({ query })), file).toBeUndefined();
    }
    expect(JSON.parse(readFileSync(DEFAULT_MANIFEST, 'utf8'))).toMatchObject({ format: 'apollo-persisted-query-manifest', version: 1 });
  });
});

describe('trusted documents', () => {
  it('resolves a registered id, for any caller: documentId (sha256: or bare, body or query string) and an APQ hash', () => {
    const resolved = { query: BODY, variables: { first: 2 } };
    expect(production.prepare(post({ documentId: `sha256:${ID}`, variables: { first: 2 } }))).toEqual({ body: resolved, search: '' });
    expect(production.prepare(post({ documentId: ID.toUpperCase(), variables: { first: 2 } }, PUBLIC))).toEqual({ body: resolved, search: '' });
    const apq = { extensions: { persistedQuery: { version: 1, sha256Hash: ID } }, variables: { first: 2 } };
    expect(production.prepare(post(apq))).toEqual({ body: { ...apq, query: BODY }, search: '' });
    const viaGet = production.prepare(get({ documentId: `sha256:${ID}`, variables: '{"first":2}' }));
    expect(new URLSearchParams((viaGet as { search: string }).search)).toEqual(new URLSearchParams({ variables: '{"first":2}', query: BODY }));
  });

  it('refuses an unknown id with 404 PERSISTED_QUERY_NOT_IN_LIST, and a documentId sent with a query with 400', () => {
    expect(codeOf(production.prepare(post({ documentId: `sha256:${'0'.repeat(64)}` }, PUBLIC)))).toEqual({ status: 404, code: 'PERSISTED_QUERY_NOT_IN_LIST' });
    expect(codeOf(production.prepare(get({ documentId: 'nope' })))).toEqual({ status: 404, code: 'PERSISTED_QUERY_NOT_IN_LIST' });
    expect(codeOf(production.prepare(post({ documentId: ID, query: BODY })))).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(codeOf(production.prepare(post({ documentId: 7 })))).toEqual({ status: 400, code: 'BAD_REQUEST' });
  });

  it('lets a role held to registered documents send one as its text (any layout, with or without __typename), and nothing else', () => {
    expect(production.roles).toEqual(new Set(['directorate', 'institution', 'school-owner', 'union', 'teacher']));
    expect(production.prepare(post({ query: BODY }))).toBeUndefined();
    expect(production.prepare(post({ query: '# the catalogue\nquery Subjects($first: Int) { studies(first: $first) { totalCount } }' }))).toBeUndefined();
    const refused = { status: 403, code: 'QUERY_NOT_IN_SAFELIST' };
    expect(codeOf(production.prepare(post({ query: '{ subjects { code } }' })))).toEqual(refused);
    expect(codeOf(production.prepare(get({ query: '{ subjects { code } }' }, { role: 'teacher', org: 't-1' } as never)))).toEqual(refused);
    // Not parsed: a document that does not parse, or is far over the token limit, is simply not registered.
    expect(codeOf(production.prepare(post({ query: '{ study(id: "x") { id' })))).toEqual(refused);
    expect(codeOf(production.prepare(post({ query: `{ ${'a '.repeat(50_000)}}` })))).toEqual(refused);
    // An APQ registration of an unregistered document, and an APQ hash outside the registry (Apollo's cache is anyone's).
    const text = '{ subjects { code } }';
    expect(codeOf(production.prepare(post({ query: text, extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(text) } } })))).toEqual(refused);
    expect(codeOf(production.prepare(post({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(text) } } })))).toEqual({
      status: 404,
      code: 'PERSISTED_QUERY_NOT_IN_LIST',
    });
  });

  it('holds nobody in development, nor the public in production; the roles are configurable; never the service role', () => {
    const development = createTrustedDocuments({ manifest }, true);
    expect(development.roles.size).toBe(0);
    expect(development.prepare(post({ query: '{ subjects { code } }' }))).toBeUndefined();
    expect(development.prepare(post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }))).toBeUndefined();
    expect(production.prepare(post({ query: '{ subjects { code } }' }, PUBLIC))).toBeUndefined();
    const publicToo = createTrustedDocuments({ manifest, roles: ['public'] }, true);
    expect(codeOf(publicToo.prepare(post({ query: '{ subjects { code } }' }, PUBLIC)))).toEqual({ status: 403, code: 'QUERY_NOT_IN_SAFELIST' });
    expect(publicToo.prepare(post({ query: '{ subjects { code } }' }))).toBeUndefined();
    expect(() => createTrustedDocuments({ manifest, roles: ['service'] }, false)).toThrow(/service role cannot be held/);
  });

  it('is configured by TRUSTED_DOCUMENTS_ROLES (none: nobody; unset: the default) and TRUSTED_DOCUMENTS_MANIFEST', () => {
    const dev = { PARTNERSKAP_DEV: '1' };
    expect(loadGatewayConfig(dev).trustedDocuments).toEqual({});
    expect(loadGatewayConfig({ ...dev, TRUSTED_DOCUMENTS_ROLES: 'union, public', TRUSTED_DOCUMENTS_MANIFEST: '/m.json' }).trustedDocuments).toEqual({
      roles: ['union', 'public'],
      manifestPath: '/m.json',
    });
    expect(loadGatewayConfig({ ...dev, TRUSTED_DOCUMENTS_ROLES: 'none' }).trustedDocuments).toEqual({ roles: [] });
    expect(() => loadGatewayConfig({ ...dev, TRUSTED_DOCUMENTS_ROLES: 'service,none' })).toThrow(
      /TRUSTED_DOCUMENTS_ROLES must be none or list roles among public, directorate, .* \(service never\), got "service"\n- TRUSTED_DOCUMENTS_ROLES .* got "none"/,
    );
  });

  describe('the registry file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trusted-documents-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('is required to start when a role is held to it or it is named, and must be a valid manifest', () => {
      const missing = join(dir, 'missing.json');
      expect(() => createTrustedDocuments({ manifestPath: missing }, false)).toThrow(
        /registry .*missing\.json cannot be read \(ENOENT\), and directorate, .*, teacher may send registered documents only: build it with npm run documents/,
      );
      expect(() => createTrustedDocuments({ manifestPath: missing, roles: [] }, false)).toThrow(/missing\.json cannot be read \(ENOENT\)$/);
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ ...manifest, operations: [{ ...op(BODY, 'Subjects'), id: 'x' }] }));
      expect(() => createTrustedDocuments({ manifestPath: bad }, true)).toThrow(/not a valid manifest:\n- operations\[0\] Subjects \(catalogue\): its id/);
    });
  });
});
