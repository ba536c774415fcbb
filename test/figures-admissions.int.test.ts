/**
 * The admissions figures against a full recount (issue 19): a fixed pseudo-random year of the
 * store's real writes (applications submitted, withdrawn, decided, enrolled, completed; owners'
 * approvals from plans' decisions; erasures), some of them refused or stale, leaves the kept cells
 * equal to a recount, and every figure the resolvers read equal to the aggregations they replaced.
 * Against the embedded store, or a real MongoDB when MONGODB_URI is set.
 */
import { type Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { type FigureDoc, type Identity, auditEntry, idempotencyOf, inTransaction } from '@partnerskap/kit';
import { subscriptions } from '@partnerskap/admissions/events';
import { createCountedApplications } from '@partnerskap/admissions/figures';
import { type Application, type ApplicationDoc, type FunnelCounts, createAdmissionsStore } from '@partnerskap/admissions/store';
import { seededRandom, useStoreClient } from './store-client.js';

const { fresh } = useStoreClient('admissions_figures');

/** The aggregations the kept cells replaced, as they were: the oracle. */
const isDate = (path: string) => ({ $eq: [{ $type: path }, 'date'] });
const countIf = (condition: unknown) => ({ $sum: { $cond: [condition, 1, 0] } });
const FUNNEL_SUMS = {
  applications: { $sum: 1 },
  admitted: countIf({ $eq: ['$admission.outcome', 'ADMITTED'] }),
  waitlisted: countIf({ $eq: ['$admission.outcome', 'WAITLISTED'] }),
  rejected: countIf({ $eq: ['$admission.outcome', 'REJECTED'] }),
  withdrawnBefore: countIf(isDate('$withdrawnAt')),
  withdrawnAfter: countIf(isDate('$enrolment.withdrawnAt')),
  completed: countIf(isDate('$completedAt')),
  credits: { $sum: '$creditsCompleted' },
  credited: { $sum: { $cond: [{ $eq: ['$creditsCompleted', 0] }, 0, 1] } },
};
type Row = Record<string, unknown> & { _id: Record<string, unknown>; withdrawnBefore: number; withdrawnAfter: number };
const flatten = ({ _id, withdrawnBefore, withdrawnAfter, ...counts }: Row) => ({ ..._id, ...counts, withdrawn: withdrawnBefore + withdrawnAfter });
async function recountFunnel(db: Db, match: Record<string, unknown>, by: Record<string, string>) {
  const rows = await db
    .collection('applications')
    .aggregate<Row>([{ $match: match }, { $group: { _id: by, ...FUNNEL_SUMS } }])
    .toArray();
  return rows.map(flatten);
}
async function recountStudies(db: Db, studies: string[]) {
  const count = (outcome: string) => ({ $sum: { $cond: [{ $eq: ['$admission.outcome', outcome] }, 1, 0] } });
  return db
    .collection('applications')
    .aggregate([
      { $match: { study: { $in: studies } } },
      { $group: { _id: '$study', applicants: { $sum: 1 }, admitted: count('ADMITTED'), waitlisted: count('WAITLISTED') } },
    ])
    .toArray();
}
const sorted = <T>(rows: T[]) => [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

const YEARS = [2029, 2030, 2031];
const OFFERS = [
  { code: 'MAT-A', subject: 'MAT', gradeBand: 'GRADES_1_7', institution: '970000001' },
  { code: 'MAT-B', subject: 'MAT', gradeBand: 'GRADES_8_13', institution: '970000002' },
  { code: 'NOR-A', subject: 'NOR', gradeBand: 'GRADES_1_7', institution: '970000001' },
];
const studyId = (code: string, year: number) => `S-${code}-${year}`;
const STUDIES = YEARS.flatMap((y) => OFFERS.map((o) => studyId(o.code, y)));
/** Sixteen teachers and their employers (a private owner employs in two counties). */
const EMPLOYERS = [
  ['4601', '46'],
  ['0301', '03'],
  ['p-910000001', '46'],
  ['p-910000001', '15'],
] as const;
const TEACHERS = Array.from({ length: 16 }, (_, i) => [`t-${i}`, ...EMPLOYERS[i % EMPLOYERS.length]!] as const);
const OWNERS = [...new Set(TEACHERS.map(([, owner]) => owner))];
const INSTITUTION: Identity = { role: 'institution', org: '970000001' };

describe('the admissions figures', () => {
  it('any year of submissions, decisions, withdrawals, completions, approvals and erasures leaves them equal to a recount', async () => {
    const started = performance.now();
    const db = fresh();
    const admissions = createAdmissionsStore(db);
    await admissions.ensureIndexes();
    const counted = createCountedApplications(db);
    const ownerApproved = subscriptions(db).find((s) => s.source === 'plans')!.kinds.decision!.also!;
    const rnd = seededRandom(20290419);
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
    let clock = Date.parse('2029-02-01T08:00:00Z');
    const now = () => new Date((clock += 60_000));

    const ids: string[] = [];
    /** What a caller last read of each application: a rule checked against an old read writes nothing (null). */
    const seen = new Map<string, Application>();
    const did = { submitted: 0, conflicts: 0, updated: 0, stale: 0, approvals: 0, erased: 0, lowered: 0, grown: 0 };

    /** The application as a caller reads it: mostly as it is, sometimes as they read it earlier. */
    const read = async (): Promise<Application | null> => {
      if (ids.length === 0) return null;
      const id = pick(ids);
      if (seen.has(id) && rnd(4) === 0) return seen.get(id)!;
      const doc = (await db.collection<ApplicationDoc>('applications').findOne({ _id: id }))!;
      const app = { ...doc, id: doc._id } as Application;
      seen.set(id, app);
      return app;
    };
    const isWithdrawn = (a: Application) => Boolean(a.withdrawnAt || a.enrolment?.withdrawnAt);
    const update = async (app: Application, expected: Record<string, unknown>, set: Record<string, unknown>, action: string) => {
      const result = await admissions.updateApplication(
        app,
        expected,
        set,
        auditEntry(INSTITUTION, now(), action, app.id, app.institution),
        `application.${action}`,
      );
      if (result) did.updated++;
      else did.stale++;
    };

    const steps: (() => Promise<void>)[] = [
      // submitApplication: one per teacher and year (a second is a CONFLICT and counts nowhere).
      async () => {
        const [teacher, owner, county] = pick(TEACHERS);
        const year = pick(YEARS);
        const offer = pick(OFFERS);
        const id = `a-${ids.length + did.conflicts}`;
        const doc: ApplicationDoc = {
          _id: id,
          teacher,
          study: studyId(offer.code, year),
          year,
          subject: offer.subject,
          gradeBand: offer.gradeBand,
          institution: offer.institution,
          owner,
          county,
          ownerApproved: false,
          firstChoice: { campus: 'Campus', fundingScheme: 'STIPEND' },
          secondChoice: null,
          submittedAt: now(),
          admission: null,
          enrolment: null,
          creditsCompleted: 0,
          completedAt: null,
          withdrawnAt: null,
        };
        // Records from before withdrawal existed have no `withdrawnAt` at all.
        if (rnd(6) === 0) delete doc.withdrawnAt;
        const identity: Identity = { role: 'teacher', org: teacher };
        const idempotency = idempotencyOf<Application>(identity, 'submitApplication', null, { study: doc.study }, () => Promise.reject(new Error('no replay')));
        try {
          await admissions.insertApplication(doc, auditEntry(identity, now(), 'submitApplication', id, doc.institution), idempotency);
          ids.push(id);
          did.submitted++;
        } catch (err) {
          expect((err as { extensions?: { code?: string } }).extensions?.code).toBe('CONFLICT');
          did.conflicts++;
        }
      },
      // withdrawApplication, before enrolling or after.
      async () => {
        const app = await read();
        if (!app || app.completedAt || isWithdrawn(app)) return;
        if (app.enrolment) await update(app, { 'enrolment.withdrawnAt': null }, { 'enrolment.withdrawnAt': now() }, 'withdrawn');
        else await update(app, { enrolment: null, completedAt: null }, { withdrawnAt: now() }, 'withdrawn');
      },
      // decideAdmission: a new application, or a waitlisted one again.
      async () => {
        const app = await read();
        if (!app || isWithdrawn(app) || app.enrolment || (app.admission && app.admission.outcome !== 'WAITLISTED')) return;
        const outcome = pick(['ADMITTED', 'ADMITTED', 'WAITLISTED', 'WAITLISTED', 'REJECTED']);
        await update(
          app,
          { admission: app.admission, enrolment: null },
          { admission: { outcome, outsideSchemes: rnd(4) === 0, decidedAt: now() } },
          'admission-decided',
        );
      },
      // recordEnrolment.
      async () => {
        const app = await read();
        if (!app || app.admission?.outcome !== 'ADMITTED' || app.enrolment || isWithdrawn(app)) return;
        await update(app, { enrolment: null, withdrawnAt: app.withdrawnAt ?? null }, { enrolment: { enrolledAt: now(), withdrawnAt: null } }, 'enrolled');
      },
      // recordCompletion.
      async () => {
        const app = await read();
        if (!app || !app.enrolment || app.enrolment.withdrawnAt || app.completedAt) return;
        await update(app, { completedAt: null, 'enrolment.withdrawnAt': null }, { creditsCompleted: 1 + rnd(60), completedAt: now() }, 'completed');
      },
      // An owner's decision from plans' feed (in the consumer's transaction), or from a repair (no session).
      async () => {
        if (ids.length === 0) return;
        const data = { outcome: pick(['APPROVED', 'APPROVED', 'REJECTED']) };
        const subject = rnd(10) === 0 ? 'a-unknown' : pick(ids);
        if (rnd(3) === 0) await ownerApproved(data, subject, undefined);
        else await inTransaction(db, (session) => ownerApproved(data, subject, session));
        did.approvals++;
      },
      // eraseTeacherApplications (GDPR): a teacher's applications move to a pseudonym.
      async () => {
        if (rnd(4) !== 0) return;
        await admissions.rekeyTeacher(pick(TEACHERS)[0], `erased-${did.erased}`, now());
        did.erased++;
      },
    ];
    const WEIGHTS = [3, 1, 6, 3, 3, 2, 1];
    const cellsNow = async () => new Map((await counted.figures.find({}).toArray()).map((c) => [c._id, c]));

    const compare = async () => {
      expect(await counted.check()).toEqual([]);
      // Every read the resolvers make, equal to the aggregation it replaced (and none for a key nothing counts in).
      const unknownStudy = 'S-GEO-A-2029';
      expect(sorted(await admissions.studyFigures([...STUDIES, unknownStudy]))).toEqual(sorted(await recountStudies(db, STUDIES)));
      for (const study of [...STUDIES, unknownStudy]) {
        expect(await admissions.countAdmitted(study)).toBe(await db.collection('applications').countDocuments({ study, 'admission.outcome': 'ADMITTED' }));
      }
      const years = [...YEARS, 1999];
      expect(sorted(await admissions.funnelByOwner(years))).toEqual(
        sorted(await recountFunnel(db, { year: { $in: years } }, { year: '$year', owner: '$owner', county: '$county' })),
      );
      expect(sorted(await admissions.funnelBySubject(years))).toEqual(
        sorted(await recountFunnel(db, { year: { $in: years } }, { year: '$year', subject: '$subject', gradeBand: '$gradeBand', study: '$study' })),
      );
      const keys = years.flatMap((year) => [...OWNERS, '9999'].map((owner) => ({ year, owner })));
      const ofOwners = await recountFunnel(db, { year: { $in: years }, owner: { $in: [...OWNERS, '9999'] } }, { year: '$year', owner: '$owner' });
      expect(await admissions.ownerFunnels(keys)).toEqual(
        keys.map((k) => {
          const row = ofOwners.find((r) => (r as { year?: number }).year === k.year && (r as { owner?: string }).owner === k.owner);
          if (!row) return null;
          const { year: _y, owner: _o, ...counts } = row as FunnelCounts & { year: number; owner: string };
          return counts;
        }),
      );
    };

    let before = await cellsNow();
    for (let step = 1; step <= 500; step++) {
      let r = rnd(WEIGHTS.reduce((a, b) => a + b, 0));
      const i = WEIGHTS.findIndex((w) => (r -= w) < 0);
      await steps[i]!();
      // No write of the rules moves an application to another cell (year, owner, county and study are
      // fixed when it is submitted), and none deletes one: cells are born and their sums move both ways.
      const after = await cellsNow();
      if (after.size > before.size) did.grown++;
      const lowered = (id: string, cell: FigureDoc) =>
        counted.sets.find((s) => s.name === cell.set)!.sums.some((s) => Number(after.get(id)?.[s] ?? 0) < Number(cell[s]));
      if ([...before].some(([id, cell]) => lowered(id, cell))) did.lowered++;
      before = after;
      if (step % 100 === 0) await compare();
    }
    await admissions.outbox.close();

    // The sequence did what it must to be able to fail: cells born and lowered (an outcome changed: a
    // waitlisted admitted), writes refused (a second application) or stale (nothing moves), approvals
    // with and without a session, erasures.
    expect(did.submitted).toBeGreaterThan(10);
    expect(did.grown).toBeGreaterThan(10);
    expect(did.lowered).toBeGreaterThan(3);
    expect(did.conflicts).toBeGreaterThan(3);
    expect(did.updated).toBeGreaterThan(30);
    expect(did.stale).toBeGreaterThan(3);
    expect(did.approvals).toBeGreaterThan(10);
    expect(did.erased).toBeGreaterThan(1);
    // Withdrawn, completed and credited applications, in every set.
    const all = await db.collection<ApplicationDoc>('applications').find().toArray();
    expect(all.filter((a) => a.withdrawnAt || a.enrolment?.withdrawnAt).length).toBeGreaterThan(2);
    expect(all.filter((a) => a.completedAt).length).toBeGreaterThan(2);
    expect(all.filter((a) => !('withdrawnAt' in a)).length).toBeGreaterThan(0);
    expect(all.filter((a) => a.ownerApproved).length).toBeGreaterThan(2);
    console.log(`admissions figures: ${JSON.stringify(did)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }, 120_000);

  it('a rush of submissions and decisions on the same cells all land (they take turns, none runs out of retries), and the figures hold', async () => {
    const db = fresh();
    const admissions = createAdmissionsStore(db);
    await admissions.ensureIndexes();
    const doc = (i: number): ApplicationDoc => ({
      _id: `r-${i}`,
      teacher: `t-rush-${i}`,
      study: 'S-MAT-A-2030',
      year: 2030,
      subject: 'MAT',
      gradeBand: 'GRADES_1_7',
      institution: '970000001',
      owner: '4601',
      county: '46',
      ownerApproved: true,
      firstChoice: { campus: 'Campus', fundingScheme: 'STIPEND' },
      secondChoice: null,
      submittedAt: new Date('2030-03-01T10:00:00Z'),
      admission: null,
      enrolment: null,
      creditsCompleted: 0,
      completedAt: null,
      withdrawnAt: null,
    });
    const submit = (i: number) => {
      const identity: Identity = { role: 'teacher', org: `t-rush-${i}` };
      return admissions.insertApplication(
        doc(i),
        auditEntry(identity, new Date(), 'submitApplication', `r-${i}`, '970000001'),
        idempotencyOf<Application>(identity, 'submitApplication', null, {}, () => Promise.reject(new Error('no replay'))),
      );
    };
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => submit(i)));
    // Thirty more apply while the first thirty are decided: every write moves the same four cells.
    const decided = { outcome: 'ADMITTED', outsideSchemes: false, decidedAt: new Date('2030-05-10T10:00:00Z') };
    const results = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => submit(30 + i)),
      ...first.map((app) =>
        admissions.updateApplication(
          app,
          { admission: null },
          { admission: decided },
          auditEntry(INSTITUTION, new Date(), 'decideAdmission', app.id, app.institution),
          'application.admission-decided',
        ),
      ),
    ]);
    expect(results.every((r) => r !== null)).toBe(true);
    await admissions.outbox.close();
    expect(await createCountedApplications(db).check()).toEqual([]);
    expect(await admissions.studyFigures(['S-MAT-A-2030'])).toEqual([{ _id: 'S-MAT-A-2030', applicants: 60, admitted: 30, waitlisted: 0 }]);
  }, 60_000);
});
