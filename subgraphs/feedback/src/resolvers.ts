import { feedResolver, keyString, pageWindow, protectPartitions, seesPersons, shownAverage, shownTotalOver, toConnection } from '@partnerskap/kit';
import { FEEDBACK_ORDER, type RatingSummary, type YearRatings, STATEMENT_ORDER } from './store.js';
import { type FeedbackContext } from './context.js';
import { auditQuery, mutations } from './mutations.js';

type Page = { first?: number | null; after?: string | null };
const ref = (value: unknown) => {
  const id = keyString(value);
  return id === undefined ? null : { id };
};

/**
 * A rating summary as a caller may see it: unions and the directorate see it whole (they see the
 * answers), averages to two decimals. For others a count is the sum of its studies' counts as
 * shown (suppressed when 1 to 4, otherwise rounded to base 5), hidden as soon as one of them or,
 * for a year's, one county's is (else the total minus the shown ones would give the hidden one
 * away); averages only over 5 or more answers, banded to the nearest 0.5 (so that no average pins
 * a count: `shownAverage`).
 */
function shown(ctx: FeedbackContext, summary: RatingSummary | null) {
  if (!summary) return null;
  const whole = ctx.identity.role === 'union' || seesPersons(ctx.identity);
  const view = (s: { count: number; sum: number; cells: number[][] }) => ({
    count: whole ? s.count : shownTotalOver(ctx.identity, s.cells),
    average: shownAverage(s.sum, s.count, whole),
  });
  return { ...view(summary), byTopic: summary.byTopic.map((t) => ({ topic: t.topic, ...view(t) })) };
}

/**
 * A year's ratings as a caller may see them: {@link shown} for each summary, and for a caller who
 * may not see the answers the audit of `protectPartitions` over the year's studies and counties,
 * per count (all answers, each topic's): where the two would pin a count through the year's total,
 * the counties' counts are hidden with the total, and their averages with them.
 */
function yearView(ctx: FeedbackContext, figures: YearRatings) {
  const keyed = (s: RatingSummary) => ({ key: s.key, rating: shown(ctx, s) });
  const overall = shown(ctx, figures.overall)!;
  const bySubject = figures.bySubject.map(keyed);
  const byCounty = figures.byCounty.map(keyed);
  if (ctx.identity.role === 'union' || seesPersons(ctx.identity)) return { overall, bySubject, byCounty };
  const audit = protectPartitions(ctx.identity, figures.overall.cells);
  overall.count = audit.total;
  byCounty.forEach((c, j) => {
    if (audit.partitions[1]?.[j] === null) Object.assign(c.rating!, { count: null, average: null });
  });
  figures.overall.byTopic.forEach((t, i) => {
    const topic = protectPartitions(ctx.identity, t.cells);
    overall.byTopic[i]!.count = topic.total;
    // The topic's county cells are the counties that rated it, in county order.
    const rated = byCounty.flatMap((c) => c.rating!.byTopic.filter((x) => x.topic === t.topic));
    rated.forEach((x, j) => {
      if (topic.partitions[1]?.[j] === null) Object.assign(x, { count: null, average: null });
    });
  });
  return { overall, bySubject, byCounty };
}

/** The feedback resolvers. */
export const resolvers = {
  Query: {
    feedbackEvents: feedResolver((ctx: FeedbackContext) => ctx.store.outbox),
    statements: async (_: unknown, args: Page, ctx: FeedbackContext) => {
      const window = pageWindow(args, STATEMENT_ORDER);
      return toConnection(await ctx.store.statements(window), window, () => ctx.store.countStatements());
    },
    unions: (_: unknown, __: unknown, ctx: FeedbackContext) => ctx.store.unions(),
    ...auditQuery,
  },
  Mutation: mutations,
  Feedback: {
    union: (f: { union: string }, _: unknown, ctx: FeedbackContext) => ctx.loaders.union.load(f.union),
  },
  Statement: {
    union: (s: { union: string }, _: unknown, ctx: FeedbackContext) => ctx.loaders.union.load(s.union),
  },
  Study: {
    __resolveReference: (r: { id?: unknown }) => ref(r.id),
    rating: async (s: { id: string }, _: unknown, ctx: FeedbackContext) => shown(ctx, await ctx.loaders.studyRating.load(s.id)),
    feedback: async (s: { id: string }, args: Page, ctx: FeedbackContext) => {
      const window = pageWindow(args, FEEDBACK_ORDER);
      // The count is the study's rating cell's, batched with the page's other studies' (one read for all).
      return toConnection(await ctx.store.feedbackOn(s.id, window), window, async () => (await ctx.loaders.studyRating.load(s.id))?.count ?? 0);
    },
  },
  Subject: {
    __resolveReference: (r: { code?: unknown }) => {
      const code = keyString(r.code);
      return code === undefined ? null : { code };
    },
    rating: async (s: { code: string }, _: unknown, ctx: FeedbackContext) => shown(ctx, await ctx.loaders.subjectRating.load(s.code)),
  },
  Insights: {
    __resolveReference: (r: { year?: unknown }) => (typeof r.year === 'number' && Number.isSafeInteger(r.year) ? { year: r.year } : null),
    ratings: async (i: { year: number }, _: unknown, ctx: FeedbackContext) => {
      return yearView(ctx, (await ctx.loaders.yearRatings.load(String(i.year)))!);
    },
  },
};
