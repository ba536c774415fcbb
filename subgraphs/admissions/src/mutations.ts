import {
  ErrorCode,
  type AllocationState,
  type DecisionState,
  type RoundDates,
  type StudyState,
  type TeacherState,
  auditEntry,
  auditView,
  badUserInput,
  checkWindow,
  forbidden,
  idempotencyOf,
  idempotent,
  intArg,
  isStudyId,
  notFound,
  pageWindow,
  refused,
  requiredId,
  textArg,
} from '@partnerskap/kit';
import { type AdmissionsContext } from './context.js';
import { type MutationResolvers, type QueryResolvers } from './generated/resolvers.js';
import { type AdmissionsStore, type Application, type ApplicationDoc } from './store.js';
import { randomBytes } from 'node:crypto';

/** What an application must still be for a change to apply: the store's filter (a nested field by its dotted path). */
type Expected = Parameters<AdmissionsStore['updateApplication']>[1];

/** An application as the caller's rules see it: theirs, or FORBIDDEN; NOT_FOUND when there is none. */
async function ownApplication(ctx: AdmissionsContext, value: string, field: string, mine: (a: Application) => boolean): Promise<Application> {
  const id = requiredId(value, field);
  const app = await ctx.loaders.application.load(id);
  if (!app) throw notFound(`There is no application ${id}`, field);
  if (!mine(app)) throw forbidden('This application is not yours to act on', field);
  return app;
}

const isWithdrawn = (a: Application) => Boolean(a.withdrawnAt || a.enrolment?.withdrawnAt);

/** The event each change of an application is told to the other partners as. */
const EVENT_OF = {
  withdrawApplication: 'application.withdrawn',
  decideAdmission: 'application.admission-decided',
  recordEnrolment: 'application.enrolled',
  recordCompletion: 'application.completed',
} as const;

/** Writes, or refuses if the application changed while the rules were checked (someone else acted first). */
async function update(
  ctx: AdmissionsContext,
  app: Application,
  expect: Expected,
  set: Partial<ApplicationDoc>,
  action: keyof typeof EVENT_OF,
  details: Record<string, unknown>,
) {
  const line = auditEntry(ctx.identity, ctx.clock.now(), action, app.id, app.institution, details);
  const updated = await ctx.store.updateApplication(app, expect, set, line, EVENT_OF[action]);
  if (!updated) throw refused(ErrorCode.INVALID_STATE, 'The application changed while this was checked; look again and retry', 'application');
  return updated;
}

/** The admissions mutations. */
export const mutations: MutationResolvers = {
  submitApplication: (_, { input, idempotencyKey }, ctx) =>
    idempotent(
      ctx.store,
      idempotencyOf(ctx.identity, 'submitApplication', idempotencyKey, input, async (id) => (await ctx.loaders.application.load(id))!),
      async (idempotency) => {
        const teacher = ctx.identity.org!;
        const studyId = requiredId(input.study, 'input.study');
        // An id no offer can have is refused here, without asking the catalogue.
        if (!isStudyId(studyId)) throw badUserInput('input.study names no study offer', 'input.study');
        const choices = [input.firstChoice, input.secondChoice ?? null];
        choices.forEach((c, i) => c && textArg(c.campus, `input.${i === 0 ? 'first' : 'second'}Choice.campus`, 2, 100));
        // The rules read admissions' projections of the catalogue's offers and rounds and plans' teachers (kept from
        // their events): no partner is asked while a teacher applies. An offer published seconds ago may not be known yet.
        const [study, teacherOf] = await Promise.all([
          ctx.projections.get<StudyState>('study', studyId),
          ctx.projections.get<TeacherState>('teacher', teacher),
        ]);
        // The application stores the study's id: one that names no offer is refused before anything is stored.
        if (!study) throw badUserInput('input.study names no study offer (offers reach admissions within seconds of being published)', 'input.study');
        if (study.status !== 'OFFERED')
          throw refused(ErrorCode.INVALID_STATE, `The offer is ${study.status === 'CANCELLED' ? 'cancelled' : 'not offered this year'}`, 'input.study');
        checkWindow(await ctx.projections.get<RoundDates>('round', String(study.year)), 'apply', ctx.clock.now(), study.year, 'input.study');
        if (!teacherOf) throw forbidden('Only a teacher employed by a school owner of the partnership can apply', 'input.study');
        const institution = (await ctx.loaders.institution.load(study.institution)) ?? { campuses: [] as string[] };
        choices.forEach((c, i) => {
          if (c && !institution.campuses.includes(c.campus.trim())) {
            throw badUserInput(`The institution teaches at ${institution.campuses.join(', ')}`, `input.${i === 0 ? 'first' : 'second'}Choice.campus`);
          }
        });
        const now = ctx.clock.now();
        const doc: ApplicationDoc = {
          _id: `a-${randomBytes(8).toString('hex')}`,
          teacher,
          study: study.id,
          year: study.year,
          subject: study.subject,
          gradeBand: study.gradeBand,
          institution: study.institution,
          owner: teacherOf.owner,
          county: teacherOf.county,
          ownerApproved: false,
          firstChoice: { campus: input.firstChoice.campus.trim(), fundingScheme: input.firstChoice.fundingScheme },
          secondChoice: input.secondChoice ? { campus: input.secondChoice.campus.trim(), fundingScheme: input.secondChoice.fundingScheme } : null,
          submittedAt: now,
          admission: null,
          enrolment: null,
          creditsCompleted: 0,
          completedAt: null,
          withdrawnAt: null,
        };
        return ctx.store.insertApplication(
          doc,
          auditEntry(ctx.identity, now, 'submitApplication', doc._id, doc.institution, { study: doc.study }),
          idempotency,
        );
      },
    ),

  withdrawApplication: async (_, args, ctx) => {
    const app = await ownApplication(ctx, args.id, 'id', (a) => a.teacher === ctx.identity.org);
    if (app.completedAt) throw refused(ErrorCode.INVALID_STATE, 'A completed study cannot be withdrawn', 'id');
    if (isWithdrawn(app)) throw refused(ErrorCode.INVALID_STATE, 'The application is already withdrawn', 'id');
    const now = ctx.clock.now();
    // An enrolment's time never changes once recorded: the whole enrolment is set again, withdrawn.
    return app.enrolment
      ? update(ctx, app, { 'enrolment.withdrawnAt': null }, { enrolment: { ...app.enrolment, withdrawnAt: now } }, 'withdrawApplication', { enrolled: true })
      : update(ctx, app, { enrolment: null, completedAt: null }, { withdrawnAt: now }, 'withdrawApplication', { enrolled: false });
  },

  decideAdmission: async (_, args, ctx) => {
    const app = await ownApplication(ctx, args.application, 'application', (a) => a.institution === ctx.identity.org && a.ownerApproved);
    const outside = args.outsideSchemes ?? false;
    if (outside && args.outcome !== 'ADMITTED') throw badUserInput('outsideSchemes applies only to ADMITTED', 'outsideSchemes');
    if (isWithdrawn(app)) throw refused(ErrorCode.INVALID_STATE, 'The teacher has withdrawn the application', 'application');
    if (app.enrolment) throw refused(ErrorCode.INVALID_STATE, 'The teacher has enrolled: the admission stands', 'application');
    if (app.admission && app.admission.outcome !== 'WAITLISTED') {
      throw refused(
        ErrorCode.INVALID_STATE,
        `The application is already ${app.admission.outcome.toLowerCase()}; only a waitlisted one can be decided again`,
        'application',
      );
    }
    // The owner's decision and Udir's funding as admissions keeps them (their events), the offer and the round likewise.
    const [decision, funding, study, round] = await Promise.all([
      ctx.projections.get<DecisionState>('decision', app.id),
      ctx.projections.get<AllocationState>('allocation', app.id),
      ctx.projections.get<StudyState>('study', app.study),
      ctx.projections.get<RoundDates>('round', String(app.year)),
    ]);
    checkWindow(round, 'admission', ctx.clock.now(), app.year, 'application');
    if (study?.status === 'CANCELLED' && args.outcome !== 'REJECTED') {
      throw refused(ErrorCode.INVALID_STATE, 'The offer is cancelled: its applicants can only be rejected', 'outcome');
    }
    if (args.outcome === 'ADMITTED') {
      if (!outside) {
        if (decision?.outcome !== 'APPROVED') {
          throw refused(ErrorCode.MISSING_DECISION, 'Admission within the schemes needs the school owner’s approval', 'application');
        }
        if (!funding?.funded) {
          throw refused(
            ErrorCode.MISSING_DECISION,
            'Admission within the schemes needs Udir’s funding; admit outside the schemes if places are left',
            'application',
          );
        }
      }
      if ((await ctx.store.countAdmitted(app.study)) >= (study?.places ?? 0)) {
        throw refused(ErrorCode.INVALID_STATE, 'No places are left on this offer', outside ? 'outsideSchemes' : 'outcome');
      }
    }
    const admission = { outcome: args.outcome, outsideSchemes: outside, decidedAt: ctx.clock.now() };
    return update(ctx, app, { admission: app.admission, enrolment: null }, { admission }, 'decideAdmission', {
      outcome: args.outcome,
      outsideSchemes: outside,
    });
  },

  recordEnrolment: async (_, args, ctx) => {
    const app = await ownApplication(ctx, args.application, 'application', (a) => a.institution === ctx.identity.org && a.ownerApproved);
    if (app.admission?.outcome !== 'ADMITTED') throw refused(ErrorCode.INVALID_STATE, 'Only an admitted teacher can enrol', 'application');
    if (app.enrolment) throw refused(ErrorCode.INVALID_STATE, 'The teacher is already enrolled', 'application');
    if (isWithdrawn(app)) throw refused(ErrorCode.INVALID_STATE, 'The teacher has withdrawn the application', 'application');
    return update(
      ctx,
      app,
      { enrolment: null, withdrawnAt: app.withdrawnAt ?? null },
      { enrolment: { enrolledAt: ctx.clock.now(), withdrawnAt: null } },
      'recordEnrolment',
      {},
    );
  },

  recordCompletion: async (_, args, ctx) => {
    const app = await ownApplication(ctx, args.application, 'application', (a) => a.institution === ctx.identity.org && a.ownerApproved);
    if (!app.enrolment) throw refused(ErrorCode.INVALID_STATE, 'Only an enrolled teacher can complete', 'application');
    if (app.enrolment.withdrawnAt) throw refused(ErrorCode.INVALID_STATE, 'The teacher has withdrawn', 'application');
    if (app.completedAt) throw refused(ErrorCode.INVALID_STATE, 'The study is already completed', 'application');
    const [decision, study] = await Promise.all([ctx.projections.get<DecisionState>('decision', app.id), ctx.projections.get<StudyState>('study', app.study)]);
    const credits = intArg(args.credits, 'credits', 1, study?.credits ?? 60);
    if (!decision?.participationConfirmed) {
      throw refused(ErrorCode.MISSING_DECISION, 'Completion needs the school owner’s confirmed participation', 'application');
    }
    return update(
      ctx,
      app,
      { completedAt: null, 'enrolment.withdrawnAt': null },
      { creditsCompleted: credits, completedAt: ctx.clock.now() },
      'recordCompletion',
      { credits },
    );
  },
};

/** The admissions audit trail. */
export const auditQuery: QueryResolvers = {
  admissionsAudit: async (_, args, ctx) => (await ctx.store.auditLines(ctx.identity, pageWindow(args).limit)).map(auditView),
};

/** Where an application stands, from admissions' own record and the partners' decisions the query plan brought (`@requires`). */
export function applicationStatus(
  a: Application & { ownerDecision?: { outcome: string; participationConfirmed: boolean } | null; funding?: { funded: boolean } | null },
): string {
  if (isWithdrawn(a)) return 'WITHDRAWN';
  if (a.completedAt) return 'COMPLETED';
  if (a.ownerDecision?.participationConfirmed) return 'PARTICIPATION_CONFIRMED';
  if (a.admission) return a.admission.outcome === 'REJECTED' ? 'REJECTED_BY_INSTITUTION' : a.admission.outcome;
  if (a.funding) return a.funding.funded ? 'FUNDED' : 'NOT_FUNDED';
  if (a.ownerDecision) return a.ownerDecision.outcome === 'APPROVED' ? 'OWNER_APPROVED' : 'OWNER_REJECTED';
  return 'SUBMITTED';
}
