import { readFileSync } from 'node:fs';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import possibleTypes from '../client/possible-types.json' with { type: 'json' };
import { typePolicies } from '../client/type-policies.js';
import { type Harness, startHarness } from './harness.js';

// The client kit (client/) as a partner's frontend uses it: Apollo Client 4 with the generated
// possible types and type policies, over the registered operations. Pages merge into one list in
// the cache, and what a mutation returns updates the objects a query showed.
let h: Harness;
let bergen: string;

beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
  bergen = await h.token({ role: 'school-owner', org: '4601' });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const OWNER_OVERVIEW = gql(readFileSync(new URL('../operations/owner-overview.graphql', import.meta.url), 'utf8'));

function client(token: string) {
  const cache = new InMemoryCache({ possibleTypes, typePolicies });
  return { cache, client: new ApolloClient({ link: new HttpLink({ uri: h.gateway.url, headers: { authorization: `Bearer ${token}` } }), cache }) };
}

type Overview = {
  schoolOwner: {
    id: string;
    plan: { id: string; budgetNok: number } | null;
    teachers: { totalCount: number; edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
  };
};

describe('Apollo Client 4 with the client kit', () => {
  it("merges owner-overview's pages of teachers into one list, each teacher once, in order", async () => {
    const { client: c, cache } = client(bergen);
    const year = 2024;
    const first = await c.query<Overview>({ query: OWNER_OVERVIEW, variables: { owner: '4601', year, first: 50 } });
    const cursor = first.data!.schoolOwner.teachers.pageInfo.endCursor;
    await c.query<Overview>({ query: OWNER_OVERVIEW, variables: { owner: '4601', year, first: 50, after: cursor }, fetchPolicy: 'network-only' });
    const merged = cache.readQuery<Overview>({ query: OWNER_OVERVIEW, variables: { owner: '4601', year, first: 50 } })!;
    const ids = (await h.dbs.plans.collection<{ _id: string }>('teachers').find({ owner: '4601' }).sort({ _id: 1 }).limit(100).toArray()).map((t) => t._id);
    expect(merged.schoolOwner.teachers.edges.map((e) => e.node.id)).toEqual(ids);
    expect(merged.schoolOwner.teachers.totalCount).toBeGreaterThan(1000);
    // Normalised by the generated keyFields.
    const stored = cache.extract() as Record<string, unknown>;
    expect(stored['SchoolOwner:{"id":"4601"}']).toBeDefined();
    expect(stored[`Teacher:{"id":"${ids[0]}"}`]).toBeDefined();
    expect(stored['County:{"number":"46"}']).toBeDefined();
  });

  it('updates the plan a query showed when saveCompetencePlan returns it (CompetencePlan has an identity)', async () => {
    const { client: c, cache } = client(bergen);
    const year = 2024;
    const before = await c.query<Overview>({ query: OWNER_OVERVIEW, variables: { owner: '4601', year, first: 5 } });
    const plan = before.data!.schoolOwner.plan;
    expect(plan?.id).toBe(`4601-${year}`);
    const budgetNok = plan!.budgetNok + 1000;
    await c.mutate({
      mutation: gql`
        mutation Save($year: Int!, $input: CompetencePlanInput!) {
          saveCompetencePlan(year: $year, input: $input) {
            id
            budgetNok
          }
        }
      `,
      variables: { year, input: { budgetNok, priorities: [{ subject: 'ENG', gradeBand: 'GRADES_5_10', targetTeachers: 3 }] } },
    });
    const after = cache.readQuery<Overview>({ query: OWNER_OVERVIEW, variables: { owner: '4601', year, first: 5 } })!;
    expect(after.schoolOwner.plan).toEqual(expect.objectContaining({ id: `4601-${year}`, budgetNok }));
  });
});
