import { keyString, pageWindow, toConnection } from '@partnerskap/kit';
import { type FeedbackContext } from './context.js';

type Page = { first?: number | null; after?: string | null };
const ref = (value: unknown) => {
  const id = keyString(value);
  return id === undefined ? null : { id };
};

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
    rating: (s: { id: string }, _: unknown, ctx: FeedbackContext) => ctx.loaders.studyRating.load(s.id),
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
    rating: (s: { code: string }, _: unknown, ctx: FeedbackContext) => ctx.loaders.subjectRating.load(s.code),
  },
};
