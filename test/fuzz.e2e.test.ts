import fc from 'fast-check';
import { type Identity, settableClock } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUND, UDIR, type Year, publishStudy, startYear, submitApplication, teacher } from './year-fixture.js';

// Property-based fuzzing: hostile operations and variables ($-keys, huge and deep values, wrong
// types, `_entities` garbage) through the gateway and straight at the subgraphs. For each: no 5xx,
// nothing internal leaked, every error with one of our codes; none of the writes (all made by
// callers who may not make them) changes the database; no unhandled rejection anywhere in the
// process (the gateway and the subgraphs run in it). Runs are seeded (FUZZ_SEED overrides).
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const clock = settableClock('2030-02-10T09:00:00Z');
let y: Year;
const tokens = new Map<string, string>();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
let sent = 0;
let reachedResolver = 0;

/** What must never appear in an answer. Inputs are generated without these, since messages may quote them. */
const LEAK = /stacktrace|\bat [\w.<>$]+ \(|node_modules|127\.0\.0\.1|localhost|ECONN|Mongo|E11000|\.ts:\d+|exception/;
const CODES = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'INVALID_STATE',
  'NOT_OPEN_YET',
  'DEADLINE_PASSED',
  'MISSING_DECISION',
  'SUBGRAPH_UNAVAILABLE',
  'SUBGRAPH_TIMEOUT',
  'SUBGRAPH_BAD_RESPONSE',
  'STORE_UNAVAILABLE',
  'LIMIT_EXCEEDED',
  'RATE_LIMITED',
  'INTERNAL_SERVER_ERROR',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'OPERATION_RESOLUTION_FAILURE',
]);

const safe = (s: string) => !LEAK.test(s);
const hostileString = fc
  .oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom(
      '$ne',
      '{"$gt":""}',
      '../../etc/passwd',
      '\u0000',
      "'; db.dropDatabase(); //",
      '.*',
      '(a+)+$',
      'K2ENG1510-2030',
      'ENG',
      't-anna',
      '971035854',
      '4601',
      '__proto__',
    ),
    fc.string({ minLength: 500, maxLength: 3000 }),
  )
  .filter(safe);
const dollarObject = fc.dictionary(
  fc.constantFrom('$ne', '$gt', '$where', '$regex', '$function', '__proto__', 'constructor', '$expr', '$in'),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 3 },
);
const deepValue = fc.integer({ min: 20, max: 400 }).map((depth) => {
  let v: unknown = 'x';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { $ne: v };
  return v;
});
const hostile = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: dollarObject },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).filter((v) => safe(JSON.stringify(v) ?? '')) },
  { weight: 1, arbitrary: deepValue },
);
/** A hostile value that is still often of the right type, so that many operations reach a resolver. */
const plausibleString = fc.oneof({ weight: 5, arbitrary: hostileString }, { weight: 1, arbitrary: hostile });
const choice = fc.record({ campus: plausibleString, fundingScheme: fc.oneof(fc.constantFrom('SUBSTITUTE', 'SCHOLARSHIP'), hostile) });

/** Operations with variables: each names who sends it. None of the mutations may succeed for that caller. */
const NOBODY: Identity = { role: 'teacher', org: 't-nobody' };
const operations = fc.oneof(
  fc.record({
    who: fc.constant<Identity>({ role: 'public' }),
    query: fc.constant('query($id: ID!) { study(id: $id) { id name places applicants vacantSeats approvedApplications rating { count average } } }'),
    variables: fc.record({ id: plausibleString }),
  }),
  fc.record({
    who: fc.constant<Identity>({ role: 'public' }),
    query: fc.constant('query($f: StudyFilter, $n: Int, $a: String) { studies(filter: $f, first: $n, after: $a) { totalCount edges { node { id name } } } }'),
    variables: fc.record({
      f: fc.oneof(
        { weight: 1, arbitrary: hostile },
        { weight: 2, arbitrary: fc.record({ search: plausibleString }) },
        { weight: 2, arbitrary: fc.record({ year: fc.oneof(fc.integer({ min: 1900, max: 2200 }), hostile), subject: plausibleString }) },
      ),
      n: fc.oneof(fc.integer({ min: -5, max: 120 }), hostile),
      a: plausibleString,
    }),
  }),
  fc.record({
    who: fc.constant<Identity>({ role: 'school-owner', org: '4601' }),
    query: fc.constant('query($id: ID!, $y: Int!) { schoolOwner(id: $id) { name plan(year: $y) { budgetNok } } }'),
    variables: fc.record({ id: plausibleString, y: fc.oneof(fc.integer(), hostile) }),
  }),
  fc.record({
    who: fc.constant(UDIR),
    query: fc.constant('query($id: ID!) { application(id: $id) { id status ownerDecision { outcome } funding { funded } } }'),
    variables: fc.record({ id: plausibleString }),
  }),
  fc.record({
    who: fc.constant<Identity>({ role: 'institution', org: '971035854' }),
    query: fc.constant('query($f: ApplicationFilter, $n: Int) { applications(filter: $f, first: $n) { totalCount } }'),
    variables: fc.record({
      f: fc.oneof({ weight: 1, arbitrary: hostile }, { weight: 3, arbitrary: fc.record({ study: plausibleString, schoolOwner: plausibleString }) }),
      n: fc.oneof(fc.integer({ min: 1, max: 100 }), hostile),
    }),
  }),
  fc.record({
    who: fc.constant<Identity>({ role: 'public' }),
    query: fc.constant('query($code: ID!, $y: Int!) { subject(code: $code) { name requirements { credits } } applicationRound(year: $y) { opens } }'),
    variables: fc.record({ code: plausibleString, y: fc.oneof(fc.integer(), hostile) }),
  }),
  fc.record({
    who: fc.constant(NOBODY),
    query: fc.constant('mutation($input: ApplicationInput!, $k: ID) { submitApplication(input: $input, idempotencyKey: $k) { id } }'),
    variables: fc.record({
      input: fc.oneof(
        { weight: 1, arbitrary: hostile },
        {
          weight: 3,
          arbitrary: fc.record({ study: plausibleString, firstChoice: fc.oneof({ weight: 3, arbitrary: choice }, { weight: 1, arbitrary: hostile }) }),
        },
      ),
      k: fc.oneof(fc.constant(null), plausibleString),
    }),
  }),
  fc.record({
    who: fc.constant<Identity>({ role: 'union', org: 'NLL' }),
    query: fc.constant('mutation($input: StatementInput!) { publishStatement(input: $input) { id } }'),
    variables: fc.record({
      input: fc.oneof(
        { weight: 1, arbitrary: hostile },
        {
          weight: 3,
          arbitrary: fc.record({
            topic: fc.oneof({ weight: 3, arbitrary: fc.constant('COST') }, { weight: 1, arbitrary: hostile }),
            title: plausibleString,
            body: plausibleString,
          }),
        },
      ),
    }),
  }),
  fc.record({
    who: fc.constant(NOBODY),
    query: fc.constant('mutation($input: FeedbackInput!) { giveFeedback(input: $input) { id } }'),
    variables: fc.record({
      input: fc.oneof(
        { weight: 1, arbitrary: hostile },
        {
          weight: 3,
          arbitrary: fc.record({
            study: plausibleString,
            rating: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: -2, max: 8 }) }, { weight: 1, arbitrary: hostile }),
            union: plausibleString,
          }),
        },
      ),
    }),
  }),
  fc.record({
    who: fc.constant<Identity>({ role: 'institution', org: '917641404' }),
    query: fc.constant('mutation($id: ID!, $o: AdmissionOutcome!) { decideAdmission(application: $id, outcome: $o) { id } }'),
    variables: fc.record({ id: plausibleString, o: fc.oneof(fc.constantFrom('ADMITTED', 'REJECTED'), hostile) }),
  }),
  fc.record({
    who: fc.constant<Identity>({ role: 'school-owner', org: '0301' }),
    query: fc.constant('mutation($id: ID!, $r: RefusalReason) { decideApplication(application: $id, outcome: REJECTED, reason: $r) { outcome } }'),
    variables: fc.record({ id: plausibleString, r: fc.oneof(fc.constant('COST'), hostile) }),
  }),
);

async function token(who: Identity): Promise<string | undefined> {
  if (who.role === 'public') return undefined;
  const key = `${who.role}|${who.org ?? ''}`;
  if (!tokens.has(key)) tokens.set(key, await y.h.token(who, {}, '1h'));
  return tokens.get(key);
}

/** The checks every answer must pass; counts answers that reached a resolver (executed: no error, data, or an error with a path). */
function check(status: number, text: string): void {
  sent++;
  expect(status, text.slice(0, 300)).toBeLessThan(500);
  expect(text, 'an internal detail leaked').not.toMatch(LEAK);
  let body: { data?: unknown; errors?: { path?: unknown; extensions?: { code?: string } }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`not JSON (${status}): ${text.slice(0, 200)}`);
  }
  for (const e of body.errors ?? []) expect(CODES.has(e.extensions?.code ?? ''), JSON.stringify(e)).toBe(true);
  const data = body.data as Record<string, unknown> | null | undefined;
  const executed = status === 200 && (!body.errors?.length || body.errors.some((e) => e.path) || (data && Object.values(data).some((v) => v !== null)));
  if (executed) reachedResolver++;
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  // Rate limits far above the run's pace: the fuzzer tests the operations, not the limiter.
  y = await startYear(clock, [['t-anna', '4601']], {
    rateLimits: { publicPerMinute: 1_000_000, partnerPerMinute: 1_000_000, publicCostPerMinute: 1_000_000_000 },
  });
  clock.set('2030-01-10T09:00:00Z');
  await y.ok(UDIR, ROUND);
  await y.ok(UDIR, publishStudy('K2ENG1510', 5));
  clock.set('2030-02-10T09:00:00Z');
  await y.ok(teacher('t-anna'), submitApplication('K2ENG1510-2030'));
}, 120_000);
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await y?.close();
});

describe('fuzzing', () => {
  it('2,000+ hostile operations: no 5xx, no leak, our codes only, no refused write changes anything, no unhandled rejection', async () => {
    const before = await y.snapshot();
    // Through the gateway: operations with hostile variables.
    await fc.assert(
      fc.asyncProperty(operations, async ({ who, query, variables }) => {
        const t = await token(who);
        const res = await fetch(y.h.gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(t ? { authorization: `Bearer ${t}` } : {}) },
          body: JSON.stringify({ query, variables }),
        });
        check(res.status, await res.text());
      }),
      { numRuns: 1300, seed: SEED },
    );
    // Straight at the subgraphs (with the gateway's credential): `_entities` garbage.
    const types: Record<string, string[]> = {
      catalogue: ['Study', 'Subject', 'Application', 'ApplicationRound'],
      admissions: ['Study', 'Application', 'Institution', 'Teacher'],
      plans: ['Study', 'Application', 'SchoolOwner', 'Teacher', 'County'],
      feedback: ['Study', 'Subject'],
    };
    const representation = fc.record(
      {
        __typename: fc.oneof(
          fc.constantFrom('Study', 'Application', 'Teacher', 'SchoolOwner', 'Subject', 'Institution', 'ApplicationRound', 'County'),
          hostileString,
        ),
        id: hostile,
        code: hostile,
        orgNumber: hostile,
        year: hostile,
        number: hostile,
        places: hostile,
      },
      { requiredKeys: ['__typename'] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('catalogue', 'admissions', 'plans', 'feedback'),
        fc.array(representation, { minLength: 1, maxLength: 5 }),
        async (name, r) => {
          const fragments = types[name]!.map((t) => `... on ${t} { __typename }`).join(' ');
          const res = await y.h.querySubgraph(name, `query($r: [_Any!]!) { _entities(representations: $r) { ${fragments} } }`, { r });
          check(res.status, JSON.stringify({ data: res.data, errors: res.errors }));
        },
      ),
      { numRuns: 600, seed: SEED },
    );
    // Raw bodies the gateway must turn away cleanly.
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }).filter(safe),
          fc
            .jsonValue({ maxDepth: 4 })
            .map((v) => JSON.stringify(v))
            .filter(safe),
        ),
        async (body) => {
          const res = await fetch(y.h.gateway.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'apollo-require-preflight': 'true' },
            body,
          });
          check(res.status, await res.text());
        },
      ),
      { numRuns: 200, seed: SEED },
    );
    console.log(`fuzz: ${sent} operations, ${reachedResolver} reached a resolver (seed ${SEED})`);
    expect(sent).toBeGreaterThanOrEqual(2000);
    expect(reachedResolver).toBeGreaterThanOrEqual(sent / 2);
    expect(await y.snapshot()).toBe(before);
    expect(unhandled).toEqual([]);
  }, 300_000);
});
