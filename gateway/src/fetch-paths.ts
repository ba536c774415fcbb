import { type DocumentNode, type FieldNode, type FragmentDefinitionNode, Kind, type SelectionSetNode, parse } from 'graphql';

/** A path in a subgraph's answer, as Apollo Gateway maps it into the client's (`['_entities', 3, 'rating']`). */
export type FetchPath = (string | number)[];

/** At most this many paths per failed fetch: past that the code and `partner` already say what is missing. */
export const MAX_FETCH_PATHS = 100;

type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

/** The fields of a type whose `@requires` names a field of it (`Study`, `places` → `vacantSeats`), from the supergraph. */
export type RequiredBy = (typename: string, field: string) => readonly string[];

/** The fields of a selection set, fragments expanded; `typename` keeps only fragments on that type (or on none). */
function fieldsOf(set: SelectionSetNode, fragments: Fragments, typename?: string): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') fields.push(selection);
      continue;
    }
    const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
    if (!fragment) continue;
    const on = fragment.typeCondition?.name.value;
    if (typename === undefined || on === undefined || on === typename) fields.push(...fieldsOf(fragment.selectionSet, fragments, typename));
  }
  return fields;
}

const responseName = (field: FieldNode) => field.alias?.value ?? field.name.value;

/** Every response name the client's document selects anywhere (a coarse test that a path is the client's). */
function responseNames(document: DocumentNode): Set<string> {
  const names = new Set<string>();
  const walk = (set: SelectionSetNode | undefined) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) names.add(responseName(selection));
      if (selection.kind !== Kind.FRAGMENT_SPREAD) walk(selection.selectionSet);
    }
  };
  for (const definition of document.definitions) if ('selectionSet' in definition) walk(definition.selectionSet);
  return names;
}

/**
 * The paths a subgraph fetch of Apollo Gateway's query plan would have filled: the top-level fields of
 * a root fetch (`['subjects']`), or each field of each entity of an entity fetch (`['_entities', i, 'rating']`,
 * which Apollo maps to the entity's place in the client's answer), with the fields that `@require` any
 * of an entity's (`requiredBy`, at every remove). Fields the client did not select
 * (a key or `@requires` input fetched for a later fetch) are left out, so `[]` means the fetch fed
 * nothing the client sees directly. At most {@link MAX_FETCH_PATHS}.
 */
export function fetchPaths(
  fetch: { document?: DocumentNode; query?: string; variables?: Record<string, unknown> },
  client?: DocumentNode,
  requiredBy: RequiredBy = () => [],
): FetchPath[] {
  let document = fetch.document;
  try {
    document ??= fetch.query ? parse(fetch.query) : undefined;
  } catch {
    return [];
  }
  if (!document) return [];
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return [];
  const paths: FetchPath[] = [];
  for (const root of fieldsOf(operation.selectionSet, fragments)) {
    if (root.name.value !== '_entities' || !root.selectionSet) {
      paths.push([responseName(root)]);
      continue;
    }
    const representations = fetch.variables?.representations;
    if (!Array.isArray(representations)) continue;
    representations.forEach((representation, i) => {
      const typename = (representation as { __typename?: unknown } | null)?.__typename;
      let fields = fieldsOf(root.selectionSet!, fragments, typeof typename === 'string' ? typename : undefined);
      // A fragment on an interface (an entity interface) matches no concrete type name: take them all.
      if (fields.length === 0) fields = fieldsOf(root.selectionSet!, fragments);
      for (const field of fields) paths.push([responseName(root), i, responseName(field)]);
      // A field of another partner that `@requires` one of these cannot be fetched either (Apollo
      // leaves the entity out of that fetch, so no error would name it): it is missing with them.
      if (typeof typename !== 'string') return;
      const fetched = new Set(fields.map((f) => f.name.value));
      const pending = [...fetched];
      for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
        for (const dependent of requiredBy(typename, name)) {
          if (fetched.has(dependent)) continue;
          fetched.add(dependent);
          pending.push(dependent);
          paths.push([responseName(root), i, dependent]);
        }
      }
    });
  }
  const names = client ? responseNames(client) : undefined;
  const shown = names ? paths.filter((path) => names.has(String(path[path.length - 1]))) : paths;
  return shown.slice(0, MAX_FETCH_PATHS);
}
