/** `npm run compose`: composes `schema/<name>.graphql` into `schema/supergraph.graphql`; `-- --check` only verifies it is current. */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import {
  type ConstDirectiveNode,
  type FieldDefinitionNode,
  Kind,
  type ObjectTypeDefinitionNode,
  OperationTypeNode,
  type TypeNode,
  parse,
  print,
} from 'graphql';

/** A registered subgraph: its name (schema/<name>.graphql, subgraphs/<name>/) and its URL in local development. */
export interface RegisteredSubgraph {
  name: string;
  url: string;
}

/** The registry of subgraphs (`schema/subgraphs.json`), in composition order. */
export const REGISTRY_FILE = fileURLToPath(new URL('../../schema/subgraphs.json', import.meta.url));

/** Reads the registry (`schema/subgraphs.json`). */
export function readRegistry(file = REGISTRY_FILE): RegisteredSubgraph[] {
  const { subgraphs } = JSON.parse(readFileSync(file, 'utf8')) as { subgraphs: RegisteredSubgraph[] };
  return subgraphs;
}

/** The subgraphs, in composition order, with the URL each has in local development. */
export const SUBGRAPHS: readonly RegisteredSubgraph[] = readRegistry();

/** Composition hints we have read and accept, by code and the start of their message. */
export const ACCEPTED_HINTS: readonly { code: string; startsWith: string; why: string }[] = [];

const schemaFile = (name: string): string => fileURLToPath(new URL(`../../schema/${name}.graphql`, import.meta.url));

/** The result of composing the committed subgraph SDL. */
export interface Composition {
  supergraphSdl?: string;
  errors: string[];
  hints: { code: string; message: string }[];
}

/** Reads a subgraph's committed SDL (`schema/<name>.graphql`). */
export const readSdl = (name: string): string => readFileSync(schemaFile(name), 'utf8');

/** The reviewed exceptions to {@link nullabilityViolations}: `{ "Type.field": "why it may stay non-null" }`. */
export const NULLABILITY_EXCEPTIONS_FILE = schemaFile('nullability-exceptions').replace(/\.graphql$/, '.json');

/** Reads `schema/nullability-exceptions.json` (none when the file is absent). */
export function readNullabilityExceptions(file = NULLABILITY_EXCEPTIONS_FILE): Record<string, string> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
}

/** Composes the registered subgraphs' SDL (by default from `schema/`); a breach of the nullability rule is an error. */
export function compose(
  sdl: (name: string) => string = readSdl,
  subgraphs: readonly RegisteredSubgraph[] = SUBGRAPHS,
  exceptions: Readonly<Record<string, string>> = readNullabilityExceptions(),
): Composition {
  const result = composeServices(subgraphs.map(({ name, url }) => ({ name, url, typeDefs: parse(sdl(name)) })));
  const hints = (result.hints ?? []).map((h) => ({ code: h.definition.code, message: h.message }));
  if (result.errors) return { errors: result.errors.map((e) => e.message), hints };
  const violations = nullabilityViolations(result.supergraphSdl, exceptions);
  if (violations.length > 0) return { errors: violations.map((v) => v.message), hints };
  return { supergraphSdl: result.supergraphSdl, errors: [], hints };
}

/** A field that breaks the nullability rule of {@link nullabilityViolations}, or an exception that excuses nothing. */
export interface NullabilityViolation {
  /** As `Study.rating`. */
  coordinate: string;
  /** (a) an entity's field, (b) a reference to an entity, (c) a root query field, or a line of the exceptions file to remove. */
  rule: 'entity-field' | 'reference' | 'root-field' | 'stale-exception';
  /** The field, the reason and the fix. */
  message: string;
}

/** Hints that no entry of {@link ACCEPTED_HINTS} covers. */
export function unacceptedHints(hints: Composition['hints']): Composition['hints'] {
  return hints.filter((h) => !ACCEPTED_HINTS.some((a) => a.code === h.code && h.message.startsWith(a.startsWith)));
}

/**
 * "A partner's outage is local" (ARCHITECTURE.md), enforced on the composed supergraph: a field
 * whose value may come from another subgraph than the one its parent object was fetched from is
 * nullable, so an outage of that subgraph nulls that field only (with an error carrying its path)
 * and not its parent, its parent's parent, up to the whole response. `@join__type` says which
 * subgraphs define a type, `@join__field` which of them resolve a field (an `external: true` or
 * `usedOverridden` one does not; a field without `@join__field` is resolved by every subgraph that
 * defines its type). Root types (Query, Mutation) and types no subgraph can fetch by key are not
 * entities: their objects come whole from the subgraph that returned them.
 *
 * (a) **A field of an entity that only some of the entity's subgraphs resolve is nullable.** An
 *     entity (a type with a resolvable `@key`) defined by several subgraphs can be reached through
 *     any of them; reached through another one, the gateway fetches this field from its resolvers
 *     with `_entities`, and their outage must null the field, not the entity. Examples:
 *     `Study.rating: RatingSummary!` (feedback only, while admissions, catalogue and plans also
 *     define Study) is refused, `RatingSummary` passes; `Study.name: String!` (catalogue only) is
 *     refused too, since `Application.study` reaches a study through admissions; `Insights.ratings`,
 *     `Insights.applications` and the other figures, each from one partner, are nullable;
 *     `Institution.name` (admissions) is nullable because the catalogue's studies reach
 *     institutions. For a list the field itself is nullable (`[SeatCell!]`): an outage loses the
 *     whole list, so nullable items would not stop the null. Exempt: the key fields (they travel
 *     in the reference), fields every defining subgraph resolves without `@requires` (any of them
 *     answers from what it already has), and value types shared with `@shareable` (not entities).
 *     A `@requires` field is never exempt: its inputs come from another subgraph.
 * (b) **A field that returns an entity (directly or as list items) whose non-null field its own
 *     subgraphs do not all resolve is nullable**, or, for a list, its items are: a field that is
 *     fetched from elsewhere and may stay non-null (an exception under (a), listed in
 *     `schema/nullability-exceptions.json`) nulls the whole object on an outage, and that null
 *     must stop at the reference. Example: with `Study.name: String!` excepted,
 *     `Application.study: Study!` (admissions) is refused and `Study` passes; `[Study!]!` passes as
 *     `[Study!]` (the list nullable: one check for a client, and an outage fails the one batched
 *     fetch of every item, so every item would be null anyway) or as `[Study]!`. With no
 *     exception, (a) leaves every such field nullable and (b) refuses nothing: a reference like
 *     `Application.study: Study!` stays non-null and a catalogue outage answers
 *     `{ id, name: null }` with an error, which tells a client more than `study: null`.
 *
 * An exception is a reviewed line `"Type.field": "why"` in `schema/nullability-exceptions.json`;
 * one that excuses nothing any more is reported so the file stays short.
 */
export function nullabilityViolations(supergraphSdl: string, exceptions: Readonly<Record<string, string>> = {}): NullabilityViolation[] {
  const doc = parse(supergraphSdl);
  const graphNames = new Map<string, string>();
  const objects = new Map<string, ObjectTypeDefinitionNode>();
  let roots = new Set(['Query', 'Mutation', 'Subscription']);
  for (const def of doc.definitions) {
    if (def.kind === Kind.ENUM_TYPE_DEFINITION && def.name.value === 'join__Graph') {
      for (const v of def.values ?? [])
        graphNames.set(
          v.name.value,
          stringArg(
            v.directives?.find((d) => d.name.value === 'join__graph'),
            'name',
          ) ?? v.name.value.toLowerCase(),
        );
    }
    if (def.kind === Kind.OBJECT_TYPE_DEFINITION) objects.set(def.name.value, def);
    if (def.kind === Kind.SCHEMA_DEFINITION) roots = new Set(def.operationTypes.map((o) => o.type.name.value));
  }
  const graph = (d: ConstDirectiveNode): string | undefined => {
    const arg = d.arguments?.find((a) => a.name.value === 'graph')?.value;
    return arg?.kind === Kind.ENUM ? (graphNames.get(arg.value) ?? arg.value.toLowerCase()) : undefined;
  };
  interface TypeInfo {
    defining: string[];
    entity: boolean;
    keys: Set<string>;
  }
  const types = new Map<string, TypeInfo>();
  for (const [name, def] of objects) {
    const joins = def.directives?.filter((d) => d.name.value === 'join__type') ?? [];
    const keys = new Set<string>();
    let entity = false;
    for (const j of joins) {
      const key = stringArg(j, 'key');
      if (key === undefined) continue;
      if (booleanArg(j, 'resolvable') !== false) entity = true;
      for (const s of parse(`{ ${key} }`).definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? d.selectionSet.selections : []))) {
        if (s.kind === Kind.FIELD) keys.add(s.name.value);
      }
    }
    types.set(name, { defining: [...new Set(joins.map(graph).filter((g): g is string => g !== undefined))], entity: entity && !roots.has(name), keys });
  }
  /** The subgraphs that resolve a field, and whether it @requires another's fields. */
  const resolvers = (type: string, field: FieldDefinitionNode): { by: string[]; requires: boolean } => {
    const joins = field.directives?.filter((d) => d.name.value === 'join__field') ?? [];
    if (joins.length === 0 || joins.some((j) => graph(j) === undefined)) return { by: types.get(type)?.defining ?? [], requires: false };
    const own = joins.filter((j) => booleanArg(j, 'external') !== true && booleanArg(j, 'usedOverridden') !== true);
    return { by: [...new Set(own.map(graph).filter((g): g is string => g !== undefined))], requires: own.some((j) => stringArg(j, 'requires') !== undefined) };
  };
  /** The subgraphs that define an entity and do not resolve this field of it: empty when the field is safe by (a). */
  const fetchedElsewhere = (type: string, field: FieldDefinitionNode): string[] => {
    const info = types.get(type);
    if (!info?.entity || info.defining.length < 2 || info.keys.has(field.name.value)) return [];
    const { by, requires } = resolvers(type, field);
    const others = info.defining.filter((g) => !by.includes(g));
    return others.length > 0 || requires ? (others.length > 0 ? others : info.defining.filter((g) => g !== by[0])) : [];
  };
  const violations: NullabilityViolation[] = [];
  const excused = new Set<string>();
  const queryRoot = (() => {
    for (const def of doc.definitions)
      if (def.kind === Kind.SCHEMA_DEFINITION) return def.operationTypes.find((o) => o.operation === OperationTypeNode.QUERY)?.type.name.value ?? 'Query';
    return 'Query';
  })();
  const list = (names: string[]): string => (names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`);
  for (const [typeName, def] of objects) {
    for (const field of def.fields ?? []) {
      const coordinate = `${typeName}.${field.name.value}`;
      const typeText = print(field.type);
      // (c) A document may ask several partners' root fields at once: a non-null one of a partner
      // that is down would null the whole answer, the other partners' roots with it.
      if (typeName === queryRoot && field.type.kind === Kind.NON_NULL_TYPE) {
        if (coordinate in exceptions) excused.add(coordinate);
        else {
          violations.push({
            coordinate,
            rule: 'root-field',
            message: `${coordinate}: ${typeText} is a root field of ${list(resolvers(typeName, field).by)}: asked beside another partner's root field, an outage would null the whole answer; make it ${print(field.type.type)} (nullable)`,
          });
        }
        continue;
      }
      // (a)
      const elsewhere = field.type.kind === Kind.NON_NULL_TYPE ? fetchedElsewhere(typeName, field) : [];
      if (elsewhere.length > 0) {
        if (coordinate in exceptions) excused.add(coordinate);
        else {
          const by = list(resolvers(typeName, field).by);
          violations.push({
            coordinate,
            rule: 'entity-field',
            message: `${coordinate}: ${typeText} is added by ${by} to ${typeName}, an entity ${list(elsewhere)} also define${elsewhere.length === 1 ? 's' : ''}: an outage of ${by} would null the whole ${typeName} reached through ${elsewhere.length === 1 ? 'it' : 'them'}; make it ${print(field.type.kind === Kind.NON_NULL_TYPE ? field.type.type : field.type)} (nullable)`,
          });
        }
        continue;
      }
      // (b): unwrap to the position holding the entity; any nullable position on the way stops the null.
      let t: TypeNode = field.type;
      let stops = t.kind !== Kind.NON_NULL_TYPE;
      while (t.kind !== Kind.NAMED_TYPE) {
        if (t.kind === Kind.NON_NULL_TYPE) t = t.type;
        else {
          stops = true;
          break;
        }
        if (t.kind === Kind.LIST_TYPE) {
          t = t.type;
          if (t.kind !== Kind.NON_NULL_TYPE) stops = true;
        }
      }
      if (stops || t.kind !== Kind.NAMED_TYPE) continue;
      const target = objects.get(t.name.value);
      if (!target || !types.get(t.name.value)?.entity) continue;
      const own = resolvers(typeName, field).by;
      const risky = (target.fields ?? []).filter((g) => {
        if (g.type.kind !== Kind.NON_NULL_TYPE || types.get(t.name.value)?.keys.has(g.name.value)) return false;
        const { by, requires } = resolvers(t.name.value, g);
        if (!requires && own.every((s) => by.includes(s))) return false;
        // A field (a) refuses is reported there: making it nullable is the fix for both.
        return fetchedElsewhere(t.name.value, g).length === 0 || `${t.name.value}.${g.name.value}` in exceptions;
      });
      if (risky.length === 0) continue;
      if (coordinate in exceptions) {
        excused.add(coordinate);
        continue;
      }
      const fix =
        field.type.kind === Kind.NON_NULL_TYPE && field.type.type.kind === Kind.LIST_TYPE
          ? `${print(field.type.type)} (the list nullable) or its items nullable`
          : `${print(field.type.kind === Kind.NON_NULL_TYPE ? field.type.type : field.type)} (nullable)`;
      const g = risky[0]!;
      violations.push({
        coordinate,
        rule: 'reference',
        message: `${coordinate}: ${typeText} is resolved by ${list(own)} and refers to ${t.name.value}, whose non-null ${t.name.value}.${g.name.value} comes from ${list(resolvers(t.name.value, g).by)}: an outage there would null the ${typeName} holding it; make it ${fix}`,
      });
    }
  }
  for (const coordinate of Object.keys(exceptions)) {
    if (!excused.has(coordinate)) {
      violations.push({
        coordinate,
        rule: 'stale-exception',
        message: `${coordinate} is listed in schema/nullability-exceptions.json but the rule does not refuse it (any more): remove it from the file`,
      });
    }
  }
  return violations;
}

const stringArg = (d: ConstDirectiveNode | undefined, name: string): string | undefined => {
  const v = d?.arguments?.find((a) => a.name.value === name)?.value;
  return v?.kind === Kind.STRING ? v.value : undefined;
};
const booleanArg = (d: ConstDirectiveNode | undefined, name: string): boolean | undefined => {
  const v = d?.arguments?.find((a) => a.name.value === name)?.value;
  return v?.kind === Kind.BOOLEAN ? v.value : undefined;
};

export const SUPERGRAPH_FILE = schemaFile('supergraph');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const { supergraphSdl, errors, hints } = compose();
  for (const e of errors) console.error(`error: ${e}`);
  const open = unacceptedHints(hints);
  for (const h of open) console.error(`hint ${h.code}: ${h.message}`);
  if (!supergraphSdl || open.length > 0) process.exit(1);
  const current = readFileSync(SUPERGRAPH_FILE, 'utf8');
  if (check) {
    if (current !== supergraphSdl) {
      console.error('schema/supergraph.graphql is stale: run npm run compose');
      process.exit(1);
    }
    console.log('schema/supergraph.graphql is current');
  } else {
    // A new file renamed over the old one: a gateway watching it never reads half a supergraph.
    writeFileSync(`${SUPERGRAPH_FILE}.tmp`, supergraphSdl);
    renameSync(`${SUPERGRAPH_FILE}.tmp`, SUPERGRAPH_FILE);
    console.log(`wrote schema/supergraph.graphql (${supergraphSdl.length} bytes)`);
  }
}
