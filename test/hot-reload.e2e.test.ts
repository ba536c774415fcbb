import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBGRAPHS, compose, readSdl } from '../tools/schema/compose.js';
import { DEFAULT_SUPERGRAPH, callerBucket, readSupergraph } from '@partnerskap/gateway';
import { catalogue } from '@partnerskap/catalogue';
import { createProjections } from '@partnerskap/kit';
import { type Harness, startHarness } from './harness.js';
import { type SubgraphProxy, startProxy } from './proxy.js';

// The gateway watches a supergraph file: a new supergraph is validated, everything derived from
// it is rebuilt and swapped in at once under load; an invalid one is refused and the old one serves.
const POLL_MS = 50;
let h: Harness;
let dir = '';
let file = '';
const reloads: { applied: boolean; reason?: string; id?: string }[] = [];
/** In front of admissions: which requests it was asked for credits (the progressive @override below). */
let admissions: SubgraphProxy;

/** Composes the committed subgraphs with some of their SDL edited; fails the test on a composition error. */
function composeWith(edits: Record<string, (sdl: string) => string>): string {
  const { supergraphSdl, errors } = compose((name) => (edits[name] ?? ((s: string) => s))(readSdl(name)));
  expect(errors).toEqual([]);
  return supergraphSdl!;
}

/** Writes a new supergraph and waits until the gateway has judged it (applied or refused). */
async function publish(sdl: string): Promise<(typeof reloads)[number]> {
  const before = reloads.length;
  // As npm run compose does: a new file renamed over the old one, so no look sees half a file.
  writeFileSync(`${file}.tmp`, sdl);
  renameSync(`${file}.tmp`, file);
  const deadline = Date.now() + 10_000;
  while (reloads.length === before) {
    if (Date.now() > deadline) throw new Error('the gateway did not pick up the new supergraph within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  return reloads[reloads.length - 1]!;
}

/** The committed subgraphs and one more, `events`, composed without a URL. */
function eventsSupergraph(): string {
  const events = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
type Query {
  "Events."
  events: [Event!]
}
"An event."
type Event @key(fields: "id") {
  "The id."
  id: ID!
}
`;
  const { supergraphSdl, errors } = compose((name) => (name === 'events' ? events : readSdl(name)), [...SUBGRAPHS, { name: 'events', url: '' }]);
  expect(errors).toEqual([]);
  return supergraphSdl!;
}

const withStatementSummary = (sdl: string) => sdl.replace(/^(type Statement\b.*\{\n)/m, '$1  "A one-line summary."\n  summary: String\n');
const STUDIES = '{ studies(first: 20) { totalCount edges { node { id name campus places } } } }';
const statementFields = async () =>
  ((await h.query<any>('{ __type(name: "Statement") { fields { name } } }')).data.__type.fields as { name: string }[]).map((f) => f.name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'partnerskap-reload-'));
  file = join(dir, 'supergraph.graphql');
  writeFileSync(file, readFileSync(DEFAULT_SUPERGRAPH, 'utf8'));
  admissions = await startProxy();
  h = await startHarness({
    seedProjections: false,
    subgraphUrl: (name, url) => {
      if (name !== 'admissions') return url;
      admissions.target = url;
      return admissions.url;
    },
    gateway: {
      supergraphPath: file,
      supergraphPollMs: POLL_MS,
      // the load below is far over the public rate limit, which is not what this file tests
      rateLimits: { partnerPerMinute: 1_000_000, publicPerMinute: 1_000_000 },
      onSupergraphReload: (outcome) =>
        reloads.push(outcome.applied ? { applied: true, id: outcome.supergraph.id } : { applied: false, reason: outcome.reason }),
    },
  });
}, 120_000);
afterAll(async () => {
  await h?.close();
  await admissions?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('hot reload of the supergraph', () => {
  it('swaps an additive change in under load without a failed request, and the new field is served', async () => {
    expect(await statementFields()).not.toContain('summary');
    let stop = false;
    const failures: unknown[] = [];
    let answered = 0;
    // Eight clients query without pause while the file changes under them.
    const clients = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const res = await h.query<any>(STUDIES);
        if (res.status !== 200 || res.errors || res.data?.studies?.edges?.length !== 20) failures.push(res);
        answered++;
      }
    });
    // Load before, during and after the swap: a count of answers, not a time (a loaded machine answers fewer in 300 ms).
    const atLeast = async (count: number) => {
      for (const started = Date.now(); answered < count && Date.now() - started < 20_000;) await new Promise((r) => setTimeout(r, 20));
    };
    await new Promise((r) => setTimeout(r, 300));
    await atLeast(8);
    const outcome = await publish(composeWith({ feedback: withStatementSummary }));
    const published = answered;
    await new Promise((r) => setTimeout(r, 300));
    await atLeast(published + 16);
    stop = true;
    await Promise.all(clients);
    expect(outcome).toMatchObject({ applied: true });
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(20);
    expect(await statementFields()).toContain('summary');
    expect(h.log.some((e) => e.msg === 'supergraph updated' && e.supergraph === outcome.id)).toBe(true);
  });

  it('rebuilds the guards: a field newly guarded with @requiresScopes is refused before any subgraph call', async () => {
    const before = await h.query<any>(STUDIES);
    expect(before.errors).toBeUndefined();
    const outcome = await publish(
      composeWith({
        feedback: withStatementSummary,
        catalogue: (sdl) =>
          sdl.replace(/("The campus \(study place\) where the offer is run."\n {2}campus: String)/, '$1 @requiresScopes(scopes: [["role:directorate"]])'),
      }),
    );
    expect(outcome.applied).toBe(true);
    h.takeCommands();
    const after = await h.query<any>(STUDIES);
    expect(after.status).toBe(401);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(h.takeCommands()).toEqual([]);
    const udir = await h.token({ role: 'directorate' });
    expect((await h.query<any>(STUDIES, {}, { token: udir })).errors).toBeUndefined();
  });

  it('rebuilds the costs: a heavier @cost applies to the next request', async () => {
    const rated = '{ studies(first: 50) { edges { node { id rating { average count } } } } }';
    expect((await h.query<any>(rated)).errors).toBeUndefined();
    const outcome = await publish(
      composeWith({
        feedback: (sdl) => withStatementSummary(sdl).replace('rating: RatingSummary @cost(weight: 5)', 'rating: RatingSummary @cost(weight: 500)'),
      }),
    );
    expect(outcome.applied).toBe(true);
    const refused = await h.query<any>(rated);
    expect(refused.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    expect(refused.errors?.[0]?.extensions?.limit).toBe('cost');
  });

  it('refuses an invalid supergraph, logs why, and keeps serving the one it had', async () => {
    const servedFields = await statementFields();
    for (const [bad, why] of [
      // half a file (a copy cut short)
      [readFileSync(DEFAULT_SUPERGRAPH, 'utf8').slice(0, 3000), /Syntax Error|Unknown type/],
      ['type Query { hello: String }', /not a supergraph/],
      // a valid supergraph with a fifth subgraph the gateway has no URL for
      [eventsSupergraph(), /no URL for subgraph events/],
    ] as const) {
      const outcome = await publish(bad);
      expect(outcome.applied).toBe(false);
      expect(outcome.reason).toMatch(why);
      const res = await h.query<any>('{ subjects { code name } }');
      expect(res.status).toBe(200);
      expect(res.errors).toBeUndefined();
      expect(await statementFields()).toEqual(servedFields);
    }
    expect(h.log.filter((e) => e.msg === 'new supergraph refused; still serving the current one')).toHaveLength(3);
    // and a valid one afterwards is applied again
    const back = await publish(readFileSync(DEFAULT_SUPERGRAPH, 'utf8'));
    expect(back.applied).toBe(true);
    expect(await statementFields()).not.toContain('summary');
  });
});

// Progressive @override (gateway/src/override.ts): Study.credits moves from the catalogue to admissions,
// which answers it from its projection of the catalogue's offers. Each stage is a new supergraph
// (the committed admissions SDL with its label raised), hot-reloaded; each request is attributed to
// a side by whether admissions was asked for credits with the request's id.
describe('progressive @override: Study.credits moving from the catalogue to admissions', () => {
  const CREDITS = 'query Credits($id: ID!) { study(id: $id) { id name credits } }';
  // Deterministic callers: their share is known from the hash, so the counts below cannot flake.
  const teachers = Array.from({ length: 120 }, (_, i) => `t-${String(i).padStart(4, '0')}`);
  const tokens = new Map<string, string>();
  let ids: string[] = [];
  /** The catalogue-only answer of each study, as the committed supergraph (percent(0)) plans it. */
  const expected = new Map<string, unknown>();
  const movedAt = (percent: number) => new Set(teachers.filter((t) => callerBucket(['Study.credits'], `teacher:${t}`) < percent));
  const atLabel = (label: string) => composeWith({ admissions: (sdl) => sdl.replace('label: "percent(0)"', `label: "${label}"`) });

  /** Every teacher's request (eight at a time): the teachers admissions was asked credits for, and every answer checked against the catalogue's. */
  async function ask(who: readonly string[]): Promise<Set<string>> {
    admissions.reset();
    const byRequest = new Map<string, string>();
    for (let i = 0; i < who.length; i += 8) {
      await Promise.all(
        who.slice(i, i + 8).map(async (teacher, j) => {
          const id = ids[(i + j) % ids.length]!;
          const res = await h.query<any>(CREDITS, { id }, { token: tokens.get(teacher)! });
          expect(res.errors).toBeUndefined();
          expect(res.data).toEqual({ study: expected.get(id) });
          byRequest.set(res.headers['x-request-id']!, teacher);
        }),
      );
    }
    return new Set(admissions.requestIds.filter((_, k) => admissions.bodies[k]!.includes('credits')).map((r) => byRequest.get(r)!));
  }

  beforeAll(async () => {
    // Admissions keeps the catalogue's offers from its events (the seed builds them; this file seeds none).
    const offers = await catalogue.snapshots!.study!(h.dbs.catalogue);
    await createProjections(h.dbs.admissions).replace(
      'study',
      'catalogue',
      offers.map((o) => ({ ref: o.subject, key: o.subject, data: o.data })),
    );
    for (const t of teachers) tokens.set(t, await h.token({ role: 'teacher', org: t }));
    const page = await h.query<any>('{ studies(first: 25) { edges { node { id name credits } } } }');
    for (const { node } of page.data.studies.edges) expected.set(node.id, node);
    ids = [...expected.keys()];
    expect(ids).toHaveLength(25);
  });

  it('stages the move at percent(0): the committed supergraph plans every request to the catalogue, as Apollo does', async () => {
    expect(readSupergraph(readFileSync(DEFAULT_SUPERGRAPH, 'utf8')).overrideLabels).toEqual(new Map([['percent(0)', ['Study.credits']]]));
    expect(await ask(teachers.slice(0, 24))).toEqual(new Set());
    // The catalogue's own answer is the one expected.
    const direct = await h.querySubgraph<any>('catalogue', CREDITS, { id: ids[0] });
    expect(direct.data).toEqual({ study: expected.get(ids[0]!) });
    // Admissions answers credits by reference from what it keeps, in key order, null for an offer it does not know.
    const entities = await h.querySubgraph<any>('admissions', 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Study { id credits } } }', {
      r: [ids[1], 'NONE-2024', ids[0]].map((id) => ({ __typename: 'Study', id })),
    });
    const credits = (id: string) => (expected.get(id) as { credits: number }).credits;
    expect(entities.data).toEqual({
      _entities: [
        { id: ids[1], credits: credits(ids[1]!) },
        { id: 'NONE-2024', credits: null },
        { id: ids[0], credits: credits(ids[0]!) },
      ],
    });
  });

  it('plans 10 %, then 50 % of the callers to admissions, each caller always the same way, with the same answers', async () => {
    expect((await publish(atLabel('percent(10)'))).applied).toBe(true);
    const ten = await ask(teachers);
    expect(ten).toEqual(movedAt(10));
    expect(ten.size).toBeGreaterThanOrEqual(6);
    expect(ten.size).toBeLessThanOrEqual(18);
    const decided = (await h.gateway.metrics!.registry.getSingleMetric('partnerskap_override_requests_total')!.get()).values;
    expect(decided.find((v) => v.labels.label === 'percent(10)' && v.labels.on === 'true')?.value).toBeGreaterThanOrEqual(ten.size);

    expect((await publish(atLabel('percent(50)'))).applied).toBe(true);
    const fifty = await ask(teachers);
    expect(fifty).toEqual(movedAt(50));
    expect(fifty.size).toBeGreaterThanOrEqual(45);
    expect(fifty.size).toBeLessThanOrEqual(75);
    // Stable per caller, and raising the percentage keeps everyone already moved.
    const again = teachers.slice(0, 40);
    expect(await ask(again)).toEqual(new Set(again.filter((t) => fifty.has(t))));
    expect([...ten].every((t) => fifty.has(t))).toBe(true);
    // The public is drawn per request: whichever side, the same answers.
    for (const id of ids.slice(0, 10)) expect((await h.query<any>(CREDITS, { id })).data).toEqual({ study: expected.get(id) });
  });

  it('plans every caller to admissions at percent(100), and none once the label is gone from the supergraph', async () => {
    expect((await publish(atLabel('percent(100)'))).applied).toBe(true);
    expect(await ask(teachers.slice(0, 24))).toEqual(new Set(teachers.slice(0, 24)));
    // onError: NULL is planned apart (error-behaviour.ts), with the same labels.
    admissions.reset();
    const res = await fetch(h.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(teachers[0]!)!}` },
      body: JSON.stringify({ query: CREDITS, variables: { id: ids[0] }, onError: 'NULL' }),
    });
    expect(await res.json()).toEqual({ data: { study: expected.get(ids[0]!) } });
    expect(admissions.bodies.filter((b) => b.includes('credits'))).toHaveLength(1);
    // Before the move (admissions without the field): a supergraph without labels, Apollo's own executor.
    const before = composeWith({ admissions: (sdl) => sdl.replace(/\n {2}"Credits \(studiepoeng\)[^\n]*\n {2}credits: Int @override[^\n]*/, '') });
    expect(readSupergraph(before).overrideLabels.size).toBe(0);
    expect((await publish(before)).applied).toBe(true);
    expect(await ask(teachers.slice(0, 24))).toEqual(new Set());
  });
});
