/**
 * An attacker's search for pinned counts, for `disclosure.e2e.test.ts`: published figures turned
 * into integer constraints (a shown count is an interval, a total the sum of each of its
 * partitions, an average a band of the rating sum), narrowed by bounds propagation to a fixpoint
 * and by enumerating each count against its average, until a count has one value left.
 */

/** How a total was published: the current rule (the sum of its cells as shown) or the old one (the true sum rounded). */
export type TotalRule = 'additive' | 'rounded';

/** What one published count says about the true count. */
export type CountShown = number | null;

/**
 * What a hidden total said under the old rule: a cell beside it was hidden (`hidden-cell`), or it
 * was 1 to 4 itself (`small`, a plain count); `unpublished` for a sum the API never shows.
 */
export type TotalHidden = 'hidden-cell' | 'small' | 'unpublished';

/** The figures of one application of the rule, by name: what the attacker reads. */
export interface Published {
  counts: Map<string, CountShown>;
  /** Averages of ratings, by the name of the count they go with. */
  averages: Map<string, number | null>;
  /** Hidden counts that may hide any count, not just 1 to 4 (a partition the audit hid whole). */
  unknown?: Set<string>;
}

/**
 * The shape of the figures, whatever their values: which counts are cells (published one by one),
 * which are totals and of which partitions, which counts carry a rating sum and an average, and
 * which counts are at most another.
 */
export interface Structure {
  cells: Set<string>;
  /** A total and the partitions it is the sum of (the first is the one an additive total adds up). */
  totals: Map<string, { partitions: string[][]; whenHidden: TotalHidden }>;
  /** Counts whose ratings are summed (sum `${name}:S`), with an average published. */
  rated: Set<string>;
  /** `[a, b]`: a ≤ b (a topic's raters and all raters; teachers below a requirement and all). */
  atMost: [string, string][];
}

/** How averages were published: from a rating sum and count (`null` when not shown), within `halfWidth` of the true one. */
export interface AverageRule {
  show: (sum: number, count: number) => number | null;
  halfWidth: number;
}

interface Term {
  v: number;
  a: number;
}
interface Constraint {
  terms: Term[];
  lo: number;
  hi: number;
}

const BIG = 10_000_000;

/** A system of integer variables with interval domains and linear constraints lo ≤ Σ a·x ≤ hi. */
class Model {
  readonly names: string[] = [];
  readonly lo: number[] = [];
  readonly hi: number[] = [];
  readonly index = new Map<string, number>();
  readonly constraints: Constraint[] = [];

  variable(name: string, lo = 0, hi = BIG): number {
    let v = this.index.get(name);
    if (v === undefined) {
      v = this.names.length;
      this.names.push(name);
      this.lo.push(lo);
      this.hi.push(hi);
      this.index.set(name, v);
    } else {
      this.lo[v] = Math.max(this.lo[v]!, lo);
      this.hi[v] = Math.min(this.hi[v]!, hi);
    }
    return v;
  }

  linear(terms: Term[], lo: number, hi: number): void {
    this.constraints.push({ terms, lo, hi });
  }

  /** Bounds propagation to a fixpoint; false when some domain empties (the figures contradict the model). */
  propagate(): boolean {
    let changed = true;
    while (changed) {
      changed = false;
      for (const c of this.constraints) {
        let min = 0;
        let max = 0;
        for (const { v, a } of c.terms) {
          min += a > 0 ? a * this.lo[v]! : a * this.hi[v]!;
          max += a > 0 ? a * this.hi[v]! : a * this.lo[v]!;
        }
        for (const { v, a } of c.terms) {
          const ownMin = a > 0 ? a * this.lo[v]! : a * this.hi[v]!;
          const ownMax = a > 0 ? a * this.hi[v]! : a * this.lo[v]!;
          // a·x ≤ hi − (min of the others), a·x ≥ lo − (max of the others)
          const upper = c.hi - (min - ownMin);
          const lower = c.lo - (max - ownMax);
          let lo = this.lo[v]!;
          let hi = this.hi[v]!;
          if (a > 0) {
            hi = Math.min(hi, Math.floor(upper / a));
            lo = Math.max(lo, Math.ceil(lower / a));
          } else {
            lo = Math.max(lo, Math.ceil(upper / a));
            hi = Math.min(hi, Math.floor(lower / a));
          }
          if (lo > hi) return false;
          if (lo !== this.lo[v] || hi !== this.hi[v]) {
            min += (a > 0 ? a * lo : a * hi) - ownMin;
            max += (a > 0 ? a * hi : a * lo) - ownMax;
            this.lo[v] = lo;
            this.hi[v] = hi;
            changed = true;
          }
        }
      }
    }
    return true;
  }
}

/** The true values a shown count allows under the small-cell rule: 0 exactly, 1 to 4 when hidden, else within 2 of it (5 at least). */
export function countRange(shown: CountShown): [number, number] {
  if (shown === null) return [1, 4];
  if (shown === 0) return [0, 0];
  return [Math.max(5, shown - 2), shown + 2];
}

/** What the search found. */
export interface SearchResult {
  /** Counts checked (cells and totals). */
  checked: number;
  /** Counts with one feasible value left (not 0, which the rule publishes as such): name = value. */
  pinned: Map<string, number>;
  /** Counts whose true value the search ruled out (a wrong model or wrong figures): should be empty. */
  unsound: string[];
  /** Hidden counts (1 to 4) narrowed to fewer than 4 values, and rounded ones to fewer than the rule allows. */
  narrowed: number;
}

/**
 * Searches the published figures for pinned counts. `totals` says how totals were published;
 * `average` how averages were (the search tries every rating sum against it); `truth` the true
 * counts and sums, only to check that the search never rules the truth out.
 */
export function search(structure: Structure, published: Published, totals: TotalRule, average: AverageRule, truth: Map<string, number>): SearchResult {
  const m = new Model();
  for (const name of structure.cells) {
    const [lo, hi] = published.unknown?.has(name) ? [0, BIG] : countRange(published.counts.get(name) ?? null);
    m.variable(name, lo, hi);
  }
  for (const [name, { partitions, whenHidden }] of structure.totals) {
    const t = m.variable(name);
    for (const part of partitions) m.linear([{ v: t, a: 1 }, ...part.map((p) => ({ v: m.variable(p), a: -1 }))], 0, 0);
    const shown = published.counts.get(name) ?? null;
    // An additive total is a function of its cells as shown: it says nothing of its own. A rounded
    // one says its true value is within 2 of it; hidden, 1 to 4 (a plain count) or nothing (hidden
    // because a cell beside it is).
    if (totals === 'rounded' && (shown !== null || whenHidden === 'small')) {
      const [lo, hi] = countRange(shown);
      m.variable(name, lo, hi);
    }
  }
  for (const name of structure.rated) {
    const n = m.variable(name);
    const s = m.variable(`${name}:S`);
    // Whole ratings 1 to 5: n ≤ S ≤ 5n.
    m.linear(
      [
        { v: s, a: 1 },
        { v: n, a: -1 },
      ],
      0,
      BIG,
    );
    m.linear(
      [
        { v: s, a: 1 },
        { v: n, a: -5 },
      ],
      -BIG,
      0,
    );
    const total = structure.totals.get(name);
    if (total) for (const part of total.partitions) m.linear([{ v: s, a: 1 }, ...part.map((p) => ({ v: m.variable(`${p}:S`), a: -1 }))], 0, 0);
    const shown = published.averages.get(name);
    if (shown === null || shown === undefined) continue;
    // Shown only over 5 answers or more; the band as two linear bounds, D·S ≥ (D·avg − 1)·n and
    // D·S ≤ (D·avg + 1)·n with D = 1 / halfWidth (closed: a superset of the half-open band).
    m.variable(name, 5, BIG);
    const d = Math.round(1 / average.halfWidth);
    const da = Math.round(d * shown);
    m.linear(
      [
        { v: s, a: d },
        { v: n, a: -(da - 1) },
      ],
      0,
      BIG,
    );
    m.linear(
      [
        { v: s, a: d },
        { v: n, a: -(da + 1) },
      ],
      -BIG,
      0,
    );
  }
  for (const [a, b] of structure.atMost)
    m.linear(
      [
        { v: m.variable(a), a: 1 },
        { v: m.variable(b), a: -1 },
      ],
      -BIG,
      0,
    );

  // Alternate: propagate the sums, then trim each rated count to the values some rating sum fits
  // its average with (and its sum to the sums some count fits), until nothing changes.
  let feasible = m.propagate();
  for (let round = 0; feasible && round < 50; round++) {
    let trimmed = false;
    for (const name of structure.rated) {
      const shown = published.averages.get(name);
      if (shown === null || shown === undefined) continue;
      const n = m.index.get(name)!;
      const s = m.index.get(`${name}:S`)!;
      const fits = (count: number) => {
        for (let sum = Math.max(m.lo[s]!, count); sum <= Math.min(m.hi[s]!, 5 * count); sum++) if (average.show(sum, count) === shown) return true;
        return false;
      };
      const sumFits = (sum: number) => {
        for (let count = m.lo[n]!; count <= m.hi[n]!; count++) if (sum >= count && sum <= 5 * count && average.show(sum, count) === shown) return true;
        return false;
      };
      const before = [m.lo[n], m.hi[n], m.lo[s], m.hi[s]];
      while (m.lo[n]! <= m.hi[n]! && !fits(m.lo[n]!)) m.lo[n]!++;
      while (m.hi[n]! >= m.lo[n]! && !fits(m.hi[n]!)) m.hi[n]!--;
      if (m.hi[s]! - m.lo[s]! < 5_000) {
        while (m.lo[s]! <= m.hi[s]! && !sumFits(m.lo[s]!)) m.lo[s]!++;
        while (m.hi[s]! >= m.lo[s]! && !sumFits(m.hi[s]!)) m.hi[s]!--;
      }
      if (m.lo[n]! > m.hi[n]! || m.lo[s]! > m.hi[s]!) {
        feasible = false;
        break;
      }
      if (before.some((x, i) => x !== [m.lo[n], m.hi[n], m.lo[s], m.hi[s]][i])) trimmed = true;
    }
    if (!feasible || !trimmed) break;
    feasible = m.propagate();
  }

  const counts = [...structure.cells, ...structure.totals.keys()];
  const pinned = new Map<string, number>();
  const unsound: string[] = [];
  let narrowed = 0;
  if (!feasible) unsound.push('the figures contradict the model');
  for (const name of counts) {
    const v = m.index.get(name)!;
    const t = truth.get(name);
    if (t !== undefined && (t < m.lo[v]! || t > m.hi[v]!)) unsound.push(`${name}: true ${t} outside [${m.lo[v]}, ${m.hi[v]}]`);
    if (m.lo[v] === m.hi[v] && m.lo[v] !== 0) pinned.set(name, m.lo[v]!);
    if (structure.cells.has(name) && !published.unknown?.has(name)) {
      const [lo, hi] = countRange(published.counts.get(name) ?? null);
      if (m.hi[v]! - m.lo[v]! < hi - lo) narrowed++;
    }
  }
  for (const name of structure.rated) {
    const v = m.index.get(`${name}:S`)!;
    const t = truth.get(`${name}:S`);
    if (t !== undefined && (t < m.lo[v]! || t > m.hi[v]!)) unsound.push(`${name}:S: true ${t} outside [${m.lo[v]}, ${m.hi[v]}]`);
  }
  return { checked: counts.length, pinned, unsound, narrowed };
}
