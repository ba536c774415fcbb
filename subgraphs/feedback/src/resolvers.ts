import { MIN_SHOWN_COUNT, keyString, pageWindow, seesPersons, shownTotal, toConnection } from '@partnerskap/kit';
import { type RatingSummary } from './store.js';
import { type FeedbackContext } from './context.js';
import { auditQuery, mutations } from './mutations.js';

type Page = { first?: number | null; after?: string | null };
const ref = (value: unknown) => {
  const id = keyString(value);
  return id === undefined ? null : { id };
};

/**
 * A rating summary as a caller may see it: unions and the directorate see it whole (they see the
 * answers). Others get counts suppressed when 1 to 4 and otherwise rounded to base 5, a subject's
 * count only when none of its studies' counts is suppressed (else the subject's total minus its
 * studies' counts would give the hidden one away), and averages only over 5 or more answers, to
 * one decimal.
 */
function shown(ctx: FeedbackContext, summary: RatingSummary | null): RatingSummary | null {
  const whole = ctx.identity.role === 'union' || seesPersons(ctx.identity);
  if (!summary || whole) return summary;
  const average = (avg: number | null, count: number | null) =>
    count !== null && count >= MIN_SHOWN_COUNT && avg !== null ? Math.round(avg * 10) / 10 : null;
  return {
    ...summary,
    count: shownTotal(ctx.identity, summary.cells),
    average: average(summary.average, summary.count),
    byTopic: summary.byTopic.map((t) => ({ ...t, count: shownTotal(ctx.identity, t.cells), average: average(t.average, t.count) })),
  };
}

/** The feedback resolvers. */
export const resolvers = {
  Query: {
    statements: async (_: unknown, args: Page, ctx: FeedbackContext) => {
      const window = pageWindow(args);
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
      const window = pageWindow(args);
      return toConnection(await ctx.store.feedbackOn(s.id, window), window, () => ctx.store.countFeedbackOn(s.id));
    },
  },
  Subject: {
    __resolveReference: (r: { code?: unknown }) => {
      const code = keyString(r.code);
      return code === undefined ? null : { code };
    },
    rating: async (s: { code: string }, _: unknown, ctx: FeedbackContext) => shown(ctx, await ctx.loaders.subjectRating.load(s.code)),
  },
};
