/**
 * The catalogue's figures under any sequence of its writes (issue 19), against the embedded store
 * (or MONGODB_URI): a seeded pseudo-random sequence of the store's own write functions (publish,
 * update, cancel, allocate and re-allocate, re-key an erased teacher, a refused duplicate) leaves
 * the cells equal to a recount, and the reads the resolvers use equal the `$group`s and
 * `countDocuments` they replaced (kept here as the oracle).
 */
import { type Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { type Idempotency, type Identity, FIGURES_COLLECTION, auditEntry, eqFilter } from '@partnerskap/kit';
import { figures } from '@partnerskap/catalogue/figures';
import {
  type AllocationDoc,
  type AllocationGroup,
  type CatalogueStore,
  type OfferGroup,
  type Study,
  type StudyDoc,
  type StudyQuery,
  createCatalogueStore,
} from '@partnerskap/catalogue/store';
import { seededRandom, useStoreClient } from './store-client.js';

const { fresh } = useStoreClient('catalogue_figures');

const UDIR: Identity = { role: 'directorate' };
const YEARS = [2030, 2031];
const SUBJECTS = ['MAT', 'ENG', 'NAT'];
const BANDS = ['GRADES_1_7', 'GRADES_5_10', 'GRADES_8_13'];
const COUNTIES = ['03', '46', '50'];
const line = (action: string, target: string) => auditEntry(UDIR, new Date(), action, target, 'udir');
const noKey: Idempotency<Study> = { key: null, scope: 'test', request: {}, replay: () => Promise.reject(new Error('no replay without a key')) };

/** The studies grouped as the insights' offers were before their cells: the oracle. */
async function offerGroupsByAggregation(db: Db, years: number[]): Promise<OfferGroup[]> {
  const rows = await db
    .collection<StudyDoc>('studies')
    .aggregate<{ _id: Omit<OfferGroup, 'offers' | 'places'>; offers: number; places: number }>([
      { $match: { year: { $in: years } } },
      { $group: { _id: { year: '$year', subject: '$subject', gradeBand: '$gradeBand', status: '$status' }, offers: { $sum: 1 }, places: { $sum: '$places' } } },
    ])
    .toArray();
  return rows.map((r) => ({ ...r._id, offers: r.offers, places: r.places }));
}

/** The allocations grouped as the insights' funding was before its cells: the oracle. */
async function allocationGroupsByAggregation(db: Db, years: number[]): Promise<AllocationGroup[]> {
  const rows = await db
    .collection<AllocationDoc>('allocations')
    .aggregate<{ _id: Omit<AllocationGroup, 'n' | 'scheme'> & { scheme?: string | null }; n: number }>([
      { $match: { year: { $in: years } } },
      {
        $group: {
          _id: { year: '$year', subject: '$subject', gradeBand: '$gradeBand', county: '$county', funded: '$funded', scheme: '$scheme' },
          n: { $sum: 1 },
        },
      },
    ])
    .toArray();
  return rows.map((r) => ({ ...r._id, scheme: r._id.scheme ?? null, n: r.n }));
}

/** Groups in one order, whatever order the store gave them in. */
const sorted = <G>(groups: G[]) => groups.map((g) => JSON.stringify(Object.entries(g as object).sort(([a], [b]) => (a < b ? -1 : 1)))).sort();

/** Every filter of the year, subject, grade band and status the studies' `totalCount` takes from cells (unknown values too). */
function cellFilters(): StudyQuery[] {
  const queries: StudyQuery[] = [];
  for (const year of [undefined, ...YEARS, 2032]) {
    for (const subject of [undefined, ...SUBJECTS, 'KRO']) {
      for (const gradeBand of [undefined, ...BANDS]) {
        for (const status of [undefined, 'OFFERED', 'CANCELLED']) queries.push({ year, subject, gradeBand, status });
      }
    }
  }
  return queries;
}

/** The reads the resolvers use equal a recount done the old way. */
async function expectReadsEqualRecount(db: Db, catalogue: CatalogueStore): Promise<void> {
  const years = [...YEARS, 2032];
  for (const some of [years, ...years.map((y) => [y])]) {
    const groups = await catalogue.yearGroups(some);
    expect(sorted(groups.offers)).toEqual(sorted(await offerGroupsByAggregation(db, some)));
    expect(sorted(groups.allocations)).toEqual(sorted(await allocationGroupsByAggregation(db, some)));
  }
  const studies = db.collection<StudyDoc>('studies');
  const queries = cellFilters();
  const counts = await Promise.all(queries.map((q) => catalogue.countStudies(q)));
  const recounts = await Promise.all(
    queries.map((q) => studies.countDocuments(eqFilter({ year: q.year, subject: q.subject, gradeBand: q.gradeBand, status: q.status }))),
  );
  expect(counts).toEqual(recounts);
}

describe("the catalogue's figures", () => {
  it('any sequence of its writes leaves them equal to a recount, and its reads equal the aggregations they replaced', async () => {
    const db = fresh();
    const catalogue = createCatalogueStore(db);
    await catalogue.ensureIndexes();
    const rnd = seededRandom(20_190_019);
    const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)]!;
    const codes = Array.from({ length: 25 }, (_, i) => `K2TST${String(i).padStart(2, '0')}`);
    const studies = new Map<string, StudyDoc>();
    const teachers = Array.from({ length: 6 }, (_, i) => `t${i}`);
    const did = { published: 0, refused: 0, updated: 0, cancelled: 0, allocated: 0, reallocated: 0, rekeyed: 0, emptied: 0 };
    let cells = new Set<string>();

    for (let step = 0; step < 400; step++) {
      const op = rnd(10);
      if (op < 3 || studies.size === 0) {
        const code = pick(codes);
        const year = pick(YEARS);
        const doc: StudyDoc = {
          _id: `${code}-${year}`,
          code,
          name: `Studie ${code}`,
          subject: pick(SUBJECTS),
          gradeBand: pick(BANDS),
          credits: pick([15, 30, 60]),
          level: 'BACHELOR',
          institution: pick(['971035854', '974767880']),
          campus: 'Oslo',
          delivery: pick(['GATHERINGS', 'ONLINE']),
          gatherings: null,
          semesters: 2,
          startTerm: `${year} autumn`,
          year,
          places: 5 * (1 + rnd(12)),
          status: 'OFFERED',
        };
        if (studies.has(doc._id)) {
          // The code is taken in that year: CONFLICT, and the aborted transaction moves no cell.
          await expect(catalogue.insertStudy(doc, line('publishStudy', doc._id), noKey)).rejects.toMatchObject({ extensions: { code: 'CONFLICT' } });
          did.refused++;
        } else {
          await catalogue.insertStudy(doc, line('publishStudy', doc._id), noKey);
          studies.set(doc._id, doc);
          did.published++;
        }
      } else if (op < 5) {
        // updateStudy as the mutations call it: a cancelled offer no longer changes.
        const open = [...studies.values()].filter((s) => s.status !== 'CANCELLED');
        if (open.length === 0) continue;
        const study = pick(open);
        const set: Partial<StudyDoc> =
          rnd(2) === 0 ? { places: 5 * (1 + rnd(12)) } : { name: `Studie ${study.code} (${step})`, delivery: pick(['GATHERINGS', 'MIXED']) };
        const after = await catalogue.updateStudy(study._id, set, line('updateStudy', study._id));
        studies.set(study._id, { ...study, ...set });
        expect(after).toMatchObject({ id: study._id, ...set });
        did.updated++;
      } else if (op < 6) {
        const study = pick([...studies.values()]);
        if (study.status === 'CANCELLED') continue;
        await catalogue.updateStudy(study._id, { status: 'CANCELLED' }, line('cancelStudy', study._id));
        studies.set(study._id, { ...study, status: 'CANCELLED' });
        did.cancelled++;
      } else if (op < 9) {
        // allocateFunding: a decision on one of few applications, taking the study's subject and grade band; a second one replaces the first.
        const application = `app${rnd(14)}`;
        const study = pick([...studies.values()]);
        const funded = rnd(3) > 0;
        const existing = await db.collection<AllocationDoc>('allocations').findOne({ _id: application });
        await catalogue.saveAllocation(
          {
            _id: application,
            year: study.year,
            study: study._id,
            teacher: existing?.teacher ?? pick(teachers),
            institution: study.institution,
            subject: study.subject,
            gradeBand: study.gradeBand,
            county: existing && rnd(4) > 0 ? existing.county : pick(COUNTIES),
            owner: '0301',
            funded,
            scheme: funded ? pick(['SUBSTITUTE', 'SCHOLARSHIP', null]) : null,
            decidedAt: new Date(),
          },
          line('allocateFunding', application),
        );
        if (existing) did.reallocated++;
        else did.allocated++;
      } else {
        // eraseTeacherAllocations: the teacher's allocations move to a pseudonym (no figure moves).
        const teacher = pick(teachers);
        const pseudonym = `erased-${step}`;
        const n = await catalogue.rekeyTeacher(teacher, pseudonym);
        teachers[teachers.indexOf(teacher)] = pseudonym;
        if (n > 0) did.rekeyed++;
      }
      // A cell the step left empty is gone (a cancellation or a re-decision moves the last document out of its cell).
      const now = new Set(
        (
          await db
            .collection<{ _id: string }>(FIGURES_COLLECTION)
            .find({}, { projection: { _id: 1 } })
            .toArray()
        ).map((c) => c._id),
      );
      if ([...cells].some((id) => !now.has(id))) did.emptied++;
      cells = now;
      if (step % 100 === 99) await expectReadsEqualRecount(db, catalogue);
    }

    for (const counted of figures(db)) expect(await counted.check()).toEqual([]);
    await expectReadsEqualRecount(db, catalogue);
    // The sequence took every path, and emptied cells (where a stale zero would be left behind) more than once.
    for (const [path, n] of Object.entries(did)) expect([path, n > 3]).toEqual([path, true]);
    const groups = await catalogue.yearGroups(YEARS);
    expect([groups.offers.length > 5, groups.allocations.length > 5]).toEqual([true, true]);
    await catalogue.outbox.close();
  }, 120_000);

  it('counts a filter by institution, delivery or text from the documents, as before', async () => {
    const db = fresh();
    const catalogue = createCatalogueStore(db);
    await catalogue.ensureIndexes();
    const study = (code: string, over: Partial<StudyDoc>): StudyDoc => ({
      _id: `${code}-2030`,
      code,
      name: `Matematikk ${code}`,
      subject: 'MAT',
      gradeBand: 'GRADES_1_7',
      credits: 30,
      level: 'BACHELOR',
      institution: '971035854',
      campus: 'Oslo',
      delivery: 'ONLINE',
      gatherings: null,
      semesters: 2,
      startTerm: '2030 autumn',
      year: 2030,
      places: 30,
      status: 'OFFERED',
      ...over,
    });
    for (const doc of [study('K2A1', {}), study('K2A2', { institution: '974767880' }), study('K2A3', { delivery: 'GATHERINGS', name: 'Engelsk' })]) {
      await catalogue.insertStudy(doc, line('publishStudy', doc._id), noKey);
    }
    expect(
      await Promise.all([
        catalogue.countStudies({ year: 2030 }),
        catalogue.countStudies({ year: 2030, institution: '971035854' }),
        catalogue.countStudies({ delivery: 'ONLINE' }),
        catalogue.countStudies({ subject: 'MAT', search: /matem/i }),
      ]),
    ).toEqual([3, 2, 2, 2]);
    for (const counted of figures(db)) expect(await counted.check()).toEqual([]);
    await catalogue.outbox.close();
  });
});
