import { MIN_SHOWN_COUNT, keyString, pageWindow, seesPersons, toConnection } from '@partnerskap/kit';
import { type RatingSummary } from './store.js';
import { type FeedbackContext } from './context.js';

type Page = { first?: number | null; after?: string | null };
const ref = (value: unknown) => {
  const id = keyString(value);
  return id === undefined ? null : { id };
};

/** A rating summary as a caller may see it: unions and the directorate see all, others nothing over fewer than 5 answers. */
function shown(ctx: FeedbackContext, summary: RatingSummary | null): RatingSummary | null {
  if (!summary || ctx.identity.role === 'union' || seesPersons(ctx.identity)) return summary;
  const small = (n: number | null) => n !== null && n > 0 && n < MIN_SHOWN_COUNT;
  return {
    ...summary,
    count: small(summary.count) ? null : summary.count,
    average: small(summary.count) ? null : summary.average,
    byTopic: summary.byTopic.map((t) => (small(t.count) ? { ...t, count: null, average: null } : t)),
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
  },
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
