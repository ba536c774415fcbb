import {
  feedResolver,
  erasedPseudonym,
  referenced,
  type withId,
  forbidden,
  idArg,
  loadByKey,
  maySeeApplication,
  seesPersons,
  shownCount,
  keyString,
  pageWindow,
  searchPattern,
  toConnection,
  yearArg,
} from '@partnerskap/kit';
import { type PlansContext } from './context.js';
import { auditQuery, mutations } from './mutations.js';
import { approvedKey, ownerDecisionsKey } from './loaders.js';
import {
  type DecisionBreakdown,
  type ShownDecisionCell,
  auditedDecisions,
  decisionTotal,
  ownerCounts,
  ownerPartitions,
  requirementRules,
  shownCell,
  shownCompetence,
  topicPartitions,
  withDecisionAudit,
} from './insights.js';
import { type CountyDoc, OWNER_ORDER, type Owner, TEACHER_ORDER, type Teacher } from './store.js';
import { type Resolvers } from './generated/resolvers.js';

const subjectRef = (code: string) => ({ code });

/** A county as the store gives it (`id` is its number): the parent of `County`'s resolvers. */
export type CountyRow = ReturnType<typeof withId<CountyDoc>>;

/** A year's decision figures: the parent of `DecisionFigures`' resolvers (each breakdown is computed from the year). */
export interface DecisionsRef {
  year: number;
}

/** An `Insights` entity as plans resolves it: the year, and the catalogue's requirements when the plan brought them. */
export interface InsightsRef {
  year: number;
  requirements?: unknown;
}

/** The decision figures of a year: each partition from the one lookup of kept cells it needs (per request, see the loaders). */
const owners = (d: DecisionsRef, ctx: PlansContext) => ctx.loaders.decisionsByOwner.load(d.year);
const topics = (d: DecisionsRef, ctx: PlansContext) => ctx.loaders.decisionsByTopic.load(d.year);
/** A breakdown's cells with the year's audit (`auditedDecisions`) applied, for a caller who may not see persons. */
const audited = async (d: DecisionsRef, ctx: PlansContext, part: DecisionBreakdown, cells: ShownDecisionCell[]) =>
  seesPersons(ctx.identity) ? cells : withDecisionAudit(cells, auditedDecisions(ctx.identity, await owners(d, ctx), await topics(d, ctx)).cells[part]);

/** The `@policy` rules of the plans SDL. */
export const policies = {
  /** An application's owner decision: the application's personal-data rule, on the decision's facts. */
  application: async (ctx: PlansContext, app: unknown) => {
    const decision = await ctx.loaders.decision.load((app as { id: string }).id);
    // No decision yet: plans holds nothing about the person, the field is null for anyone signed in.
    if (!decision) return true;
    return maySeeApplication(ctx.identity, { ...decision, ownerApproved: decision.outcome === 'APPROVED' });
  },
  /** A teacher: themself, their employer, the directorate, a service, and an institution they were approved to study at. */
  teacher: async (ctx: PlansContext, parent: unknown) => {
    const t = parent as Teacher;
    const { role, org } = ctx.identity;
    // A service is a subgraph's rule (an application needs the teacher's employer): it may link records.
    if (role === 'directorate' || role === 'service') return true;
    if (role === 'teacher') return org === t.id;
    if (role === 'school-owner') return org === t.owner;
    if (role === 'institution') return ctx.loaders.approvedPair.load(`${t.id}|${org}`);
    return false;
  },
  /** An owner's staff list: the owner itself and the directorate. */
  'owner-staff': (ctx: PlansContext, parent: unknown) =>
    ctx.identity.role === 'directorate' || (ctx.identity.role === 'school-owner' && ctx.identity.org === (parent as Owner).id),
};

/** The plans resolvers, typed from the contract (`npm run codegen`). */
export const resolvers: Resolvers = {
  Query: {
    plansEvents: feedResolver((ctx: PlansContext) => ctx.store.outbox),
    schoolOwners: async (_, args, ctx) => {
      const window = pageWindow(args, OWNER_ORDER);
      const f = args.filter ?? {};
      const q = {
        kind: f.kind ?? undefined,
        county: idArg(f.county, 'filter.county'),
        search: f.search ? searchPattern(f.search, 'filter.search') : undefined,
      };
      const rows = await ctx.store.listOwners(q, window);
      for (const o of rows) ctx.loaders.owner.prime(o.id, o);
      return toConnection(rows, window, () => ctx.store.countOwners(q));
    },
    schoolOwner: (_, args, ctx) => ctx.loaders.owner.load(args.id),
    counties: (_, __, ctx) => ctx.store.counties(),
    teacher: (_, args, ctx) => ctx.loaders.teacher.load(args.id),
    ...auditQuery,
  },
  Mutation: {
    ...mutations,
    // Looks the teacher up by the id given, every time: a repeat re-keys only what an earlier run left (0 when nothing).
    eraseTeacherRecord: async (_, args, ctx) => ({
      partner: 'plans',
      records: await ctx.store.rekeyTeacher(idArg(args.teacher, 'teacher')!, erasedPseudonym()),
    }),
  },
  SchoolOwner: {
    __resolveReference: (ref, ctx) => loadByKey(ctx.loaders.owner, ref.id),
    county: (o, _, ctx) => ctx.loaders.county.load(o.county),
    teachers: async (o, args, ctx) => {
      const window = pageWindow(args, TEACHER_ORDER);
      const rows = await ctx.store.teachersOf(o.id, window);
      return toConnection(rows, window, () => ctx.loaders.teacherCount.load(o.id));
    },
    plan: (o, args, ctx) => ctx.loaders.plan.load(`${o.id}-${yearArg(args.year, 'year')}`),
    plans: (o, _, ctx) => ctx.store.plansOf(o.id),
    decisionFigures: async (o, args, ctx) => {
      const year = yearArg(args.year, 'year')!;
      // The owner's own decisions on its own teachers: for that owner and the directorate only (the
      // SDL admits their roles), whole, like `byOwner` and `Study.approvedApplications(owner:)`:
      // every owner's row, even rounded, beside a total would narrow the hidden cells of others down.
      const own = ctx.identity.role === 'school-owner' && ctx.identity.org === o.id;
      if (!own && ctx.identity.role !== 'directorate')
        throw forbidden('Only the school owner itself and the directorate see an owner’s decisions', 'decisionFigures');
      const counts = ownerCounts(await ctx.loaders.ownerDecisions.load(ownerDecisionsKey(year, o.id)));
      return shownCell(ctx.identity, o.id, counts, true);
    },
  },
  Insights: {
    __resolveReference: (ref: { year?: unknown; requirements?: unknown }): InsightsRef | null =>
      Number.isInteger(ref.year) ? { year: ref.year as number, requirements: ref.requirements } : null,
    decisions: (i) => ({ year: i.year }),
    /**
     * Teachers below the catalogue's requirements, per subject. Teachers carry no year: this is the
     * stock of teachers as held now, the same for every year asked (only the rules sent may differ).
     */
    competence: async (i, _, ctx) => shownCompetence(ctx.identity, await ctx.loaders.competence.load(requirementRules(i.requirements))),
  },
  DecisionFigures: {
    // The directorate's total is the plain sum of the owners' cells; others' needs every partition.
    total: async (d, _, ctx) => decisionTotal(ctx.identity, d.year, await owners(d, ctx), seesPersons(ctx.identity) ? [] : await topics(d, ctx)),
    bySubject: async (d, _, ctx) => audited(d, ctx, 'bySubject', topicPartitions(ctx.identity, await topics(d, ctx)).bySubject),
    byGradeBand: async (d, _, ctx) => audited(d, ctx, 'byGradeBand', topicPartitions(ctx.identity, await topics(d, ctx)).byGradeBand),
    reasons: async (d, _, ctx) => {
      const rows = topicPartitions(ctx.identity, await topics(d, ctx)).reasons;
      if (seesPersons(ctx.identity)) return rows;
      const hidden = auditedDecisions(ctx.identity, await owners(d, ctx), await topics(d, ctx)).cells.reasons.refused!;
      return rows.map((r, i) => (hidden[i] === null ? { ...r, count: null } : r));
    },
    byCounty: async (d, _, ctx) => audited(d, ctx, 'byCounty', ownerPartitions(ctx.identity, await owners(d, ctx)).byCounty),
    byOwner: async (d, _, ctx) => ownerPartitions(ctx.identity, await owners(d, ctx)).byOwner,
  },
  County: {
    __resolveReference: (ref, ctx) => loadByKey(ctx.loaders.county, ref.number),
    number: (c) => c.id,
  },
  Teacher: {
    __resolveReference: (ref, ctx) => loadByKey(ctx.loaders.teacher, ref.id),
    employer: (t, _, ctx) => ctx.loaders.owner.load(t.owner),
    teaches: (t) => t.teaches.map((x) => ({ subject: subjectRef(x.subject), gradeLevels: x.gradeLevels })),
    credits: (t) => t.credits.map((x) => ({ subject: subjectRef(x.subject), credits: x.credits })),
  },
  CompetencePlan: {
    owner: (p, _, ctx) => referenced(ctx.loaders.owner.load(p.owner), `school owner ${p.owner}`),
    priorities: (p) => p.priorities.map((x) => ({ ...x, subject: subjectRef(x.subject) })),
  },
  Application: {
    __resolveReference: (ref: { id?: unknown }) => {
      const id = keyString(ref.id);
      return id === undefined ? null : { id };
    },
    ownerDecision: (a, _, ctx) => ctx.loaders.decision.load(a.id),
  },
  Study: {
    __resolveReference: (ref: { id?: unknown }) => {
      const id = keyString(ref.id);
      return id === undefined ? null : { id };
    },
    approvedApplications: async (s, args, ctx) => {
      const owner = idArg(args.owner, 'owner');
      // One owner's approvals are its own decisions on its own teachers: shown whole to that owner
      // and the directorate, to nobody else. Others may ask only for the total over all owners:
      // given every other owner's figure, the total would give away the one that is suppressed.
      const own = ctx.identity.role === 'school-owner' && owner !== undefined && owner === ctx.identity.org;
      if (owner !== undefined && !own && !seesPersons(ctx.identity)) {
        throw forbidden('Only the school owner itself and the directorate see one owner’s approvals; others see the total over all owners.', 'owner');
      }
      const n = await ctx.loaders.approved.load(approvedKey(s.id, owner));
      return shownCount(ctx.identity, n, own || seesPersons(ctx.identity));
    },
  },
};
