import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSubgraph, formatCheck } from './check.js';
import { SUBGRAPHS } from './compose.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (name: string): string => readFileSync(new URL(`../../schema/${name}.graphql`, import.meta.url), 'utf8');
const feedback = read('feedback');

/** The committed SDL with one edit; fails loudly if the text to edit is no longer there. */
function edited(sdl: string, ...edits: [from: string, to: string][]): string {
  let out = sdl;
  for (const [from, to] of edits) {
    expect(out, `the SDL should contain ${JSON.stringify(from)}`).toContain(from);
    out = out.replace(from, to);
  }
  return out;
}

/** Average renamed to mean on both rating types: EnglishStudies and UnionOverview select `average`. */
const renamedAverage = edited(
  feedback,
  ['  average: Float\n  "The average per topic', '  mean: Float\n  "The average per topic'],
  ['  average: Float\n  "How many rated it', '  mean: Float\n  "How many rated it'],
);

describe('schema:check', () => {
  it('reports no changes for the unchanged working copy', async () => {
    const result = await checkSubgraph({ name: 'feedback' });
    expect(result).toMatchObject({ summary: 'feedback: no changes to the supergraph', ok: true, exitCode: 0, newSubgraph: false });
    expect([result.composition, result.changes, result.guards, result.costs, result.operations.broken]).toEqual([
      { errors: [], hints: [] },
      { breaking: [], dangerous: [], safe: [] },
      [],
      [],
      [],
    ]);
  });

  it('passes an additive change and lists it as safe', async () => {
    const candidateSdl = edited(feedback, [
      '  givenAt: DateTime!\n}',
      '  givenAt: DateTime!\n  "Whether the participant would recommend the study."\n  recommends: Boolean\n}',
    ]);
    const result = await checkSubgraph({ name: 'feedback', candidateSdl });
    expect(result).toMatchObject({ summary: 'feedback: safe to deploy (1 addition)', ok: true, exitCode: 0 });
    expect(result.changes).toEqual({
      breaking: [],
      dangerous: [],
      safe: [{ type: 'FIELD_ADDED', message: "Field 'recommends' was added to object type 'Feedback'", path: 'Feedback.recommends' }],
    });
    expect(result.operations.broken).toEqual([]);
  });

  it('refuses a renamed field and names the registered operations it breaks', async () => {
    const result = await checkSubgraph({ name: 'feedback', candidateSdl: renamedAverage });
    expect(result).toMatchObject({ summary: 'feedback: 2 breaking changes, 3 operations broken', ok: false, exitCode: 1 });
    expect(result.changes.breaking.map((c) => [c.type, c.path])).toEqual([
      ['FIELD_REMOVED', 'RatingSummary.average'],
      ['FIELD_REMOVED', 'TopicAverage.average'],
    ]);
    expect(result.operations.broken).toEqual([
      { operation: 'EnglishStudies', file: 'operations/english-studies.graphql', errors: ['Cannot query field "average" on type "RatingSummary".'] },
      {
        operation: 'InsightsFunnel',
        file: 'operations/insights-funnel.graphql',
        errors: ['Cannot query field "average" on type "RatingSummary".', 'Cannot query field "average" on type "RatingSummary".'],
      },
      {
        operation: 'UnionOverview',
        file: 'operations/union-overview.graphql',
        errors: ['Cannot query field "average" on type "RatingSummary".', 'Cannot query field "average" on type "TopicAverage".'],
      },
    ]);
    const text = formatCheck(result);
    expect(text.split('\n')[0]).toBe('feedback: 2 breaking changes, 3 operations broken');
    expect(text).toContain('  UnionOverview (operations/union-overview.graphql)');
    // By the partner whose frontend registered each (operations/manifest.json's clientName).
    expect(result.operations.byPartner).toEqual([
      { partner: 'feedback', operations: ['UnionOverview'] },
      { partner: 'insights', operations: ['InsightsFunnel'] },
      { partner: 'plans', operations: ['EnglishStudies'] },
    ]);
    expect(text).toContain("Partners' registered operations broken (operations/manifest.json) (3)\n  feedback: 1 operation broken: UnionOverview\n");

    const allowed = await checkSubgraph({ name: 'feedback', candidateSdl: renamedAverage, allowBreaking: true });
    expect(allowed).toMatchObject({ summary: 'feedback: 2 breaking changes, 3 operations broken (allowed by --allow-breaking)', ok: false, exitCode: 0 });
  });

  it("names the operations another subgraph's removal breaks (plans: an owner's overview and the GDPR access)", async () => {
    const result = await checkSubgraph({
      name: 'plans',
      candidateSdl: edited(read('plans'), ['  "The school the teacher works at; null once the teacher\'s personal data is erased."\n  school: String\n', '']),
    });
    expect(result.exitCode).toBe(1);
    expect(result.changes.breaking.map((c) => c.path)).toEqual(['Teacher.school']);
    const error = ['Cannot query field "school" on type "Teacher".'];
    expect(result.operations.broken).toEqual([
      { operation: 'OwnerOverview', file: 'operations/owner-overview.graphql', errors: error },
      { operation: 'TeacherData', file: 'operations/teacher-data.graphql', errors: error },
    ]);
  });

  it("names a partner's own registered document it breaks (operations/manifest.json, from its Apollo manifest in operations/partners/)", async () => {
    const result = await checkSubgraph({
      name: 'admissions',
      candidateSdl: edited(read('admissions'), [
        '  "The campuses (study places) where the institution teaches."\n  campuses: [String!] @listSize(assumedSize: 8)\n',
        '',
      ]),
    });
    expect(result.operations.broken).toEqual([
      {
        operation: 'AdmissionDeskHeading',
        file: 'operations/manifest.json',
        errors: ['Cannot query field "campuses" on type "Institution".'],
      },
    ]);
    expect(result.operations.byPartner).toEqual([{ partner: 'admissions', operations: ['AdmissionDeskHeading'] }]);
    expect(result.summary).toBe('admissions: 1 breaking change, 1 operation broken');
  });

  it('refuses a field against the nullability rule, even with --allow-breaking, unless it is a listed exception', async () => {
    const candidateSdl = edited(feedback, ['  rating: RatingSummary @cost(weight: 5)', '  rating: RatingSummary! @cost(weight: 5)']);
    const message =
      'Study.rating: RatingSummary! is added by feedback to Study, an entity admissions, catalogue and plans also define: an outage of feedback would null the whole Study reached through them; make it RatingSummary (nullable)';
    const result = await checkSubgraph({ name: 'feedback', candidateSdl, allowBreaking: true });
    expect(result).toMatchObject({ summary: 'feedback: 1 field against the nullability rule', ok: false, exitCode: 1 });
    expect(result.nullability).toEqual([{ coordinate: 'Study.rating', rule: 'entity-field', message }]);
    expect(formatCheck(result)).toContain(`  ${message}`);
    // Excepted, Study.rating may blank a study: the non-null references to studies must then stop that null (rule b).
    const excepted = await checkSubgraph({ name: 'feedback', candidateSdl, nullabilityExceptions: { 'Study.rating': 'reviewed' } });
    expect(excepted.nullability.map((v) => [v.rule, v.coordinate])).toEqual([
      ['reference', 'Mutation.publishStudy'],
      ['reference', 'Mutation.updateStudy'],
      ['reference', 'Mutation.cancelStudy'],
      ['reference', 'StudyEdge.node'],
    ]);
  });

  it('refuses a changed field type even when no registered operation notices', async () => {
    const result = await checkSubgraph({
      name: 'feedback',
      candidateSdl: edited(feedback, ['  count: Int\n  "The average overall', '  count: Float\n  "The average overall']),
    });
    expect(result).toMatchObject({ summary: 'feedback: 1 breaking change, no registered operation broken', ok: false, exitCode: 1 });
    expect(result.changes.breaking).toEqual([
      {
        type: 'FIELD_TYPE_CHANGED',
        message: "Field 'RatingSummary.count' changed type from 'Int' to 'Float'",
        path: 'RatingSummary.count',
      },
    ]);
    expect(result.operations.broken).toEqual([]);
  });

  it.each([
    ['an entity key on a field that does not exist', ['type Study @key(fields: "id")', 'type Study @key(fields: "nope")'], 'KEY_INVALID_FIELDS'],
    ['a shared type that conflicts with the other subgraphs', ['  hasNextPage: Boolean!', '  hasNextPage: Int!'], 'FIELD_TYPE_MISMATCH'],
    ['SDL that does not parse', ['type Union @tag(name: "public") {', 'type Union @tag(name: "public") {{'], 'INVALID_GRAPHQL'],
  ] as const)('reports a composition error with its code: %s', async (_, edit, code) => {
    const result = await checkSubgraph({ name: 'feedback', candidateSdl: edited(feedback, [...edit]), allowBreaking: true });
    // --allow-breaking lets breaking changes through, never a supergraph that cannot be built.
    expect(result).toMatchObject({ summary: 'feedback: does not compose (1 error)', ok: false, exitCode: 1 });
    expect(result.composition.errors).toEqual([{ code, message: expect.any(String) }]);
    expect(formatCheck(result)).toContain(`  ${code}: `);
  });

  it('lists guards removed, loosened and added, a removed or loosened one as a security change', async () => {
    const candidateSdl = edited(
      feedback,
      ['  comment: String @requiresScopes(scopes: [["role:union"], ["role:directorate"]])', '  comment: String'],
      ['  name: String!\n}', '  name: String! @authenticated\n}'],
      [
        '@requiresScopes(scopes: [["role:union"], ["role:directorate"]])\n}',
        '@requiresScopes(scopes: [["role:union"], ["role:directorate"], ["role:teacher"]])\n}',
      ],
      ['  givenAt: DateTime!\n}', '  givenAt: DateTime!\n  "Whether the participant would recommend the study."\n  recommends: Boolean @authenticated\n}'],
    );
    const result = await checkSubgraph({ name: 'feedback', candidateSdl });
    expect(result.guards).toEqual([
      {
        coordinate: 'Feedback.comment',
        kind: 'removed',
        before: '@requiresScopes(scopes: [["role:union"], ["role:directorate"]])',
        loosened: true,
        tightened: false,
      },
      { coordinate: 'Feedback.recommends', kind: 'added', after: '@authenticated', loosened: false, tightened: false, element: 'new' },
      {
        coordinate: 'Study.feedback',
        kind: 'changed',
        before: '@requiresScopes(scopes: [["role:union"], ["role:directorate"]])',
        after: '@requiresScopes(scopes: [["role:union"], ["role:directorate"], ["role:teacher"]])',
        loosened: true,
        tightened: false,
      },
      { coordinate: 'Union.name', kind: 'added', after: '@authenticated', loosened: false, tightened: true },
    ]);
    // Union.name was public: callers without a token lose it (the public contract's own breaking change), as they would a removed field.
    expect(result.summary).toBe('feedback: 1 breaking change of the public contract, no registered operation broken; to review: 2 guards loosened');
    expect(result.exitCode).toBe(1);
    expect(result.contract.changes.breaking).toEqual([
      {
        type: 'FIELD_REMOVED',
        message: "Field 'name' was removed from object type 'Union'",
        path: 'Union.name',
        reason: 'Callers without a token lose it while the API schema keeps it: it is guarded now, or no longer tagged public',
      },
    ]);
    const text = formatCheck(result);
    expect(text).toContain('Authorization guards (4)');
    expect(text).toContain("Public contract (callers without a token): breaking changes (1)\n  Field 'name' was removed from object type 'Union'");
    expect(text).toMatch(/Feedback\.comment: .* -> \(no guard\) {2}SECURITY: removed/);
  });

  it('lists @cost and @listSize changes and the registered operations whose cost changes', async () => {
    const candidateSdl = edited(
      feedback,
      ['rating: RatingSummary @cost(weight: 5)', 'rating: RatingSummary @cost(weight: 8)'],
      ['unions: [Union!] @listSize(assumedSize: 4)', 'unions: [Union!] @listSize(assumedSize: 6)'],
    );
    const result = await checkSubgraph({ name: 'feedback', candidateSdl });
    expect(result.costs).toEqual([
      { coordinate: 'Query.unions', directive: '@listSize', kind: 'changed', before: '@listSize(assumedSize: 4)', after: '@listSize(assumedSize: 6)' },
      { coordinate: 'Study.rating', directive: '@cost', kind: 'changed', before: '@cost(weight: 5)', after: '@cost(weight: 8)' },
    ]);
    expect(result).toMatchObject({ summary: 'feedback: safe to deploy (2 cost changes)', exitCode: 0 });
    // The README example selects five studies' ratings: 3 more each.
    const english = result.operations.costs.find((o) => o.operation === 'EnglishStudies');
    expect(english && english.after - english.before).toBe(15);

    // The same change refused once it takes a registered operation over the gateway's cost limit.
    const limited = await checkSubgraph({ name: 'feedback', candidateSdl, costLimit: english!.before });
    expect(limited.exitCode).toBe(1);
    expect(limited.operations.broken).toEqual([
      { operation: 'EnglishStudies', file: 'operations/english-studies.graphql', errors: [expect.stringContaining('LIMIT_EXCEEDED')] },
    ]);
  });

  it('takes a new partner not yet in the supergraph: everything it adds is additive', async () => {
    const subgraphs = [...SUBGRAPHS, { name: 'reviews', url: 'http://127.0.0.1:4005/graphql' }];
    const result = await checkSubgraph({ name: 'reviews', subgraphs, candidateSdl: 'type Query {\n  "Reviews of the strategy."\n  reviews: [String!]\n}\n' });
    expect(result).toMatchObject({ summary: 'reviews: safe to deploy (1 addition)', newSubgraph: true, exitCode: 0 });
    expect(result.changes.safe.map((c) => c.path)).toEqual(['Query.reviews']);
  });

  it('refuses an unknown subgraph, listing the registered ones', async () => {
    await expect(checkSubgraph({ name: 'reviews' })).rejects.toMatchObject({
      code: 'UNKNOWN_SUBGRAPH',
      message: expect.stringContaining('the registered ones are catalogue, admissions, plans, feedback'),
    });
  });

  describe('the CLI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'schema-check-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const run = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile('npx', ['tsx', 'tools/schema/check.ts', ...args], { cwd: root }, (error, stdout, stderr) => {
          done({ code: error ? Number(error.code) : 0, stdout, stderr });
        });
      });

    it('exits 1 on a breaking change naming the broken operations, 0 with --allow-breaking, 2 for an unknown subgraph', { timeout: 60_000 }, async () => {
      const file = join(dir, 'feedback.graphql');
      writeFileSync(file, renamedAverage);
      const [refused, allowed, json, unknown] = await Promise.all([
        run('feedback', '--sdl', file),
        run('feedback', '--sdl', file, '--allow-breaking'),
        run('feedback', '--sdl', file, '--json'),
        run('nope'),
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stdout.split('\n')[0]).toBe('feedback: 2 breaking changes, 3 operations broken');
      expect(refused.stdout).toContain('UnionOverview (operations/union-overview.graphql)');
      expect(allowed.code).toBe(0);
      expect(allowed.stdout).toContain('UnionOverview (operations/union-overview.graphql)');
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({
        subgraph: 'feedback',
        exitCode: 1,
        operations: { broken: [{ operation: 'EnglishStudies' }, { operation: 'InsightsFunnel' }, { operation: 'UnionOverview' }] },
      });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('catalogue, admissions, plans, feedback');
    });
  });
});
