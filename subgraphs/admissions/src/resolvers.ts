import {
  feedResolver,
  ErrorCode,
  type Identity,
  erasedPseudonym,
  idArg,
  keyString,
  loadByKey,
  maySeeApplication,
  pageWindow,
  shownCount,
  toConnection,
  yearArg,
} from '@partnerskap/kit';
import { GraphQLError } from 'graphql';
import { type AdmissionsContext } from './context.js';
import { insightsResolvers } from './insights.js';
import { applicationStatus, auditQuery, mutations } from './mutations.js';
import { APPLICATION_ORDER, type Application, type ApplicationQuery } from './store.js';
import { type Resolvers } from './generated/resolvers.js';

/**
 * An application as admissions resolves it: its record, and the partners' decisions the query
 * plan brought for `status` (`@requires`) when it did.
 */
export type ApplicationParent = Application & Partial<StatusInputs>;

/** What `status` needs of the other partners (plans' and the catalogue's fields, as the plan brings them). */
type StatusInputs = Pick<Parameters<typeof applicationStatus>[0], 'ownerDecision' | 'funding'>;

/** A study as admissions resolves it: its id, and the catalogue's places when the query plan brought them. */
export interface StudyRef {
  id: string;
  places?: number;
}

const figures = async (s: StudyRef, ctx: AdmissionsContext) => (await ctx.loaders.studyFigures.load(s.id)) ?? { applicants: 0, admitted: 0, waitlisted: 0 };

/** The applications a caller may list: the personal-data rule as a filter, so a page never holds one they may not see. */
function visibleTo(identity: Identity): ApplicationQuery {
  switch (identity.role) {
    case 'directorate':
    case 'service':
      return {};
    case 'institution':
      return { institution: identity.org, ownerApproved: true };
    case 'school-owner':
      return { owner: identity.org };
    case 'teacher':
      return { teacher: identity.org };
    default:
      throw new GraphQLError('Applications are personal data: unions and the public see aggregates only', { extensions: { code: ErrorCode.FORBIDDEN } });
  }
}

/** The `@policy` rules of the admissions SDL. */
export const policies = {
  application: (ctx: AdmissionsContext, app: unknown) => maySeeApplication(ctx.identity, app as Application),
  /**
   * A teacher seen from admissions, by the same rule as in plans: themself, their owner, the
   * directorate, an institution they were approved to study at. With no applications held there
   * is nothing to hide.
   */
  teacher: async (ctx: AdmissionsContext, teacher: unknown) => {
    const apps = await ctx.loaders.teacherApplications.load((teacher as { id: string }).id);
    if (apps.length === 0) return true;
    return apps.some((a) => maySeeApplication(ctx.identity, a));
  },
};

/** The admissions resolvers, typed from the contract (`npm run codegen`). */
export const resolvers: Resolvers = {
  Query: {
    admissionsEvents: feedResolver((ctx: AdmissionsContext) => ctx.store.outbox),
    institutions: (_, __, ctx) => ctx.store.institutions(),
    institution: (_, args, ctx) => ctx.loaders.institution.load(args.orgNumber),
    applications: async (_, args, ctx) => {
      const window = pageWindow(args, APPLICATION_ORDER);
      const f = args.filter ?? {};
      const q = {
        year: yearArg(f.year, 'filter.year'),
        study: idArg(f.study, 'filter.study'),
        subject: idArg(f.subject, 'filter.subject'),
        gradeBand: f.gradeBand ?? undefined,
        institution: idArg(f.institution, 'filter.institution'),
        owner: idArg(f.schoolOwner, 'filter.schoolOwner'),
        county: idArg(f.county, 'filter.county'),
        admission: f.admission ?? undefined,
      };
      const rows = await ctx.store.listApplications({ ...q, ...visibleTo(ctx.identity) }, window);
      for (const a of rows) ctx.loaders.application.prime(a.id, a);
      return toConnection(rows, window, () => ctx.store.countApplications({ ...q, ...visibleTo(ctx.identity) }));
    },
    application: (_, args, ctx) => ctx.loaders.application.load(args.id),
    ...auditQuery,
  },
  Institution: {
    __resolveReference: (ref, ctx) => loadByKey(ctx.loaders.institution, ref.orgNumber),
    orgNumber: (i) => i.id,
  },
  Application: {
    __resolveReference: async (ref, ctx) => {
      const app = await loadByKey(ctx.loaders.application, ref.id);
      // The partners' decisions the plan brought for `status` (@requires) travel with the record.
      if (!app || !('ownerDecision' in ref || 'funding' in ref)) return app;
      return { ...app, ownerDecision: ref.ownerDecision, funding: ref.funding };
    },
    teacher: (a) => ({ id: a.teacher }),
    study: (a) => ({ id: a.study }),
    schoolOwner: (a) => ({ id: a.owner }),
    withdrawnAt: (a) => a.withdrawnAt ?? null,
    status: (a) => {
      // Computed only from inputs the plan brought: never from missing ones.
      if (!('ownerDecision' in a) || !('funding' in a)) {
        throw new GraphQLError('The status needs the owner’s and Udir’s decisions, which could not be read', {
          extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE },
        });
      }
      return applicationStatus(a);
    },
  },
  Teacher: {
    __resolveReference: (ref) => {
      const id = keyString(ref.id);
      return id === undefined ? null : { id };
    },
    applications: async (t, _, ctx) => (await ctx.loaders.teacherApplications.load(t.id)).filter((a) => maySeeApplication(ctx.identity, a)),
  },
  Mutation: {
    ...mutations,
    // Looks the teacher up by the id given, every time: a repeat re-keys only what an earlier run left (0 when nothing).
    eraseTeacherApplications: async (_, args, ctx) => ({
      partner: 'admissions',
      records: await ctx.store.rekeyTeacher(idArg(args.teacher, 'teacher')!, erasedPseudonym(), ctx.clock.now()),
    }),
  },
  Study: {
    __resolveReference: (ref: { id?: unknown; places?: unknown }): StudyRef | null => {
      const id = keyString(ref.id);
      if (id === undefined) return null;
      return typeof ref.places === 'number' ? { id, places: ref.places } : { id };
    },
    // Moving here from the catalogue (progressive @override): the offer's credits as admissions keeps them from the catalogue's events.
    credits: async (s, _, ctx) => (await ctx.loaders.offer.load(s.id))?.credits ?? null,
    applicants: async (s, _, ctx) => shownCount(ctx.identity, (await figures(s, ctx)).applicants),
    admitted: async (s, _, ctx) => shownCount(ctx.identity, (await figures(s, ctx)).admitted),
    waitlisted: async (s, _, ctx) => shownCount(ctx.identity, (await figures(s, ctx)).waitlisted),
    // places - vacantSeats = admitted: vacant seats come from the admitted count as shown (hidden or rounded).
    vacantSeats: async (s, _, ctx) => {
      const admitted = shownCount(ctx.identity, (await figures(s, ctx)).admitted);
      return admitted === null ? null : Math.max(0, (s.places ?? 0) - admitted);
    },
  },
  ...insightsResolvers,
};
