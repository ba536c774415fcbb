import { type Identity, type SettableClock } from '@partnerskap/kit';
import { expect } from 'vitest';
import { type GraphQLResponse, type Harness, startHarness } from './harness.js';

/** The partners of the year tests. */
export const BERGEN: Identity = { role: 'school-owner', org: '4601' };
export const OSLO: Identity = { role: 'school-owner', org: '0301' };
export const UIB: Identity = { role: 'institution', org: '971035854' };
export const HVL: Identity = { role: 'institution', org: '917641404' };
export const UDIR: Identity = { role: 'directorate' };
export const UDF: Identity = { role: 'union', org: 'UDF' };
export const teacher = (id: string): Identity => ({ role: 'teacher', org: id });

/** The round the year tests run on (2030, with the usual dates). */
export const ROUND = `mutation { openRound(input: { year: 2030, opens: "2030-02-01", teacherDeadline: "2030-03-01", ownerDeadline: "2030-03-15",
  allocationDeadline: "2030-04-30", admissionDeadline: "2030-05-31", confirmationDeadline: "2030-09-01" }) { year teacherDeadline } }`;

/** A publishStudy mutation of an English offer at UiB in 2030. */
export const publishStudy = (code: string, places: number, campus = 'Bergen', extra = '') =>
  `mutation { publishStudy(input: { code: "${code}", name: "Engelsk 1 for 5.-10. trinn", subject: "ENG", gradeBand: GRADES_5_10, credits: 30,
    level: BACHELOR, institution: "971035854", campus: "${campus}", delivery: MIXED, gatherings: 4, semesters: 2, year: 2030, places: ${places}${extra} }) { id status places } }`;

/** A teacher's application to a study, first choice the substitute scheme, second (unless `single`) the scholarship. */
export const submitApplication = (study: string, single = false) =>
  `mutation { submitApplication(input: { study: "${study}", firstChoice: { campus: "Bergen", fundingScheme: SUBSTITUTE }
    ${single ? '' : 'secondChoice: { campus: "Bergen", fundingScheme: SCHOLARSHIP }'} }) { id status } }`;

/** A year test's view of the running supergraph. */
export interface Year {
  h: Harness;
  as<T = any>(who: Identity, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  ok<T = any>(who: Identity, mutation: string): Promise<T>;
  /** A mutation that must be refused with `code` (and `field`), leaving all four databases exactly as they were; `down` stops that partner meanwhile. */
  refused(who: Identity, mutation: string, code: string, field?: string, down?: 'catalogue' | 'admissions' | 'plans' | 'feedback'): Promise<void>;
  /** Every document of every collection of the four databases, as one string. */
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

/** Starts the supergraph on empty databases with only reference data: two owners, teachers, two institutions, a subject, a union. */
export async function startYear(clock: SettableClock, teachers: [id: string, owner: '4601' | '0301'][]): Promise<Year> {
  const h = await startHarness({ seed: false, clock });
  await h.dbs.plans.collection('counties').insertMany([{ _id: '46', name: 'Vestland' }, { _id: '03', name: 'Oslo' }] as never[]);
  await h.dbs.plans.collection('owners').insertMany([
    { _id: '4601', name: 'Bergen', kind: 'MUNICIPALITY', county: '46', teacherFtes: 3000, teacherFtesSynthetic: false },
    { _id: '0301', name: 'Oslo', kind: 'MUNICIPALITY', county: '03', teacherFtes: 7000, teacherFtesSynthetic: false },
  ] as never[]);
  await h.dbs.plans.collection('teachers').insertMany(
    teachers.map(([id, owner]) => ({ _id: id, owner, county: owner.slice(0, 2) === '46' ? '46' : '03', school: 'Nordnes skole', teaches: [], credits: [] })) as never[],
  );
  await h.dbs.admissions.collection('institutions').insertMany([
    { _id: '971035854', name: 'Universitetet i Bergen', shortName: 'UiB', campuses: ['Bergen'] },
    { _id: '917641404', name: 'Høgskulen på Vestlandet', shortName: 'HVL', campuses: ['Bergen', 'Stord'] },
  ] as never[]);
  await h.dbs.catalogue.collection('subjects').insertOne({ _id: 'ENG', name: 'Engelsk', priorityYears: [2030] } as never);
  await h.dbs.feedback.collection('unions').insertOne({ _id: 'UDF', name: 'Utdanningsforbundet' } as never);

  const as = async <T = any>(who: Identity, query: string, variables: Record<string, unknown> = {}) => h.query<T>(query, variables, { token: await h.token(who) });
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
      expect(res.errors?.map((e) => e.extensions?.code), JSON.stringify(res.errors)).toEqual([code]);
      if (field) expect(res.errors?.[0]?.extensions?.field, JSON.stringify(res.errors)).toBe(field);
      expect(await snapshot()).toBe(before);
    },
    close: () => h.close(),
  };
}
