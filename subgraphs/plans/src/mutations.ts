import {
  ErrorCode,
  type ApplicationState,
  type RoundDates,
  type StudyState,
  auditEntry,
  auditView,
  badUserInput,
  checkWindow,
  forbidden,
  intArg,
  notFound,
  pageWindow,
  refused,
  SUBJECT_CODES,
  requiredId,
  yearArg,
} from '@partnerskap/kit';
import { type GraphQLError } from 'graphql';
import { type PlansContext } from './context.js';
import { type MutationResolvers, type QueryResolvers } from './generated/resolvers.js';
import { type DecisionDoc } from './store.js';

/** An application as plans keeps it (admissions' events), with its offer as plans keeps it (the catalogue's). */
interface AppFacts extends ApplicationState {
  offer: StudyState | null;
}

/**
 * An application, its offer and its round as plans keeps them (admissions' and the catalogue's
 * events): no partner is asked while an owner decides. No such application is `unknown`: bad
 * input for a write that would store a reference to it, NOT_FOUND where the owner's decision on it
 * is what changes.
 */
async function facts(
  ctx: PlansContext,
  value: string,
  field: string,
  unknown: (message: string, field: string) => GraphQLError = notFound,
): Promise<{ app: AppFacts; id: string; round: RoundDates | null }> {
  const id = requiredId(value, field);
  const app = await ctx.projections.get<ApplicationState>('application', id);
  if (!app) throw unknown(`${field} names no application (applications reach the school owners within seconds of being submitted)`, field);
  if (app.owner !== ctx.identity.org) throw forbidden('Only the teacher’s own school owner decides on this application', field);
  const [offer, round] = await Promise.all([ctx.projections.get<StudyState>('study', app.study), ctx.projections.get<RoundDates>('round', String(app.year))]);
  return { app: { ...app, offer }, id, round };
}

const schemesOf = (app: AppFacts) => app.fundingSchemes;

/** The plans mutations. */
export const mutations: MutationResolvers = {
  decideApplication: async (_, args, ctx) => {
    const approve = args.outcome === 'APPROVED';
    if (approve && args.reason) throw badUserInput('A reason is given only when rejecting', 'reason');
    if (!approve && !args.reason) throw badUserInput('Say why the application is rejected: COST, PRIORITIES, INCOMPLETE_APPLICATION or OTHER', 'reason');
    if (!approve && args.fundingScheme) throw badUserInput('A funding scheme is chosen only when approving', 'fundingScheme');
    // The decision stores the owner and its county: an owner plans does not know never decides (read locally, before asking anyone).
    const owner = await ctx.loaders.owner.load(ctx.identity.org!);
    if (!owner) throw forbidden('Only a school owner of the partnership decides on applications', 'application');
    const { app, id, round } = await facts(ctx, args.application, 'application', badUserInput);
    if (app.withdrawn) throw refused(ErrorCode.INVALID_STATE, 'The teacher has withdrawn the application', 'application');
    if (app.offer?.status === 'CANCELLED') throw refused(ErrorCode.INVALID_STATE, 'The offer applied for is cancelled', 'application');
    checkWindow(round, 'ownerDecision', ctx.clock.now(), app.year, 'application');
    const scheme = approve ? (args.fundingScheme ?? app.fundingSchemes[0]!) : null;
    if (scheme && !schemesOf(app).includes(scheme)) throw badUserInput(`Choose one of the teacher's schemes: ${schemesOf(app).join(' or ')}`, 'fundingScheme');
    const before = await ctx.loaders.decision.load(id);
    if (before?.participationConfirmed) throw refused(ErrorCode.INVALID_STATE, 'Participation is already confirmed', 'application');
    const rank = !approve ? null : before?.outcome === 'APPROVED' ? before.rank : (await ctx.store.approvedOf(ctx.identity.org!, app.year)).length + 1;
    const now = ctx.clock.now();
    const doc: DecisionDoc = {
      _id: id,
      owner: ctx.identity.org!,
      teacher: app.teacher,
      study: app.study,
      institution: app.institution,
      year: app.year,
      subject: app.subject,
      gradeBand: app.gradeBand,
      county: owner.county,
      outcome: args.outcome,
      reason: approve ? null : args.reason!,
      rank,
      fundingScheme: scheme,
      decidedAt: now,
      participationConfirmed: false,
      confirmedAt: null,
    };
    const line = auditEntry(ctx.identity, now, 'decideApplication', id, doc.owner, { outcome: doc.outcome, reason: doc.reason, fundingScheme: scheme, rank });
    return ctx.store.saveDecision(doc, line);
  },

  rankApplications: async (_, args, ctx) => {
    const year = yearArg(args.year, 'year')!;
    // The ranking's audit line is the owner's: an owner plans does not know ranks nothing, not even an empty list.
    if (!(await ctx.loaders.owner.load(ctx.identity.org!))) throw forbidden('Only a school owner of the partnership ranks applications', 'year');
    const order = args.applications.map((a, i) => requiredId(a, `applications.${i}`));
    // Only ids of the owner's own approved decisions (local data) pass: an unknown id is refused at its index.
    const approved = await ctx.store.approvedOf(ctx.identity.org!, year);
    const ids = new Set(approved.map((d) => d.id));
    if (new Set(order).size !== order.length) throw badUserInput('Each application may appear only once', 'applications');
    const stray = order.findIndex((a) => !ids.has(a));
    if (stray >= 0) throw badUserInput('Only your approved applications of that year can be ranked', `applications.${stray}`);
    if (order.length !== ids.size) throw badUserInput(`Rank all ${ids.size} approved applications of ${year}`, 'applications');
    checkWindow(await ctx.projections.get<RoundDates>('round', String(year)), 'ownerDecision', ctx.clock.now(), year, 'year');
    return ctx.store.rank(order, auditEntry(ctx.identity, ctx.clock.now(), 'rankApplications', String(year), ctx.identity.org!, { order }));
  },

  chooseFundingScheme: async (_, args, ctx) => {
    const { app, id, round } = await facts(ctx, args.application, 'application');
    const decision = await ctx.loaders.decision.load(id);
    if (decision?.outcome !== 'APPROVED') throw refused(ErrorCode.INVALID_STATE, 'Approve the application before choosing its funding scheme', 'application');
    checkWindow(round, 'ownerDecision', ctx.clock.now(), app.year, 'application');
    if (!schemesOf(app).includes(args.fundingScheme))
      throw badUserInput(`Choose one of the teacher's schemes: ${schemesOf(app).join(' or ')}`, 'fundingScheme');
    return ctx.store.updateDecision(
      id,
      { fundingScheme: args.fundingScheme },
      auditEntry(ctx.identity, ctx.clock.now(), 'chooseFundingScheme', id, decision.owner, { fundingScheme: args.fundingScheme }),
    );
  },

  confirmParticipation: async (_, args, ctx) => {
    const { app, id, round } = await facts(ctx, args.application, 'application');
    const decision = await ctx.loaders.decision.load(id);
    if (decision?.outcome !== 'APPROVED') throw refused(ErrorCode.INVALID_STATE, 'Only an approved application can be confirmed', 'application');
    if (decision.participationConfirmed) throw refused(ErrorCode.INVALID_STATE, 'Participation is already confirmed', 'application');
    if (app.withdrawn) throw refused(ErrorCode.INVALID_STATE, 'The teacher has withdrawn the application', 'application');
    checkWindow(round, 'confirmation', ctx.clock.now(), app.year, 'application');
    if (app.admission !== 'ADMITTED') throw refused(ErrorCode.MISSING_DECISION, 'The institution has not admitted the teacher', 'application');
    const now = ctx.clock.now();
    return ctx.store.updateDecision(
      id,
      { participationConfirmed: true, confirmedAt: now },
      auditEntry(ctx.identity, now, 'confirmParticipation', id, decision.owner),
    );
  },

  saveCompetencePlan: async (_, args, ctx) => {
    const year = yearArg(args.year, 'year')!;
    const owner = await ctx.loaders.owner.load(ctx.identity.org!);
    if (!owner) throw forbidden('Only a school owner of the partnership keeps a competence plan', 'year');
    const budgetNok = intArg(args.input.budgetNok, 'input.budgetNok', 0, 1_000_000_000);
    if (args.input.priorities.length > 20) throw badUserInput('At most 20 priorities', 'input.priorities');
    const seen = new Set<string>();
    const priorities = args.input.priorities.map((p, i) => {
      const subject = requiredId(p.subject, `input.priorities.${i}.subject`);
      // An unknown code would be stored and read back as a silent null ever after.
      if (!SUBJECT_CODES.has(subject)) throw badUserInput(`input.priorities.${i}.subject names no subject of the strategy`, `input.priorities.${i}.subject`);
      if (seen.has(`${subject}|${p.gradeBand}`)) throw badUserInput('Each subject and grade band once', `input.priorities.${i}`);
      seen.add(`${subject}|${p.gradeBand}`);
      return { subject, gradeBand: p.gradeBand, targetTeachers: intArg(p.targetTeachers, `input.priorities.${i}.targetTeachers`, 1, 10_000) };
    });
    const doc = { _id: `${owner.id}-${year}`, owner: owner.id, year, county: owner.county, priorities, budgetNok };
    return ctx.store.savePlan(
      doc,
      auditEntry(ctx.identity, ctx.clock.now(), 'saveCompetencePlan', doc._id, owner.id, { budgetNok, priorities: priorities.length }),
    );
  },
};

/** The plans audit trail. */
export const auditQuery: QueryResolvers = {
  plansAudit: async (_, args, ctx) => (await ctx.store.auditLines(ctx.identity, pageWindow(args).limit)).map(auditView),
};
