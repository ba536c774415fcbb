import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBGRAPHS, compose, readSdl } from '../tools/schema/compose.js';
import { DEFAULT_SUPERGRAPH } from '@partnerskap/gateway';
import { type Harness, startHarness } from './harness.js';

// The gateway watches a supergraph file: a new supergraph is validated, everything derived from
// it is rebuilt and swapped in at once under load; an invalid one is refused and the old one serves.
const POLL_MS = 50;
let h: Harness;
let dir = '';
let file = '';
const reloads: { applied: boolean; reason?: string; id?: string }[] = [];

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

const withStatementSummary = (sdl: string) => sdl.replace('type Statement {\n', 'type Statement {\n  "A one-line summary."\n  summary: String\n');
const STUDIES = '{ studies(first: 20) { totalCount edges { node { id name campus places } } } }';
const statementFields = async () =>
  ((await h.query<any>('{ __type(name: "Statement") { fields { name } } }')).data.__type.fields as { name: string }[]).map((f) => f.name);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'partnerskap-reload-'));
  file = join(dir, 'supergraph.graphql');
  writeFileSync(file, readFileSync(DEFAULT_SUPERGRAPH, 'utf8'));
  h = await startHarness({
    seedProjections: false,
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
    await new Promise((r) => setTimeout(r, 300));
    const outcome = await publish(composeWith({ feedback: withStatementSummary }));
    await new Promise((r) => setTimeout(r, 300));
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
