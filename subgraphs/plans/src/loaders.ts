import DataLoader from 'dataloader';
import { createByKeyLoader } from '@partnerskap/kit';
import { type PlansStore } from './store.js';

/** Separates the owner from the study in an approval-count key (`<owner or *>|<study>`). */
const SEPARATOR = '|';

/** The plans DataLoaders: a new set per request. */
export function createLoaders(store: PlansStore) {
  return {
    county: createByKeyLoader((ids) => store.countiesByIds(ids), (c) => c.id),
    owner: createByKeyLoader((ids) => store.ownersByIds(ids), (o) => o.id),
    teacher: createByKeyLoader((ids) => store.teachersByIds(ids), (t) => t.id),
    plan: createByKeyLoader((ids) => store.plansByIds(ids), (p) => p.id),
    decision: createByKeyLoader((ids) => store.decisionsByIds(ids), (d) => d.id),
    /** Whether `<teacher>|<institution>` have an owner-approved application between them. */
    approvedPair: new DataLoader<string, boolean>(async (pairs) => {
      const found = new Set(await store.approvedPairs([...pairs]));
      return pairs.map((p) => found.has(p));
    }),
    /** Approvals per `<owner or *>|<study>`: one aggregation per owner named in the batch. */
    approved: new DataLoader<string, number>(async (keys) => {
      const byOwner = new Map<string, string[]>();
      for (const key of keys) {
        const [owner, study] = key.split(SEPARATOR) as [string, string];
        byOwner.set(owner, [...(byOwner.get(owner) ?? []), study]);
      }
      const counts = new Map<string, number>();
      await Promise.all(
        [...byOwner].map(async ([owner, studies]) => {
          for (const row of await store.approvedCounts(studies, owner === '*' ? undefined : owner)) {
            counts.set(`${owner}${SEPARATOR}${row._id}`, row.n);
          }
        }),
      );
      return keys.map((k) => counts.get(k) ?? 0);
    }),
  };
}

/** The key of one study's approval count, for all owners or one. */
export function approvedKey(study: string, owner: string | undefined): string {
  return `${owner ?? '*'}${SEPARATOR}${study}`;
}

/** The plans loaders. */
export type PlansLoaders = ReturnType<typeof createLoaders>;
