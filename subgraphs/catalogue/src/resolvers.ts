import { feedResolver, erasedPseudonym, idArg, keyString, loadByKey, maySeeApplication, pageWindow, searchPattern, toConnection, yearArg } from '@partnerskap/kit';
import { type CatalogueContext } from './context.js';
import { fundingFigures, offerCells, requirementRules } from './insights.js';
import { auditQuery, mutations } from './mutations.js';
import { webhookMutations, webhookQueries } from './webhook-resolvers.js';
import { type Entity, type RequirementDoc, STUDY_ORDER, type Study, type Subject } from './store.js';

interface StudyFilterInput {
  year?: number | null;
  subject?: string | null;
  gradeBand?: string | null;
  institution?: string | null;
  delivery?: string | null;
  status?: string | null;
  search?: string | null;
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
async function insightsOf(year: number | undefined, ctx: CatalogueContext): Promise<{ year: number } | null> {
  if (year === undefined) return null;
  return (await ctx.loaders.round.load(String(year))) ? { year } : null;
}

/** The catalogue's resolvers: thin, every entity through a loader. */
export const resolvers = {
  Query: {
    catalogueEvents: feedResolver((ctx: CatalogueContext) => ctx.store.outbox),
    studies: async (_: unknown, args: { filter?: StudyFilterInput | null; first?: number | null; after?: string | null }, ctx: CatalogueContext) => {
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
    study: (_: unknown, args: { id: string }, ctx: CatalogueContext) => ctx.loaders.study.load(args.id),
    subjects: (_: unknown, __: unknown, ctx: CatalogueContext) => ctx.store.subjects(),
    subject: (_: unknown, args: { code: string }, ctx: CatalogueContext) => ctx.loaders.subject.load(args.code),
    applicationRounds: (_: unknown, __: unknown, ctx: CatalogueContext) => ctx.store.rounds(),
    applicationRound: (_: unknown, args: { year: number }, ctx: CatalogueContext) => ctx.loaders.round.load(String(args.year)),
    competenceRequirements: (_: unknown, __: unknown, ctx: CatalogueContext) => ctx.loaders.requirements(),
    insights: (_: unknown, args: { year: number }, ctx: CatalogueContext) => insightsOf(yearArg(args.year, 'year'), ctx),
    insightsTrend: async (_: unknown, __: unknown, ctx: CatalogueContext) =>
      (await ctx.store.rounds()).map((r) => ({ year: r.id })).sort((a, b) => a.year - b.year),
    ...auditQuery,
    ...webhookQueries,
  },
  Study: {
    __resolveReference: (ref: { id?: unknown }, ctx: CatalogueContext) => loadByKey(ctx.loaders.study, ref.id),
    subject: (s: Study, _: unknown, ctx: CatalogueContext) => ctx.loaders.subject.load(s.subject),
    institution: (s: Study) => ({ orgNumber: s.institution }),
  },
  Subject: {
    __resolveReference: (ref: { code?: unknown }, ctx: CatalogueContext) => loadByKey(ctx.loaders.subject, ref.code),
    code: (s: Subject) => s.id,
    priority: (s: Subject, args: { year: number }) => s.priorityYears.includes(args.year),
    requirements: async (s: Subject, _: unknown, ctx: CatalogueContext) =>
      (await ctx.loaders.requirements()).filter((r) => r.subject === s.id),
  },
  CompetenceRequirement: {
    subject: (r: Entity<RequirementDoc>, _: unknown, ctx: CatalogueContext) => ctx.loaders.subject.load(r.subject),
  },
  Insights: {
    __resolveReference: (ref: { year?: unknown }, ctx: CatalogueContext) => insightsOf(insightsYear(ref.year), ctx),
    offers: async (i: { year: number }, _: unknown, ctx: CatalogueContext) => offerCells((await ctx.loaders.yearGroups.load(i.year)).offers),
    funding: async (i: { year: number }, _: unknown, ctx: CatalogueContext) =>
      fundingFigures((await ctx.loaders.yearGroups.load(i.year)).allocations, ctx.identity, ctx.insights),
    requirements: async (i: { year: number }, _: unknown, ctx: CatalogueContext) => requirementRules(await ctx.loaders.requirements(), i.year),
  },
  ApplicationRound: {
    __resolveReference: (ref: { year?: unknown }, ctx: CatalogueContext) => loadByKey(ctx.loaders.round, ref.year),
    year: (r: { id: number }) => r.id,
  },
  Mutation: {
    ...mutations,
    ...webhookMutations,
    // Looks the teacher up by the id given, every time: a repeat re-keys only what an earlier run left (0 when nothing).
    eraseTeacherAllocations: async (_: unknown, args: { teacher: string }, ctx: CatalogueContext) =>
      ({ partner: 'catalogue', records: await ctx.store.rekeyTeacher(idArg(args.teacher, 'teacher')!, erasedPseudonym()) }),
  },
  Application: {
    __resolveReference: (ref: { id?: unknown }) => {
      const id = keyString(ref.id);
      return id === undefined ? null : { id };
    },
    funding: (a: { id: string }, _: unknown, ctx: CatalogueContext) => ctx.loaders.allocation.load(a.id),
  },
};
