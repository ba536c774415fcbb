import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '@partnerskap/gateway';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MANIFEST_FILE, buildManifest, collectDocuments, main, renderManifest } from './documents.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A copy of the repository's registered documents (operations/ and the kit's partners.graphql) to change. */
function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'documents-'));
  cpSync(join(ROOT, 'operations'), join(dir, 'operations'), { recursive: true, filter: (src) => !src.endsWith('.ts') });
  mkdirSync(join(dir, 'subgraphs/kit/src'), { recursive: true });
  cpSync(join(ROOT, 'subgraphs/kit/src/partners.graphql'), join(dir, 'subgraphs/kit/src/partners.graphql'));
  return dir;
}
const copies: string[] = [];
afterAll(() => copies.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const fresh = () => {
  const dir = copy();
  copies.push(dir);
  return dir;
};

describe('npm run documents', () => {
  it('the committed registry is current, and holds every partner’s documents with its partner', () => {
    const documents = collectDocuments();
    expect(readFileSync(join(ROOT, MANIFEST_FILE), 'utf8')).toBe(renderManifest(buildManifest(documents)));
    expect(documents.map((d) => [d.clientName, d.name, d.source])).toEqual([
      ['admissions', 'AdmissionDeskHeading', 'operations/partners/admissions/persisted-query-manifest.json'],
      ['admissions', 'InstitutionApplications', 'operations/institution-applications.graphql'],
      ['catalogue', 'CatalogueStudies', 'operations/catalogue-studies.graphql'],
      ['catalogue', 'EraseTeacher', 'operations/erase-teacher.graphql'],
      ['catalogue', 'TeacherData', 'operations/teacher-data.graphql'],
      ['feedback', 'UnionOverview', 'operations/union-overview.graphql'],
      ['insights', 'InsightsFunnel', 'operations/insights-funnel.graphql'],
      ['kit', 'Feed', 'subgraphs/kit/src/partners.graphql'],
      ['plans', 'EnglishStudies', 'operations/english-studies.graphql'],
      ['plans', 'OwnerOverview', 'operations/owner-overview.graphql'],
      ['plans', 'OwnerPicture', 'operations/owner-picture.graphql'],
    ]);
    // A frontend's document as Apollo Client sends it; the subgraphs' as the kit prints it. Ids are the bodies' SHA-256.
    const union = documents.find((d) => d.name === 'UnionOverview')!;
    expect(union.body).toMatch(/^query UnionOverview\(\$subject: ID!, \$first: Int, \$after: String\) \{\n {2}statements\(first: \$first, after: \$after\) \{/);
    expect(union.body).toContain('      publishedAt\n        union {\n          id\n          name\n          __typename\n        }\n        __typename\n');
    expect(documents.find((d) => d.name === 'Feed')!.body).not.toContain('__typename');
    for (const d of documents) expect(d.id, d.name).toBe(sha256Hex(d.body));
  });

  it('gives one entry per operation of a partner’s file, each with only the fragments it uses; --check fails until it is written', () => {
    const dir = fresh();
    mkdirSync(join(dir, 'operations/partners/feedback'), { recursive: true });
    writeFileSync(
      join(dir, 'operations/partners/feedback/statements.graphql'),
      'query StatementTitles { statements(first: 5) { edges { node { ...Title } } } }\nquery UnionNames { unions { ...Union } }\n' +
        'fragment Title on Statement { title union { ...Union } }\nfragment Union on Union { id name }\n',
    );
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(main(['--check', '--root', dir])).toBe(1);
      expect(error).toHaveBeenLastCalledWith(`${MANIFEST_FILE} is stale: run npm run documents`);
      expect(main(['--root', dir])).toBe(0);
      expect(main(['--check', '--root', dir])).toBe(0);
      expect(log).toHaveBeenLastCalledWith(`${MANIFEST_FILE} is current (13 documents)`);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
    const written = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as { operations: { name: string; body: string; clientName: string }[] };
    const byName = Object.fromEntries(written.operations.map((o) => [o.name, o]));
    expect(byName.StatementTitles).toMatchObject({
      clientName: 'feedback',
      body: expect.stringMatching(/fragment Title on Statement[\s\S]*fragment Union on Union/),
    });
    expect(byName.UnionNames!.body).not.toContain('fragment Title');
  });

  it('refuses, naming the file: no partner named, a duplicate name or document, a partner’s manifest with an id that is not its body’s SHA-256', () => {
    const refused = (edit: (dir: string) => void) => {
      const dir = fresh();
      edit(dir);
      return () => collectDocuments(dir);
    };
    expect(refused((dir) => writeFileSync(join(dir, 'operations/extra.graphql'), 'query Extra { subjects { code } }\n'))).toThrow(
      'operations/extra.graphql: name its partner in a line "# partner: <name>"',
    );
    expect(refused((dir) => writeFileSync(join(dir, 'operations/extra.graphql'), '# partner: plans\nquery OwnerPicture { subjects { code } }\n'))).toThrow(
      'operations/owner-picture.graphql: the operation name OwnerPicture is taken by operations/extra.graphql: names are unique across partners',
    );
    expect(
      refused((dir) => {
        mkdirSync(join(dir, 'operations/partners/plans'));
        cpSync(join(dir, 'operations/owner-picture.graphql'), join(dir, 'operations/partners/plans/copy.graphql'));
      }),
    ).toThrow('is the same document as OwnerPicture (operations/owner-picture.graphql): register it once');
    expect(
      refused((dir) => {
        const file = join(dir, 'operations/partners/admissions/persisted-query-manifest.json');
        writeFileSync(file, readFileSync(file, 'utf8').replace('"id": "9', '"id": "8'));
      }),
    ).toThrow(/persisted-query-manifest\.json is not a valid manifest:\n- operations\[0\] AdmissionDeskHeading: its id is not the SHA-256 of its body/);
  });
});
