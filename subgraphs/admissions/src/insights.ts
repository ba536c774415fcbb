import {
  ErrorCode,
  type Identity,
  byCodeUnits,
  forbidden,
  isSuppressed,
  keyString,
  protectPartitions,
  rollUp as rollUpRows,
  seesPersons,
  shownCount,
  shownTotal,
  shownTotalOver,
  total,
  yearArg,
} from '@partnerskap/kit';
import { GraphQLError } from 'graphql';
import { type AdmissionsContext } from './context.js';
import { type FunnelCounts, type OwnerFunnel, type SubjectFunnel } from './store.js';

/** One cell of the applications funnel as the API returns it (`FunnelCell`). */
export interface FunnelCell {
  key: string;
  applications: number | null;
  admitted: number | null;
  waitlisted: number | null;
  rejected: number | null;
  withdrawn: number | null;
  completed: number | null;
  credits: number | null;
}

/** Places and admissions of one subject as the API returns them (`SeatCell`). */
export interface SeatCell {
  subject: string;
  places: number | null;
  admitted: number | null;
  vacant: number | null;
}

/** One of the catalogue's offer cells, as the query plan brings it for `vacantSeats` (@requires). */
export interface OfferInput {
  subject: string;
  places: number | null;
}

/** The counts of a group without applications. */
export const NO_APPLICATIONS: Readonly<FunnelCounts> = Object.freeze({
  applications: 0,
  admitted: 0,
  waitlisted: 0,
  rejected: 0,
  withdrawn: 0,
  completed: 0,
  credits: 0,
  credited: 0,
});

const COUNT_FIELDS = ['applications', 'admitted', 'waitlisted', 'rejected', 'withdrawn', 'completed', 'credits', 'credited'] as const;
/** The counts the API also shows per study (`Study.applicants`, `admitted`, `waitlisted`): coarser cells add up from those as shown. */
const STUDY_FIELDS = ['applications', 'admitted', 'waitlisted'] as const;
type CountField = (typeof COUNT_FIELDS)[number];

/** Adds grouped cells up per key (a roll-up over cells, never over documents), sorted by key in string order. */
export function rollUp<C extends FunnelCounts>(cells: Iterable<C>, keyOf: (cell: C) => string): [string, FunnelCounts][] {
  return rollUpRows(cells, keyOf, COUNT_FIELDS).map(({ key, sums }) => [key, sums]);
}

/**
 * One cell as a caller may see it. Exact for the directorate, a service and whoever `exact` names
 * (a school owner's own figures); for everyone else every count is hidden when 1 to 4 and rounded
 * to the nearest 5, and the credits are hidden with the persons who earned them (1 to 4 of them)
 * and otherwise rounded the same way.
 */
export function shownCell(identity: Identity, key: string, c: FunnelCounts, exact = seesPersons(identity)): FunnelCell {
  const count = (n: number) => shownCount(identity, n, exact);
  return {
    key,
    applications: count(c.applications),
    admitted: count(c.admitted),
    waitlisted: count(c.waitlisted),
    rejected: count(c.rejected),
    withdrawn: count(c.withdrawn),
    completed: count(c.completed),
    credits: !exact && isSuppressed(c.credited) ? null : count(c.credits),
  };
}

/**
 * A cell that adds up studies (a subject's, a grade band's) as a caller may see it: like
 * {@link shownCell}, but the counts the API also shows per study are the sum of the studies' counts
 * as shown, hidden as soon as one of them is (`shownTotal`), so that the cell tells nothing the
 * studies' figures do not.
 */
export function shownStudiesCell(identity: Identity, key: string, c: FunnelCounts, studies: FunnelCounts[], exact = seesPersons(identity)): FunnelCell {
  const cell = shownCell(identity, key, c, exact);
  if (exact) return cell;
  for (const f of STUDY_FIELDS)
    cell[f] = shownTotal(
      identity,
      studies.map((s) => s[f]),
    );
  return cell;
}

/**
 * A year's total as a caller may see it. For callers who may not see persons each count is the sum
 * of the cells of a partition as shown (the studies for the counts the API shows per study, else
 * the first of `partitions`, the counties), and hidden as soon as a cell of a partition shown beside it (county,
 * subject, grade band, study) is, since the total minus the other cells of that partition would
 * narrow the hidden one down (`shownTotalOver`). (The owners' rows are the owner's and the
 * directorate's only: not a partition such a caller sees.)
 */
export function shownTotalCell(identity: Identity, key: string, studies: FunnelCounts[], partitions: FunnelCounts[][]): FunnelCell {
  const totalOf = (f: CountField) =>
    shownTotalOver(
      identity,
      [...((STUDY_FIELDS as readonly string[]).includes(f) ? [studies] : []), ...partitions].map((p) => p.map((c) => c[f])),
    );
  const exact = seesPersons(identity);
  const credits = total(partitions[0] ?? [], (c) => c.credits);
  // Credits are hidden with the persons who earned them (by the credited counts), and add up from the first partition's as shown.
  const hiddenCredits = !exact && partitions.some((p) => p.some((c) => isSuppressed(c.credited)));
  return {
    key,
    applications: totalOf('applications'),
    admitted: totalOf('admitted'),
    waitlisted: totalOf('waitlisted'),
    rejected: totalOf('rejected'),
    withdrawn: totalOf('withdrawn'),
    completed: totalOf('completed'),
    credits: exact ? credits : hiddenCredits ? null : total(partitions[0] ?? [], (c) => shownCount(identity, c.credits)!),
  };
}

/**
 * Places left empty per subject: the places of the catalogue's offers of that subject (summed as
 * given; null when one of them is not given), the teachers admitted as this caller sees them (the
 * sum of its studies' admitted as shown, as `bySubject` shows it), and places minus that admitted
 * count, never below 0 (admitted above places shows as 0 vacant next to the two figures), null when
 * either is null. One row per subject with an offer or an admission. `admittedBySubject` holds each
 * subject's admitted per study.
 */
export function seatCells(identity: Identity, offers: OfferInput[], admittedBySubject: Map<string, number[]>): SeatCell[] {
  const places = new Map<string, number | null>();
  for (const o of offers) {
    const sum = places.has(o.subject) ? places.get(o.subject)! : 0;
    places.set(o.subject, sum === null || o.places === null ? null : sum + o.places);
  }
  const subjects = new Set([...places.keys(), ...[...admittedBySubject].filter(([, ns]) => ns.some((n) => n > 0)).map(([s]) => s)]);
  return [...subjects].sort(byCodeUnits).map((subject) => {
    const p = places.has(subject) ? places.get(subject)! : 0;
    const admitted = shownTotal(identity, admittedBySubject.get(subject) ?? []);
    return { subject, places: p, admitted, vacant: p === null || admitted === null ? null : Math.max(0, p - admitted) };
  });
}

/** The counts of the funnel, each a partition of the year's applications the public sees by county, subject and grade band. */
const AUDITED_FIELDS = ['applications', 'admitted', 'waitlisted', 'rejected', 'withdrawn', 'completed'] as const;
type AuditedField = (typeof AUDITED_FIELDS)[number];

/** A year's partitions after the audit, per count: the total and each breakdown's cells as a caller may see them. */
export interface AuditedFunnel {
  total: Map<AuditedField, number | null>;
  byCounty: Map<AuditedField, (number | null)[]>;
  bySubject: Map<AuditedField, (number | null)[]>;
  byGradeBand: Map<AuditedField, (number | null)[]>;
}

/**
 * The year's counts through `protectPartitions`, for a caller who may not see persons: per count
 * the studies (the finest partition, `Study.applicants` shows them) beside the counties for the
 * counts the API shows per study (a subject's and a grade band's add up from the studies and tell
 * nothing more), else the counties beside the subjects and grade bands. Where the attacker's
 * bounds over them would pin a count, the audit hides the coarsest of the others, and the total.
 * (Credits are not persons: they follow their credited persons, as before.)
 */
export function auditedFunnel(identity: Identity, studies: SubjectFunnel[], owners: OwnerFunnel[]): AuditedFunnel {
  const counties = rollUp(owners, (c) => c.county).map(([, c]) => c);
  const subjects = rollUp(studies, (c) => c.subject).map(([, c]) => c);
  const bands = rollUp(studies, (c) => c.gradeBand).map(([, c]) => c);
  const out: AuditedFunnel = { total: new Map(), byCounty: new Map(), bySubject: new Map(), byGradeBand: new Map() };
  for (const f of AUDITED_FIELDS) {
    const of = (cells: FunnelCounts[]) => cells.map((c) => c[f]);
    if ((STUDY_FIELDS as readonly string[]).includes(f)) {
      const { total, partitions } = protectPartitions(identity, [of(studies), of(counties)]);
      out.total.set(f, total);
      out.byCounty.set(f, partitions[1]!);
    } else {
      const { total, partitions } = protectPartitions(identity, [of(counties), of(subjects), of(bands)]);
      out.total.set(f, total);
      out.byCounty.set(f, partitions[0]!);
      out.bySubject.set(f, partitions[1]!);
      out.byGradeBand.set(f, partitions[2]!);
    }
  }
  return out;
}

/** Cells of one breakdown with the audit's hidden counts hidden (cells in key order, as the audit's). */
function withAudit(cells: FunnelCell[], audited: Map<AuditedField, (number | null)[]>): FunnelCell[] {
  for (const [f, shown] of audited)
    cells.forEach((cell, i) => {
      if (shown[i] === null) cell[f] = null;
    });
  return cells;
}

/** The catalogue's offers from a representation; a missing or malformed list means the catalogue's part could not be read. */
function offerInputs(value: unknown): OfferInput[] {
  const valid = (o: unknown): o is OfferInput =>
    typeof o === 'object' &&
    o !== null &&
    typeof (o as OfferInput).subject === 'string' &&
    ((o as OfferInput).places === null || Number.isInteger((o as OfferInput).places));
  if (!Array.isArray(value) || !value.every(valid)) {
    // Computed only from inputs the plan brought: never from missing ones.
    throw new GraphQLError('Vacant seats need the catalogue’s offers, which could not be read', { extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE } });
  }
  return value.map((o) => ({ subject: o.subject, places: o.places }));
}

/** Insights as admissions resolves it: the year, and the catalogue's offers when the plan brought them. */
export interface InsightsRef {
  year: number;
  offers?: unknown;
}

/** A funnel is resolved field by field, each from the aggregation it needs. */
export interface FunnelRef {
  year: number;
}

const ownerCells = async (f: FunnelRef, ctx: AdmissionsContext) => rollUp(await ctx.loaders.funnelByOwner.load(f.year), (c) => c.owner);
/** The year's audit (`auditedFunnel`) for a caller who may not see persons; none for one who may. */
const auditOf = async (f: FunnelRef, ctx: AdmissionsContext): Promise<AuditedFunnel | null> => {
  if (seesPersons(ctx.identity)) return null;
  const [owners, studies] = await Promise.all([ctx.loaders.funnelByOwner.load(f.year), ctx.loaders.funnelBySubject.load(f.year)]);
  return auditedFunnel(ctx.identity, studies, owners);
};
const audited = async (f: FunnelRef, ctx: AdmissionsContext, part: 'byCounty' | 'bySubject' | 'byGradeBand', cells: FunnelCell[]) => {
  const audit = await auditOf(f, ctx);
  return audit ? withAudit(cells, audit[part]) : cells;
};
const cellsOf = (rows: [string, FunnelCounts][], ctx: AdmissionsContext) => rows.map(([key, c]) => shownCell(ctx.identity, key, c));
/** Cells that add up studies (per subject, per grade band), each shown from its studies (`shownStudiesCell`). */
const studiesCellsOf = (studies: SubjectFunnel[], keyOf: (c: SubjectFunnel) => string, ctx: AdmissionsContext) =>
  rollUp(studies, keyOf).map(([key, c]) =>
    shownStudiesCell(
      ctx.identity,
      key,
      c,
      studies.filter((s) => keyOf(s) === key),
    ),
  );

/** The admissions part of the strategy insights: the applications funnel, vacant seats, one owner's figures. */
export const insightsResolvers = {
  Insights: {
    __resolveReference: (ref: { year?: unknown; offers?: unknown }): InsightsRef | null => {
      if (typeof ref.year !== 'number' || !Number.isInteger(ref.year)) return null;
      return 'offers' in ref ? { year: ref.year, offers: ref.offers } : { year: ref.year };
    },
    applications: (i: InsightsRef): FunnelRef => ({ year: i.year }),
    vacantSeats: async (i: InsightsRef, _: unknown, ctx: AdmissionsContext): Promise<SeatCell[]> => {
      const offers = offerInputs(i.offers);
      const admitted = new Map<string, number[]>();
      for (const c of await ctx.loaders.funnelBySubject.load(i.year)) admitted.set(c.subject, [...(admitted.get(c.subject) ?? []), c.admitted]);
      return seatCells(ctx.identity, offers, admitted);
    },
  },
  ApplicationFunnel: {
    total: async (f: FunnelRef, _: unknown, ctx: AdmissionsContext) => {
      const [owners, studies] = await Promise.all([ctx.loaders.funnelByOwner.load(f.year), ctx.loaders.funnelBySubject.load(f.year)]);
      const partitions = [rollUp(owners, (c) => c.county), rollUp(studies, (c) => c.subject), rollUp(studies, (c) => c.gradeBand)];
      const cell = shownTotalCell(
        ctx.identity,
        String(f.year),
        studies,
        partitions.map((p) => p.map(([, c]) => c)),
      );
      const audit = await auditOf(f, ctx);
      for (const [field, total] of audit?.total ?? []) cell[field] = total;
      return cell;
    },
    bySubject: async (f: FunnelRef, _: unknown, ctx: AdmissionsContext) =>
      audited(
        f,
        ctx,
        'bySubject',
        studiesCellsOf(await ctx.loaders.funnelBySubject.load(f.year), (c) => c.subject, ctx),
      ),
    byGradeBand: async (f: FunnelRef, _: unknown, ctx: AdmissionsContext) =>
      audited(
        f,
        ctx,
        'byGradeBand',
        studiesCellsOf(await ctx.loaders.funnelBySubject.load(f.year), (c) => c.gradeBand, ctx),
      ),
    byCounty: async (f: FunnelRef, _: unknown, ctx: AdmissionsContext) =>
      audited(
        f,
        ctx,
        'byCounty',
        cellsOf(
          rollUp(await ctx.loaders.funnelByOwner.load(f.year), (c) => c.county),
          ctx,
        ),
      ),
    byOwner: async (f: FunnelRef, _: unknown, ctx: AdmissionsContext) => cellsOf(await ownerCells(f, ctx), ctx),
  },
  SchoolOwner: {
    __resolveReference: (ref: { id?: unknown }) => {
      const id = keyString(ref.id);
      return id === undefined ? null : { id };
    },
    admissionFigures: async (o: { id: string }, args: { year: number }, ctx: AdmissionsContext): Promise<FunnelCell> => {
      const year = yearArg(args.year, 'year')!;
      // An owner's row is for that owner and the directorate only (the SDL admits their roles), as
      // everywhere else (byOwner, decisionFigures): every owner's row, even rounded, beside a total
      // would narrow the hidden cells of the others down.
      const own = ctx.identity.role === 'school-owner' && ctx.identity.org === o.id;
      if (!own && ctx.identity.role !== 'directorate')
        throw forbidden('Only the school owner itself and the directorate see an owner’s figures', 'admissionFigures');
      const counts = (await ctx.loaders.ownerFunnel.load({ owner: o.id, year })) ?? NO_APPLICATIONS;
      return shownCell(ctx.identity, o.id, counts, true);
    },
  },
};
