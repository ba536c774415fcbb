/**
 * The plans figures under any sequence of its writes (issue 19), against the embedded store (or
 * MONGODB_URI): a seeded pseudo-random sequence of the store's own write functions (decide and
 * decide again, rank, choose a funding scheme, confirm participation, erase a teacher) and of the
 * seed's teacher inserts leaves the cells equal to a recount, and the reads the loaders use equal
 * the `$group`s and the `countDocuments` they replaced (kept here as the oracle).
 */
import { type Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { type Identity, FIGURES_COLLECTION, auditEntry, inTransaction } from '@partnerskap/kit';
import { createPlansCounted, figures } from '@partnerskap/plans/figures';
import { type OwnerCell, type TeacherCell, type TopicCell } from '@partnerskap/plans/insights';
import { type DecisionDoc, type PlansStore, type TeacherDoc, createPlansStore } from '@partnerskap/plans/store';
import { seededRandom, useStoreClient } from './store-client.js';

const { fresh } = useStoreClient('plans_figures');

const YEARS = [2030, 2031];
/** Owners and their counties. */
const OWNERS: [string, string][] = [
  ['4601', '46'],
  ['4602', '46'],
  ['0301', '03'],
];
/** Studies and their subject and grade band. */
const STUDIES: [string, string, string][] = [
  ['S-ENG-1', 'ENG', 'GRADES_5_10'],
  ['S-ENG-2', 'ENG', 'GRADES_8_13'],
  ['S-MAT-1', 'MAT', 'GRADES_1_7'],
  ['S-NOR-1', 'NOR', 'GRADES_1_7'],
];
const INSTITUTIONS = ['971035854', '917641404'];
const REASONS = ['COST', 'PRIORITIES', 'INCOMPLETE_APPLICATION', 'OTHER'];
const SCHEMES = ['SUBSTITUTE', 'SCHOLARSHIP'];
const SUBJECTS = ['ENG', 'MAT', 'NOR'];

/** The old `DECISION_SUMS`, for the oracle. */
const DECISION_SUMS = {
  approved: { $sum: { $cond: [{ $eq: ['$outcome', 'APPROVED'] }, 1, 0] } },
  refused: { $sum: { $cond: [{ $eq: ['$outcome', 'REJECTED'] }, 1, 0] } },
  confirmed: { $sum: { $cond: [{ $eq: ['$participationConfirmed', true] }, 1, 0] } },
};

/** The oracle: the aggregations the store ran before its cells. */
function oracle(db: Db) {
  const decisions = db.collection<DecisionDoc>('decisions');
  return {
    async approvedCounts(studies: string[], owner: string | undefined): Promise<Map<string, number>> {
      const match: Record<string, unknown> = { study: { $in: studies }, outcome: 'APPROVED', ...(owner !== undefined ? { owner } : {}) };
      const rows = await decisions.aggregate<{ _id: string; n: number }>([{ $match: match }, { $group: { _id: '$study', n: { $sum: 1 } } }]).toArray();
      return new Map(rows.map((r) => [r._id, r.n]));
    },
    async decisionsByOwner(years: number[], owners?: string[]): Promise<OwnerCell[]> {
      const match: Record<string, unknown> = { year: { $in: years }, ...(owners !== undefined ? { owner: { $in: owners } } : {}) };
      const rows = await decisions
        .aggregate<{ _id: { year: number; owner: string; county?: string }; approved: number; refused: number; confirmed: number }>([
          { $match: match },
          { $group: { _id: { year: '$year', owner: '$owner', county: '$county' }, ...DECISION_SUMS } },
        ])
        .toArray();
      return rows.map(({ _id, approved, refused, confirmed }) => ({
        year: _id.year,
        owner: _id.owner,
        county: _id.county ?? '',
        approved,
        refused,
        confirmed,
      }));
    },
    async decisionsByTopic(years: number[]): Promise<TopicCell[]> {
      const rows = await decisions
        .aggregate<{
          _id: { year: number; subject: string; gradeBand: string; study: string; reason?: string | null };
          approved: number;
          refused: number;
          confirmed: number;
        }>([
          { $match: { year: { $in: years } } },
          { $group: { _id: { year: '$year', subject: '$subject', gradeBand: '$gradeBand', study: '$study', reason: '$reason' }, ...DECISION_SUMS } },
        ])
        .toArray();
      return rows.map(({ _id, approved, refused, confirmed }) => ({ ..._id, reason: _id.reason ?? null, approved, refused, confirmed }));
    },
    async teacherCells(): Promise<TeacherCell[]> {
      const rows = await db
        .collection<TeacherDoc>('teachers')
        .aggregate<{ _id: { subject: string; levels?: number[]; credits?: { subject: string; credits: number }[] }; n: number }>([
          { $unwind: '$teaches' },
          { $group: { _id: { subject: '$teaches.subject', levels: '$teaches.gradeLevels', credits: '$credits' }, n: { $sum: 1 } } },
        ])
        .toArray();
      return rows.map((r) => ({ subject: r._id.subject, levels: r._id.levels ?? [], credits: r._id.credits ?? [], teachers: r.n }));
    },
  };
}

/** Cells in one order, whatever order the store gave them in. */
const sorted = <G>(cells: G[]) => cells.map((g) => JSON.stringify(Object.entries(g as object).sort(([a], [b]) => (a < b ? -1 : 1)))).sort();

/** The reads the loaders make equal the oracle's, for every owner, study and year (unknown ones too). */
async function expectReadsEqualOracle(db: Db, plans: PlansStore): Promise<void> {
  const old = oracle(db);
  const studies = [...STUDIES.map(([s]) => s), 'S-NONE'];
  const owners = [...OWNERS.map(([o]) => o), '9999'];
  const keys = [undefined, ...owners].flatMap((owner) => studies.map((study) => ({ study, owner })));
  const want: number[] = [];
  for (const owner of [undefined, ...owners]) {
    const counts = await old.approvedCounts(studies, owner);
    want.push(...studies.map((s) => counts.get(s) ?? 0));
  }
  expect(await plans.approvedCounts(keys)).toEqual(want);
  for (const years of [YEARS, [YEARS[0]!], [YEARS[1]!], [2032]]) {
    expect(sorted(await plans.decisionsByOwner(years))).toEqual(sorted(await old.decisionsByOwner(years)));
    expect(sorted(await plans.decisionsByTopic(years))).toEqual(sorted(await old.decisionsByTopic(years)));
    for (const some of [[owners[0]!], [owners[1]!, owners[2]!], owners]) {
      expect(sorted(await plans.decisionsByOwner(years, some))).toEqual(sorted(await old.decisionsByOwner(years, some)));
    }
  }
  expect(sorted(await plans.teacherCells())).toEqual(sorted(await old.teacherCells()));
  // `SchoolOwner.teachers`' `totalCount`, which was a `countDocuments`.
  expect(await plans.teacherCounts(owners)).toEqual(await Promise.all(owners.map((owner) => db.collection<TeacherDoc>('teachers').countDocuments({ owner }))));
}

describe('the plans figures', () => {
  it('any sequence of decisions, rankings, schemes, confirmations, erasures and teacher inserts leaves them equal to a recount and to the old aggregations', async () => {
    const db = fresh();
    const plans = createPlansStore(db);
    await plans.ensureIndexes();
    const counted = createPlansCounted(db);
    const rnd = seededRandom(19);
    const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)]!;

    const teachers: string[] = [];
    /** An application's facts are fixed (teacher, study, owner, year); only the owner's decision on it changes. */
    const apps = Array.from({ length: 14 }, (_, i) => {
      const [owner, county] = OWNERS[i % OWNERS.length]!;
      const [study, subject, gradeBand] = STUDIES[(i * 7) % STUDIES.length]!;
      return { id: `a${i}`, owner, county, study, subject, gradeBand, year: YEARS[i % 2]!, institution: INSTITUTIONS[i % 2]!, teacher: `t${i % 6}` };
    });
    const asOwner = (owner: string): Identity => ({ role: 'school-owner', org: owner });
    const line = (owner: string, action: string, target: string) => auditEntry(asOwner(owner), new Date(), action, target, owner);
    const newTeacher = async (id: string) => {
      const teaches = Array.from({ length: rnd(3) }, (_, i) => ({
        subject: SUBJECTS[(i + rnd(3)) % 3]!,
        gradeLevels: pick([[1, 2, 3], [5, 6, 7], [8, 9, 10], [11]]),
      }));
      const credits = Array.from({ length: rnd(3) }, () => ({ subject: pick(SUBJECTS), credits: pick([0, 30, 60]) }));
      const doc: TeacherDoc = { _id: id, owner: OWNERS[rnd(3)]![0], county: '46', school: 'Nordnes skole', teaches, credits };
      // The seed's path (the store has no teacher insert): through the counted collection.
      await inTransaction(db, (session) => counted.teachers.insertOne(doc, session));
      teachers.push(id);
    };
    for (let i = 0; i < 6; i++) await newTeacher(`t${i}`);

    let emptied = 0;
    let cells = await db.collection(FIGURES_COLLECTION).countDocuments();
    const done = { decide: 0, redecide: 0, rank: 0, scheme: 0, confirm: 0, erase: 0, teacher: 0 };
    for (let step = 0; step < 300; step++) {
      const op = rnd(20);
      const app = pick(apps);
      const existing = await db.collection<DecisionDoc>('decisions').findOne({ _id: app.id });
      // A write the mutation would refuse is not made (nor counted in `done`).
      await (async () => {
        if (op < 9) {
          // decideApplication: approve or reject (again); a confirmed decision stays.
          if (existing?.participationConfirmed) return;
          const approve = rnd(2) === 0;
          const rank = !approve ? null : existing?.outcome === 'APPROVED' ? existing.rank : (await plans.approvedOf(app.owner, app.year)).length + 1;
          const doc: DecisionDoc = {
            _id: app.id,
            owner: app.owner,
            teacher: app.teacher,
            study: app.study,
            institution: app.institution,
            year: app.year,
            subject: app.subject,
            gradeBand: app.gradeBand,
            county: app.county,
            outcome: approve ? 'APPROVED' : 'REJECTED',
            reason: approve ? null : pick(REASONS),
            rank,
            fundingScheme: approve ? pick(SCHEMES) : null,
            decidedAt: new Date(),
            participationConfirmed: false,
            confirmedAt: null,
          };
          await plans.saveDecision(doc, line(app.owner, 'decideApplication', app.id));
          done[existing ? 'redecide' : 'decide']++;
        } else if (op < 11) {
          // rankApplications: the owner's approved decisions of a year, in a shuffled order.
          const approved = (await plans.approvedOf(app.owner, app.year)).map((d) => d.id);
          const order = approved
            .map((id) => [rnd(1000), id] as const)
            .sort()
            .map(([, id]) => id);
          await plans.rank(order, line(app.owner, 'rankApplications', String(app.year)));
          done.rank++;
        } else if (op < 13) {
          if (existing?.outcome !== 'APPROVED') return;
          await plans.updateDecision(app.id, { fundingScheme: pick(SCHEMES) }, line(app.owner, 'chooseFundingScheme', app.id));
          done.scheme++;
        } else if (op < 16) {
          if (existing?.outcome !== 'APPROVED' || existing.participationConfirmed) return;
          await plans.updateDecision(app.id, { participationConfirmed: true, confirmedAt: new Date() }, line(app.owner, 'confirmParticipation', app.id));
          done.confirm++;
        } else if (op < 18) {
          // eraseTeacherRecord: the application's teacher, or any teacher, under a new pseudonym.
          const teacher = rnd(4) === 0 ? pick(teachers) : app.teacher;
          const pseudonym = `erased-${step}`;
          await plans.rekeyTeacher(teacher, pseudonym);
          const i = teachers.indexOf(teacher);
          if (i >= 0) teachers[i] = pseudonym;
          // The application's later decisions name the pseudonym, as admissions' own erasure makes them.
          for (const a of apps) if (a.teacher === teacher) a.teacher = pseudonym;
          done.erase++;
        } else {
          await newTeacher(`t-new-${step}`);
          done.teacher++;
        }
      })();
      const now = await db.collection(FIGURES_COLLECTION).countDocuments();
      if (now < cells) emptied++;
      cells = now;
      if (step % 100 === 99) {
        for (const c of figures(db)) expect(await c.check()).toEqual([]);
        await expectReadsEqualOracle(db, plans);
      }
    }

    // The sequence did each kind of write, emptied cells (the path a stale zero would take) and has cells left.
    expect(
      Object.values(done).every((n) => n > 3),
      JSON.stringify(done),
    ).toBe(true);
    expect(emptied).toBeGreaterThan(3);
    expect(await db.collection(FIGURES_COLLECTION).countDocuments({ set: 'approvedByOwnerStudy' })).toBeGreaterThan(2);
    expect(await db.collection(FIGURES_COLLECTION).countDocuments({ set: 'teacherCells' })).toBeGreaterThan(3);
    expect(await db.collection(FIGURES_COLLECTION).countDocuments({ set: 'decisionsByTopic', reason: { $ne: null } })).toBeGreaterThan(0);
    expect(await db.collection(FIGURES_COLLECTION).countDocuments({ set: 'decisionsByOwner', confirmed: { $gt: 0 } })).toBeGreaterThan(0);
    for (const c of figures(db)) expect(await c.check()).toEqual([]);
    await expectReadsEqualOracle(db, plans);
    // A rebuild from the documents gives the very cells the writes kept.
    const kept = await db.collection(FIGURES_COLLECTION).find().sort({ _id: 1 }).toArray();
    for (const c of figures(db)) await c.rebuild();
    expect(await db.collection(FIGURES_COLLECTION).find().sort({ _id: 1 }).toArray()).toEqual(kept);
  }, 120_000);
});
