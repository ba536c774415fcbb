import { randomBytes } from 'node:crypto';
import {
  ErrorCode,
  auditEntry,
  idempotencyOf,
  idempotent,
  auditView,
  badUserInput,
  forbidden,
  intArg,
  isStudyId,
  pageWindow,
  refused,
  requiredId,
  textArg,
} from '@partnerskap/kit';
import { type MutationResolvers, type QueryResolvers } from './generated/resolvers.js';
import { type FeedbackDoc } from './store.js';
import { type Participation, participantOf } from './events.js';

/** The feedback mutations. */
export const mutations: MutationResolvers = {
  giveFeedback: (_, { input, idempotencyKey }, ctx) =>
    idempotent(
      ctx.store,
      idempotencyOf(ctx.identity, 'giveFeedback', idempotencyKey, input, async (id) => (await ctx.store.feedbackById(id))!),
      async (idempotency) => {
        const study = requiredId(input.study, 'input.study');
        // An id no offer can have is refused here; a well-shaped one the teacher did not take part in is MISSING_DECISION
        // below (whether it names an offer at all only the catalogue knows, and this write asks only admissions).
        if (!isStudyId(study)) throw badUserInput('input.study names no study offer', 'input.study');
        const rating = intArg(input.rating, 'input.rating', 1, 5);
        const seen = new Set<string>();
        const topics = input.topics.map((t, i) => {
          if (seen.has(t.topic)) throw badUserInput('Each topic at most once', `input.topics.${i}.topic`);
          seen.add(t.topic);
          return { topic: t.topic, rating: intArg(t.rating, `input.topics.${i}.rating`, 1, 5) };
        });
        const comment = input.comment ? textArg(input.comment, 'input.comment', 1, 2000) : null;
        const union = requiredId(input.union, 'input.union');
        if (!(await ctx.loaders.union.load(union))) throw badUserInput(`There is no union ${union} in the partnership`, 'input.union');
        const teacher = ctx.identity.org!;
        // Whether the teacher took part: admissions' enrolments as feedback keeps them (from its events), under the
        // participant hash only, so feedback never holds who took part.
        const participant = participantOf(teacher, study);
        const took = await ctx.projections.get<Participation>('application', participant);
        if (!took)
          throw refused(
            ErrorCode.MISSING_DECISION,
            'Only a teacher who took part in the study (enrolled, as the institution recorded) can give feedback on it',
            'input.study',
          );
        const now = ctx.clock.now();
        const doc: FeedbackDoc = {
          _id: `f-${randomBytes(8).toString('hex')}`,
          study,
          subject: took.subject,
          gradeBand: took.gradeBand,
          year: took.year,
          county: took.county,
          owner: took.owner,
          rating,
          topics,
          comment,
          union,
          givenAt: now,
          participant,
        };
        // Feedback is anonymous: its audit line names the role, not the teacher.
        return ctx.store.insertFeedback(doc, auditEntry({ role: 'teacher' }, now, 'giveFeedback', doc._id, union, { study, rating }), idempotency);
      },
    ),

  // GDPR erasure: the hash cannot be reversed, so the teacher's is looked for on every study that has
  // linked feedback; a repeat finds none left and answers 0.
  eraseTeacherFeedback: async (_, args, ctx) => {
    const teacher = requiredId(args.teacher, 'teacher');
    const hashes = (await ctx.store.participantStudies()).map((study) => participantOf(teacher, study));
    // Its copy of admissions' enrolments links the teacher's hash to studies too: those rows go (admissions' erasure event brings the new ones).
    const kept = (await ctx.projections.collection.distinct('data.study', { kind: 'application' })) as string[];
    await ctx.projections.collection.deleteMany({ _id: { $in: kept.map((study) => `application|${participantOf(teacher, study)}`) } });
    return { partner: 'feedback', records: await ctx.store.unlinkParticipants(hashes) };
  },

  publishStatement: (_, { input, idempotencyKey }, ctx) =>
    idempotent(
      ctx.store,
      idempotencyOf(ctx.identity, 'publishStatement', idempotencyKey, input, async (id) => (await ctx.store.statementById(id))!),
      async (idempotency) => {
        const union = ctx.identity.org!;
        if (!(await ctx.loaders.union.load(union))) throw forbidden('Only a union of the partnership publishes statements', 'input');
        const now = ctx.clock.now();
        const doc = {
          _id: `s-${randomBytes(8).toString('hex')}`,
          union,
          topic: input.topic,
          title: textArg(input.title, 'input.title', 3, 200),
          body: textArg(input.body, 'input.body', 1, 10_000),
          publishedAt: now,
        };
        return ctx.store.insertStatement(doc, auditEntry(ctx.identity, now, 'publishStatement', doc._id, union, { topic: doc.topic }), idempotency);
      },
    ),
};

/** The feedback audit trail. */
export const auditQuery: QueryResolvers = {
  feedbackAudit: async (_, args, ctx) => (await ctx.store.auditLines(ctx.identity, pageWindow(args).limit)).map(auditView),
};
