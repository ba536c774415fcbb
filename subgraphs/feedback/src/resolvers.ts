import {
  feedResolver,
  keyString,
  type withId,
  pageWindow,
  referenced,
  protectPartitions,
  seesPersons,
  shownAverage,
  shownTotalOver,
  toConnection,
} from '@partnerskap/kit';
import { FEEDBACK_ORDER, type RatingSummary, type StatementDoc, type YearRatings, STATEMENT_ORDER } from './store.js';
import { type FeedbackContext } from './context.js';
import { type Resolvers } from './generated/resolvers.js';
import { auditQuery, mutations } from './mutations.js';

/** A statement as the store gives it (`id` for `_id`): the parent of `Statement`'s resolvers. */
export type StatementRow = ReturnType<typeof withId<StatementDoc>>;

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
function shown(ctx: FeedbackContext, summary: RatingSummary) {
  const whole = ctx.identity.role === 'union' || seesPersons(ctx.identity);
  const view = (s: { count: number; sum: number; cells: number[][] }) => ({
    count: whole ? s.count : shownTotalOver(ctx.identity, s.cells),
    average: shownAverage(s.sum, s.count, whole),
  });
  return { ...view(summary), byTopic: summary.byTopic.map((t) => ({ topic: t.topic, ...view(t) })) };
}

/** {@link shown}, or null when nothing was rated. */
const shownOrNull = (ctx: FeedbackContext, summary: RatingSummary | null) => (summary ? shown(ctx, summary) : null);

/**
 * A year's ratings as a caller may see them: {@link shown} for each summary, and for a caller who
 * may not see the answers the audit of `protectPartitions` over the year's studies and counties,
 * per count (all answers, each topic's): where the two would pin a count through the year's total,
 * the counties' counts are hidden with the total, and their averages with them.
 */
function yearView(ctx: FeedbackContext, figures: YearRatings) {
  const keyed = (s: RatingSummary) => ({ key: s.key, rating: shown(ctx, s) });
  const overall = shown(ctx, figures.overall);
  const bySubject = figures.bySubject.map(keyed);
  const byCounty = figures.byCounty.map(keyed);
  if (ctx.identity.role === 'union' || seesPersons(ctx.identity)) return { overall, bySubject, byCounty };
  const audit = protectPartitions(ctx.identity, figures.overall.cells);
  overall.count = audit.total;
  byCounty.forEach((c, j) => {
    if (audit.partitions[1]?.[j] === null) Object.assign(c.rating, { count: null, average: null });
  });
  figures.overall.byTopic.forEach((t, i) => {
    const topic = protectPartitions(ctx.identity, t.cells);
    overall.byTopic[i]!.count = topic.total;
    // The topic's county cells are the counties that rated it, in county order.
    const rated = byCounty.flatMap((c) => c.rating.byTopic.filter((x) => x.topic === t.topic));
    rated.forEach((x, j) => {
      if (topic.partitions[1]?.[j] === null) Object.assign(x, { count: null, average: null });
    });
  });
  return { overall, bySubject, byCounty };
}

/** The feedback resolvers, typed from the contract (`npm run codegen`). */
export const resolvers: Resolvers = {
  Query: {
    feedbackEvents: feedResolver((ctx: FeedbackContext) => ctx.store.outbox),
    statements: async (_, args, ctx) => {
      const window = pageWindow(args, STATEMENT_ORDER);
      return toConnection(await ctx.store.statements(window), window, () => ctx.store.countStatements());
    },
    unions: (_, __, ctx) => ctx.store.unions(),
    ...auditQuery,
  },
  Mutation: mutations,
  Feedback: {
    union: (f, _, ctx) => referenced(ctx.loaders.union.load(f.union), `union ${f.union}`),
  },
  Statement: {
    union: (s, _, ctx) => referenced(ctx.loaders.union.load(s.union), `union ${s.union}`),
  },
  Study: {
    __resolveReference: (r) => ref(r.id),
    rating: async (s, _, ctx) => shownOrNull(ctx, await ctx.loaders.studyRating.load(s.id)),
    feedback: async (s, args, ctx) => {
      const window = pageWindow(args, FEEDBACK_ORDER);
      // The count is the study's rating cell's, batched with the page's other studies' (one read for all).
      return toConnection(await ctx.store.feedbackOn(s.id, window), window, async () => (await ctx.loaders.studyRating.load(s.id))?.count ?? 0);
    },
  },
  Subject: {
    __resolveReference: (r) => {
      const code = keyString(r.code);
      return code === undefined ? null : { code };
    },
    rating: async (s, _, ctx) => shownOrNull(ctx, await ctx.loaders.subjectRating.load(s.code)),
  },
  Insights: {
    __resolveReference: (r) => (typeof r.year === 'number' && Number.isSafeInteger(r.year) ? { year: r.year } : null),
    ratings: async (i, _, ctx) => {
      return yearView(ctx, (await ctx.loaders.yearRatings.load(String(i.year)))!);
    },
  },
};
