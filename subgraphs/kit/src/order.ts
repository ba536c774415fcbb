/** Norwegian collation, as the stores sort names (`NB`): Æ, Ø, Å after Z, in that order. */
const NORWEGIAN = new Intl.Collator('nb');

/**
 * Strings in code-unit order (`'B' < 'a'`, `'Z' < 'Å'`): how the figures' keys (codes, ids, years,
 * counties) are ordered in an answer, the same in every process whatever its locale.
 */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Names in Norwegian collation (`{ locale: 'nb' }`, the stores' `NB`): Æ, Ø, Å come last, in that order. */
export function byNorwegian(a: string, b: string): number {
  return NORWEGIAN.compare(a, b);
}

/** Named records as a list shows them: by name in Norwegian collation, then by id (code-unit order), the stores' `{ name: 1, _id: 1 }` with `NB`. */
export function byNameThenId(a: { name: string; id: string }, b: { name: string; id: string }): number {
  return byNorwegian(a.name, b.name) || byCodeUnits(a.id, b.id);
}
