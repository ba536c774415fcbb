import DataLoader from 'dataloader';
import { createByKeyLoader, createRowsLoader, createYearRowsLoader } from '@partnerskap/kit';
import { type CompetenceCounts, type RequirementRule, type TeacherCell, competenceFromCells, rulesKey } from './insights.js';
import { type PlansStore } from './store.js';

/** Separates the owner from the study in an approval-count key (`<owner or *>|<study>`). */
const SEPARATOR = '|';

/** The plans DataLoaders: a new set per request. */
export function createLoaders(store: PlansStore) {
  let cells: Promise<TeacherCell[]> | undefined;
  return {
    county: createByKeyLoader(
      (ids) => store.countiesByIds(ids),
      (c) => c.id,
    ),
    owner: createByKeyLoader(
      (ids) => store.ownersByIds(ids),
      (o) => o.id,
    ),
    teacher: createByKeyLoader(
      (ids) => store.teachersByIds(ids),
      (t) => t.id,
    ),
    plan: createByKeyLoader(
      (ids) => store.plansByIds(ids),
      (p) => p.id,
    ),
    decision: createByKeyLoader(
      (ids) => store.decisionsByIds(ids),
      (d) => d.id,
    ),
    /** Whether `<teacher>|<institution>` have an owner-approved application between them. */
    approvedPair: new DataLoader<string, boolean>(async (pairs) => {
      const found = new Set(await store.approvedPairs([...pairs]));
      return pairs.map((p) => found.has(p));
    }),
    /** Approvals per `<owner or *>|<study>`: one lookup of the kept cells for the whole batch, whatever its owners. */
    approved: new DataLoader<string, number>((keys) =>
      store.approvedCounts(
        keys.map((key) => {
          const [owner, study] = key.split(SEPARATOR) as [string, string];
          return { study, owner: owner === '*' ? undefined : owner };
        }),
      ),
    ),
    /** How many teachers an owner employs (`SchoolOwner.teachers`' `totalCount`): one lookup for a page of owners. */
    teacherCount: new DataLoader<string, number>((owners) => store.teacherCounts(owners)),
    /** A year's decisions per owner: one lookup for every year of the batch (a trend asks for several). */
    decisionsByOwner: createYearRowsLoader((years) => store.decisionsByOwner(years)),
    /** A year's decisions per subject, grade band and reason: one lookup for every year of the batch. */
    decisionsByTopic: createYearRowsLoader((years) => store.decisionsByTopic(years)),
    /** One owner's decisions of one year (`<year>|<owner>`): one lookup for the whole batch. */
    ownerDecisions: createRowsLoader(
      (keys: string[]) => {
        const pairs = keys.map((k) => k.split(SEPARATOR) as [string, string]);
        // Every asked year with every asked owner: the cells of pairs not asked for are left out by the grouping.
        return store.decisionsByOwner([...new Set(pairs.map(([y]) => Number(y)))], [...new Set(pairs.map(([, o]) => o))]);
      },
      (r) => ownerDecisionsKey(r.year, r.owner),
    ),
    /** Teachers below the requirements, per subject: the teachers' cells read once per request (every year has the same stock), each distinct set of rules applied to them. */
    competence: new DataLoader<RequirementRule[], CompetenceCounts[], string>(
      async (sets) => {
        if (sets.every((rules) => rules.length === 0)) return sets.map(() => []);
        cells ??= store.teacherCells();
        const all = await cells;
        return sets.map((rules) => competenceFromCells(rules, all));
      },
      { cacheKeyFn: rulesKey },
    ),
  };
}

/** The key of one owner's decisions of one year. */
export function ownerDecisionsKey(year: number, owner: string): string {
  return `${year}${SEPARATOR}${owner}`;
}

/** The key of one study's approval count, for all owners or one. */
export function approvedKey(study: string, owner: string | undefined): string {
  return `${owner ?? '*'}${SEPARATOR}${study}`;
}

/** The plans loaders. */
export type PlansLoaders = ReturnType<typeof createLoaders>;
