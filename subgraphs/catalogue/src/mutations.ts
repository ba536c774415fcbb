import {
  ErrorCode,
  type ApplicationState,
  type DecisionState,
  type InstitutionState,
  type RoundDates,
  auditEntry,
  auditView,
  badUserInput,
  checkWindow,
  idempotencyOf,
  idempotent,
  intArg,
  notFound,
  osloDate,
  pageWindow,
  refused,
  requiredId,
  textArg,
  yearArg,
} from '@partnerskap/kit';
import { type CatalogueContext } from './context.js';
import { type MutationResolvers, type QueryResolvers } from './generated/resolvers.js';
import { type RoundDoc, type StudyDoc } from './store.js';

/** The organisation of the catalogue's records in its audit trail. */
const UDIR = 'udir';

const ROUND_ORDER = ['opens', 'teacherDeadline', 'ownerDeadline', 'allocationDeadline', 'admissionDeadline', 'confirmationDeadline'] as const;

async function round(ctx: CatalogueContext, year: number): Promise<RoundDates | null> {
  const r = await ctx.loaders.round.load(String(year));
  return r ? { ...r, year: r.id } : null;
}

/** Studies can be published or changed until the teachers' deadline of their round (any time before the round exists). */
async function checkCatalogueOpen(ctx: CatalogueContext, year: number, field: string): Promise<void> {
  const r = await round(ctx, year);
  if (r && osloDate(ctx.clock.now()) > r.teacherDeadline) {
    throw refused(ErrorCode.DEADLINE_PASSED, `The ${year} catalogue is closed: teachers applied by ${r.teacherDeadline}`, field);
  }
}

/** The institution's campuses as the catalogue keeps them (admissions' institutions, seeded and repaired); null when there is no such institution. */
async function campusesOf(ctx: CatalogueContext, institution: string): Promise<string[] | null> {
  return (await ctx.projections.get<InstitutionState>('institution', institution))?.campuses ?? null;
}

/** An offer's credits: 15, 30, 45 or 60 (half-year modules to two years). */
function creditsArg(credits: number): number {
  if (![15, 30, 45, 60].includes(credits)) throw badUserInput('input.credits must be 15, 30, 45 or 60', 'input.credits');
  return credits;
}

/** The catalogue's mutations. */
export const mutations: MutationResolvers = {
  publishStudy: (_, { input, idempotencyKey }, ctx) =>
    idempotent(
      ctx.store,
      idempotencyOf(ctx.identity, 'publishStudy', idempotencyKey, input, async (id) => (await ctx.loaders.study.load(id))!),
      async (idempotency) => {
        const code = input.code.trim().toUpperCase();
        if (!/^[A-Z0-9]{4,20}$/.test(code)) throw badUserInput('input.code must be 4 to 20 letters and digits', 'input.code');
        const year = yearArg(input.year, 'input.year')!;
        const doc: StudyDoc = {
          _id: `${code}-${year}`,
          code,
          name: textArg(input.name, 'input.name', 3, 200),
          subject: requiredId(input.subject, 'input.subject'),
          gradeBand: input.gradeBand,
          credits: creditsArg(input.credits),
          level: input.level,
          institution: requiredId(input.institution, 'input.institution'),
          campus: textArg(input.campus, 'input.campus', 2, 100),
          delivery: input.delivery,
          gatherings: input.gatherings === null || input.gatherings === undefined ? null : intArg(input.gatherings, 'input.gatherings', 0, 20),
          semesters: intArg(input.semesters, 'input.semesters', 1, 6),
          startTerm: `${year} autumn`,
          year,
          places: intArg(input.places, 'input.places', 1, 1000),
          status: 'OFFERED',
        };
        // References are checked before anything is stored: the subject is the catalogue's own, the institution admissions'.
        if (!(await ctx.loaders.subject.load(doc.subject))) throw badUserInput('input.subject names no subject of the catalogue', 'input.subject');
        await checkCatalogueOpen(ctx, year, 'input.year');
        const campuses = await campusesOf(ctx, doc.institution);
        if (!campuses) throw badUserInput('input.institution names no institution of the partnership', 'input.institution');
        if (!campuses.includes(doc.campus)) throw badUserInput(`The institution has no campus "${doc.campus}" (it has ${campuses.join(', ')})`, 'input.campus');
        return ctx.store.insertStudy(
          doc,
          auditEntry(ctx.identity, ctx.clock.now(), 'publishStudy', doc._id, UDIR, { code, year, places: doc.places }),
          idempotency,
        );
      },
    ),

  updateStudy: async (_, args, ctx) => {
    const id = requiredId(args.id, 'id');
    const study = await ctx.loaders.study.load(id);
    if (!study) throw notFound(`There is no study offer ${id}`, 'id');
    if (study.status === 'CANCELLED') throw refused(ErrorCode.INVALID_STATE, 'The offer is cancelled and can no longer change', 'id');
    const set: Partial<StudyDoc> = {};
    const i = args.input;
    if (i.name != null) set.name = textArg(i.name, 'input.name', 3, 200);
    if (i.campus != null) set.campus = textArg(i.campus, 'input.campus', 2, 100);
    if (i.places != null) set.places = intArg(i.places, 'input.places', 1, 1000);
    if (i.delivery != null) set.delivery = i.delivery;
    if (i.gatherings !== undefined) set.gatherings = i.gatherings === null ? null : intArg(i.gatherings, 'input.gatherings', 0, 20);
    if (Object.keys(set).length === 0) throw badUserInput('input changes nothing', 'input');
    await checkCatalogueOpen(ctx, study.year, 'id');
    if (set.campus !== undefined && !(await campusesOf(ctx, study.institution))?.includes(set.campus)) {
      throw badUserInput(`The institution has no campus "${set.campus}"`, 'input.campus');
    }
    return ctx.store.updateStudy(id, set, auditEntry(ctx.identity, ctx.clock.now(), 'updateStudy', id, UDIR, { ...set }));
  },

  cancelStudy: async (_, args, ctx) => {
    const id = requiredId(args.id, 'id');
    const study = await ctx.loaders.study.load(id);
    if (!study) throw notFound(`There is no study offer ${id}`, 'id');
    if (study.status === 'CANCELLED') throw refused(ErrorCode.INVALID_STATE, 'The offer is already cancelled', 'id');
    const r = await round(ctx, study.year);
    if (r && osloDate(ctx.clock.now()) > r.admissionDeadline) {
      throw refused(ErrorCode.DEADLINE_PASSED, `Offers of ${study.year} can be cancelled by the admission deadline, ${r.admissionDeadline}`, 'id');
    }
    return ctx.store.updateStudy(id, { status: 'CANCELLED' }, auditEntry(ctx.identity, ctx.clock.now(), 'cancelStudy', id, UDIR));
  },

  openRound: (_, { input, idempotencyKey }, ctx) =>
    idempotent(
      ctx.store,
      idempotencyOf(ctx.identity, 'openRound', idempotencyKey, input, async (year) => (await ctx.loaders.round.load(year))!),
      async (idempotency) => {
        const year = yearArg(input.year, 'input.year')!;
        for (let i = 1; i < ROUND_ORDER.length; i++) {
          const [before, field] = [ROUND_ORDER[i - 1]!, ROUND_ORDER[i]!];
          if (input[field] <= input[before]) throw badUserInput(`input.${field} must come after input.${before}`, `input.${field}`);
        }
        if (!input.opens.startsWith(String(year - 1)) && !input.opens.startsWith(String(year))) {
          throw badUserInput(`The ${year} round opens in ${year - 1} or ${year}`, 'input.opens');
        }
        const doc: RoundDoc = { _id: year, ...Object.fromEntries(ROUND_ORDER.map((k) => [k, input[k]])) } as RoundDoc;
        return ctx.store.insertRound(doc, auditEntry(ctx.identity, ctx.clock.now(), 'openRound', String(year), UDIR, { ...input }), idempotency);
      },
    ),

  allocateFunding: async (_, args, ctx) => {
    const id = requiredId(args.application, 'application');
    // The application (admissions) and its owner's decision (plans) as the catalogue keeps them from their events.
    const [app, decision] = await Promise.all([ctx.projections.get<ApplicationState>('application', id), ctx.projections.get<DecisionState>('decision', id)]);
    // The allocation is stored under the application's id: one for no application would reference nothing.
    if (!app) throw badUserInput('application names no application (applications reach Udir within seconds of being submitted)', 'application');
    checkWindow(await round(ctx, app.year), 'allocation', ctx.clock.now(), app.year, 'application');
    if (app.withdrawn) throw refused(ErrorCode.INVALID_STATE, 'The teacher has withdrawn the application', 'application');
    if (decision?.outcome !== 'APPROVED') {
      throw refused(ErrorCode.MISSING_DECISION, 'Udir funds only applications their school owner approved; this one is not approved', 'application');
    }
    const study = await ctx.loaders.study.load(app.study);
    if (!study || study.status === 'CANCELLED') throw refused(ErrorCode.INVALID_STATE, 'The offer applied for is cancelled', 'application');
    const now = ctx.clock.now();
    const scheme = args.funded ? decision.fundingScheme : null;
    return ctx.store.saveAllocation(
      {
        _id: id,
        year: app.year,
        study: study.id,
        teacher: app.teacher,
        institution: study.institution,
        subject: study.subject,
        gradeBand: study.gradeBand,
        county: app.county,
        owner: app.owner,
        funded: args.funded,
        scheme,
        decidedAt: now,
      },
      auditEntry(ctx.identity, now, 'allocateFunding', id, UDIR, { funded: args.funded, scheme }),
    );
  },
};

/** The catalogue's audit trail. */
export const auditQuery: QueryResolvers = {
  catalogueAudit: async (_, args, ctx) => (await ctx.store.auditLines(ctx.identity, pageWindow(args).limit)).map(auditView),
};
