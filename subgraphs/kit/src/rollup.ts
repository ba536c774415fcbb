/**
 * Figure rows added up: a total, the totals of some counts, and rows rolled up per key (a year's
 * cells per county, subject, owner). Always over the kept cells, never over documents.
 */
import { byCodeUnits } from './order.js';

/** The sum of numbers, or of an amount of each row (0 over none). */
export function total(values: Iterable<number>): number;
export function total<R>(rows: Iterable<R>, amountOf: (row: R) => number): number;
export function total<R>(rows: Iterable<R>, amountOf?: (row: R) => number): number {
  let sum = 0;
  for (const row of rows) sum += amountOf ? amountOf(row) : (row as number);
  return sum;
}

/** The sums of some counts over rows: each field 0 over none. */
export function totals<F extends string>(rows: Iterable<Readonly<Record<NoInfer<F>, number>>>, fields: readonly F[]): Record<F, number> {
  const sums = Object.fromEntries(fields.map((f) => [f, 0])) as Record<F, number>;
  for (const row of rows) for (const f of fields) sums[f] += row[f];
  return sums;
}

/** One key of a roll-up and the sums of its rows. */
export interface Rolled<F extends string> {
  key: string;
  sums: Record<F, number>;
}

/** Rows added up per key: each key once, in code-unit order ({@link byCodeUnits}), with the sums of `fields` over its rows. */
export function rollUp<R extends Readonly<Record<F, number>>, F extends string>(
  rows: Iterable<R>,
  keyOf: (row: R) => string,
  fields: readonly F[],
): Rolled<F>[] {
  const groups = new Map<string, R[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return [...groups.keys()].sort(byCodeUnits).map((key) => ({ key, sums: totals(groups.get(key)!, fields) }));
}
