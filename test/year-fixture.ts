import { type Identity, type SettableClock } from '@partnerskap/kit';
import { type FieldNode, Kind, parse } from 'graphql';
import { expect } from 'vitest';
import { seedYearReference } from '../demo/year-reference.js';
import { type GraphQLResponse, type Harness, startHarness } from './harness.js';

/** The partners of the year tests. */
export const BERGEN: Identity = { role: 'school-owner', org: '4601' };
export const OSLO: Identity = { role: 'school-owner', org: '0301' };
export const UIB: Identity = { role: 'institution', org: '971035854' };
export const HVL: Identity = { role: 'institution', org: '917641404' };
export const UDIR: Identity = { role: 'directorate' };
export const UDF: Identity = { role: 'union', org: 'UDF' };
export const teacher = (id: string): Identity => ({ role: 'teacher', org: id });

export { ROUND, publishStudy, submitApplication } from '../demo/year-reference.js';

/** The response name of an operation's first root field: the path of an error its resolver raised. */
function rootField(operation: string): string {
  const op = parse(operation).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!;
  const field = op.selectionSet.selections[0] as FieldNode;
  return (field.alias ?? field.name).value;
}

/** A year test's view of the running supergraph. */
export interface Year {
  h: Harness;
  as<T = any>(who: Identity, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  ok<T = any>(who: Identity, mutation: string): Promise<T>;
  /**
   * A mutation that must be refused with `code` (and `field`, at the mutation's path), leaving all four databases exactly as they
   * were; `down` stops that partner meanwhile.
   */
  refused(who: Identity, mutation: string, code: string, field?: string, down?: 'catalogue' | 'admissions' | 'plans' | 'feedback'): Promise<void>;
  /** Every document of every collection of the four databases, as one string. */
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

/** Starts the supergraph on empty databases with only reference data: two owners, teachers, two institutions, a subject, a union. */
export async function startYear(
  clock: SettableClock,
  teachers: [id: string, owner: '4601' | '0301'][],
  gateway: Parameters<typeof startHarness>[0] extends infer O ? (O extends { gateway?: infer G } ? G : never) : never = {},
): Promise<Year> {
  const h = await startHarness({ seed: false, clock, gateway });
  await seedYearReference(h.dbs, teachers);

  const as = async <T = any>(who: Identity, query: string, variables: Record<string, unknown> = {}) =>
    h.query<T>(query, variables, { token: await h.token(who) });
  const snapshot = async () => {
    const parts: string[] = [];
    for (const [name, db] of Object.entries(h.dbs)) {
      for (const c of (await db.listCollections().toArray()).map((x) => x.name).sort()) {
        parts.push(`${name}.${c}:${JSON.stringify(await db.collection(c).find().sort({ _id: 1 }).toArray())}`);
      }
    }
    return parts.join('\n');
  };
  return {
    h,
    as,
    snapshot,
    ok: async (who, mutation) => {
      const res = await as(who, mutation);
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      return res.data;
    },
    refused: async (who, mutation, code, field, down) => {
      const before = await snapshot();
      if (down) await h.stopSubgraph(down);
      let res: GraphQLResponse;
      try {
        res = await as(who, mutation);
      } finally {
        if (down) await h.restartSubgraph(down);
      }
      expect(
        res.errors?.map((e) => e.extensions?.code),
        JSON.stringify(res.errors),
      ).toEqual([code]);
      // A refusal naming an argument is the mutation's own: it names its root field too (the gateway's guards name neither).
      if (field) expect([res.errors?.[0]?.extensions?.field, res.errors?.[0]?.path], JSON.stringify(res.errors)).toEqual([field, [rootField(mutation)]]);
      expect(await snapshot()).toBe(before);
    },
    close: () => h.close(),
  };
}
