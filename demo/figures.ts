/**
 * The figures each partner maintains (counts and sums it serves on every page, kept in its
 * `figures` collection by its writes), rebuilt from its records (seed, `npm run reconcile --
 * --repair`, after a bulk load) and checked against a full recount (`npm run reconcile`).
 */
import { type Db } from 'mongodb';
import { type CountedFigures, type FigureDifference } from '@partnerskap/kit';
import { figures as admissions } from '@partnerskap/admissions/figures';
import { figures as catalogue } from '@partnerskap/catalogue/figures';
import { figures as feedback } from '@partnerskap/feedback/figures';
import { figures as plans } from '@partnerskap/plans/figures';
import { type PartnerDbs } from './seed.js';

type Name = keyof PartnerDbs;
/** Each partner's counted collections (the seed's image bundles these light modules, not the servers). */
const FIGURES: Record<Name, (db: Db) => readonly CountedFigures[]> = { catalogue, admissions, plans, feedback };

/**
 * Replaces every partner's figures (or these partners') with a recount of its records; how many
 * cells they hold. `written`: every document just written to the counted collections, by partner
 * and collection (the seed holds them: counted in memory, not read back).
 */
export async function rebuildFigures(
  dbs: PartnerDbs,
  partners: readonly Name[] = Object.keys(FIGURES) as Name[],
  written?: Partial<Record<Name, Record<string, readonly unknown[]>>>,
): Promise<number> {
  let cells = 0;
  for (const name of partners) {
    for (const counted of FIGURES[name](dbs[name])) {
      await counted.ensureIndexes();
      // The documents just written to the collection: CountedFigures takes them untyped (its document type is erased).
      cells += await counted.rebuild(undefined, written?.[name]?.[counted.collectionName] as Iterable<never> | undefined);
    }
  }
  return cells;
}

/** One figure set of one partner: the cells it keeps, and where they differ from a recount. */
export interface FigureReport {
  partner: Name;
  set: string;
  /** Cells kept. */
  checked: number;
  differences: FigureDifference[];
}

/** Compares every partner's kept figures with a recount of its records. */
export async function checkFigures(dbs: PartnerDbs): Promise<FigureReport[]> {
  const reports: FigureReport[] = [];
  for (const name of Object.keys(FIGURES) as Name[]) {
    for (const counted of FIGURES[name](dbs[name])) {
      const differences = await counted.check();
      for (const set of counted.sets) {
        reports.push({
          partner: name,
          set: set.name,
          checked: await counted.figures.countDocuments({ set: set.name }),
          differences: differences.filter((d) => d.set === set.name),
        });
      }
    }
  }
  return reports;
}
