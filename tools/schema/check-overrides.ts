/**
 * The fields a change moves between subgraphs with `@override` (schema:check): a move staged,
 * raised (`percent(10)` to `percent(50)`), completed or finished. The API schema does not change
 * with a move, so the inspector's diff does not see one; the supergraph's `@join__field(override:)` does.
 */
import { type OverrideMove, parseOverrideLabel, readOverrides } from '@partnerskap/gateway';
import { type DocumentNode } from 'graphql';

/** A move of one field whose state the change alters. */
export interface OverrideChange {
  /** As `Study.credits`. */
  coordinate: string;
  from: string;
  to: string;
  /** Before and after: the label (`percent(10)`), `complete` (a plain `@override`), or absent (no move). */
  before?: string;
  after?: string;
}

const stateOf = (move: OverrideMove | undefined): string | undefined => (move ? (move.label ?? 'complete') : undefined);

/** The moves that differ between the deployed supergraph and the new one, by field. */
export function compareOverrides(before: DocumentNode, after: DocumentNode): OverrideChange[] {
  const byField = (document: DocumentNode) => new Map(readOverrides(document).map((m) => [m.coordinate, m]));
  const old = byField(before);
  const next = byField(after);
  const changes: OverrideChange[] = [];
  for (const coordinate of [...new Set([...old.keys(), ...next.keys()])].sort()) {
    const [was, is] = [old.get(coordinate), next.get(coordinate)];
    if (stateOf(was) === stateOf(is) && was?.from === is?.from && was?.to === is?.to) continue;
    const { from, to } = (is ?? was)!;
    const change: OverrideChange = { coordinate, from, to };
    const [b, a] = [stateOf(was), stateOf(is)];
    if (b !== undefined) change.before = b;
    if (a !== undefined) change.after = a;
    changes.push(change);
  }
  return changes;
}

/** One line of the report: what the gateway will plan to whom once the new supergraph is served. */
export function formatOverrideChange(c: OverrideChange): string {
  const label = c.after === undefined ? undefined : c.after === 'complete' ? undefined : parseOverrideLabel(c.after);
  const meaning =
    c.after === undefined
      ? 'the move is over: the field is planned to whichever subgraph still defines it'
      : c.after === 'complete'
        ? `every request planned to ${c.to}`
        : label?.kind === 'percent'
          ? `${label.percent} % of callers planned to ${c.to}, the others to ${c.from}`
          : `planned to ${c.to} when the gateway's OVERRIDE_LABELS lists ${c.after}`;
  return `  ${c.coordinate}: ${c.from} -> ${c.to}, ${c.before ?? '(no move)'} -> ${c.after ?? '(no move)'}: ${meaning}`;
}
