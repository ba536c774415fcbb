import {
  feedResolver,
  erasedPseudonym,
  referenced,
  idArg,
  keyString,
  loadByKey,
  maySeeApplication,
  pageWindow,
  searchPattern,
  toConnection,
  yearArg,
} from '@partnerskap/kit';
import { type CatalogueContext } from './context.js';
import { fundingFigures, offerCells, requirementRules } from './insights.js';
import { auditQuery, mutations } from './mutations.js';
import { webhookMutations, webhookQueries } from './webhook-resolvers.js';
import { type Entity, type RequirementDoc, type RoundDoc, STUDY_ORDER } from './store.js';
import { type Resolvers } from './generated/resolvers.js';

/** A competence requirement as the store gives it: the parent of `CompetenceRequirement`'s resolvers. */
export type RequirementRow = Entity<RequirementDoc>;

/** An application round as the store gives it (`id` is the year): the parent of `ApplicationRound`'s resolvers. */
export type RoundRow = Entity<RoundDoc>;

/** A year's insights: the parent of `Insights`' resolvers (each figure is computed from the year). */
export interface InsightsRef {
  year: number;
}

/**
 * The `@policy` rules of the catalogue SDL. Udir's allocation carries the application's facts.
 * For an application Udir never allocated the catalogue holds nothing about the person: its
 * funding is null for any signed-in caller, exactly as for an id that does not exist.
 */
export const policies = {
  application: async (ctx: CatalogueContext, app: unknown) => {
    const allocation = await ctx.loaders.allocation.load((app as { id: string }).id);
    if (!allocation) return true;
    return maySeeApplication(ctx.identity, { ...allocation, ownerApproved: true });
  },
};

/** The year of an `Insights` reference, or undefined when it is not a plausible year (never a query operator). */
function insightsYear(value: unknown): number | undefined {
  const key = keyString(value);
  return key !== undefined && /^\d{4}$/.test(key) ? Number(key) : undefined;
}

/** The year's insights when it has an application round, else null: the round loader batches the years. */
async function insightsOf(year: number | undefined, ctx: CatalogueContext): Promise<InsightsRef | null> {
  if (year === undefined) return null;
  return (await ctx.loaders.round.load(String(year))) ? { year } : null;
}

/** The catalogue's resolvers: thin, every entity through a loader; typed from the contract (`npm run codegen`). */
export const resolvers: Resolvers = {
  Query: {
    catalogueEvents: feedResolver((ctx: CatalogueContext) => ctx.store.outbox),
    studies: async (_, args, ctx) => {
      const window = pageWindow(args, STUDY_ORDER);
      const f = args.filter ?? {};
      const q = {
        year: yearArg(f.year, 'filter.year'),
        subject: idArg(f.subject, 'filter.subject'),
        gradeBand: f.gradeBand ?? undefined,
        institution: idArg(f.institution, 'filter.institution'),
        delivery: f.delivery ?? undefined,
        status: f.status ?? undefined,
        search: f.search ? searchPattern(f.search, 'filter.search') : undefined,
      };
      const rows = await ctx.store.listStudies(q, window);
      for (const s of rows) ctx.loaders.study.prime(s.id, s);
      return toConnection(rows, window, () => ctx.store.countStudies(q));
    },
    study: (_, args, ctx) => ctx.loaders.study.load(args.id),
    subjects: (_, __, ctx) => ctx.store.subjects(),
    subject: (_, args, ctx) => ctx.loaders.subject.load(args.code),
    applicationRounds: (_, __, ctx) => ctx.store.rounds(),
    applicationRound: (_, args, ctx) => ctx.loaders.round.load(String(args.year)),
    competenceRequirements: (_, __, ctx) => ctx.loaders.requirements(),
    insights: (_, args, ctx) => insightsOf(yearArg(args.year, 'year'), ctx),
    insightsTrend: async (_, __, ctx) => (await ctx.store.rounds()).map((r) => ({ year: r.id })).sort((a, b) => a.year - b.year),
    ...auditQuery,
    ...webhookQueries,
  },
  Study: {
    __resolveReference: (ref, ctx) => loadByKey(ctx.loaders.study, ref.id),
    subject: (s, _, ctx) => ctx.loaders.subject.load(s.subject),
    institution: (s) => ({ orgNumber: s.institution }),
  },
  Subject: {
    __resolveReference: (ref, ctx) => loadByKey(ctx.loaders.subject, ref.code),
    code: (s) => s.id,
    priority: (s, args) => s.priorityYears.includes(args.year),
    requirements: async (s, _, ctx) => (await ctx.loaders.requirements()).filter((r) => r.subject === s.id),
  },
  CompetenceRequirement: {
    subject: (r, _, ctx) => referenced(ctx.loaders.subject.load(r.subject), `subject ${r.subject}`),
  },
  Insights: {
    __resolveReference: (ref, ctx) => insightsOf(insightsYear(ref.year), ctx),
    offers: async (i, _, ctx) => offerCells((await ctx.loaders.yearGroups.load(i.year)).offers),
    funding: async (i, _, ctx) => fundingFigures((await ctx.loaders.yearGroups.load(i.year)).allocations, ctx.identity, ctx.insights),
    requirements: async (i, _, ctx) => requirementRules(await ctx.loaders.requirements(), i.year),
  },
  ApplicationRound: {
    __resolveReference: (ref, ctx) => loadByKey(ctx.loaders.round, ref.year),
    year: (r) => r.id,
  },
  Mutation: {
    ...mutations,
    ...webhookMutations,
    // Looks the teacher up by the id given, every time: a repeat re-keys only what an earlier run left (0 when nothing).
    eraseTeacherAllocations: async (_, args, ctx) => ({
      partner: 'catalogue',
      records: await ctx.store.rekeyTeacher(idArg(args.teacher, 'teacher')!, erasedPseudonym()),
    }),
  },
  Application: {
    __resolveReference: (ref) => {
      const id = keyString(ref.id);
      return id === undefined ? null : { id };
    },
    funding: (a, _, ctx) => ctx.loaders.allocation.load(a.id),
  },
};
