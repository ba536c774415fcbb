/**
 * The public contract: the part of the supergraph a caller without a token may see, chosen by
 * `@tag(name: "public")` in the subgraphs' contracts and built into an API schema of its own (a
 * "contract" in Apollo's words, which Apollo sells as a hosted feature). `npm run compose` writes it
 * to `schema/public.graphql`; the gateway validates and introspects the public's operations against
 * it (plugins/use-public-contract.ts), so no type that holds personal data is reachable, or even
 * named, for the public.
 *
 * The rules (Apollo's contract rules with only an include tag, simplified):
 * 1. An object or interface type is a candidate when it carries the tag or one of its fields does.
 * 2. A field of a candidate is included when it or its type carries the tag, it is not guarded
 *    (`@authenticated`, `@requiresScopes` or `@policy` on the field or on its type: the public can
 *    never read those), and its return type and the types of its required arguments are included.
 *    A candidate with no included field is left out, and so, in turn, are the fields returning it.
 * 3. What is included is then walked from the root types through the included fields (their return
 *    and argument types), union members, implemented interfaces and implementations, and input
 *    fields: whatever is not reached is left out. Enums, scalars, unions and input types need no
 *    tag: being reached decides. A root `Mutation` with no included field is left out whole.
 * 4. A tagged element that is guarded contradicts itself (the tag publishes it, the guard refuses
 *    the public): the contract is refused with a message naming it, and so is a contract without
 *    any root query field. Tags on anything else (arguments, enum values, input fields) mean nothing.
 * 5. Everything left out gets `@inaccessible` in a copy of the supergraph, from which Apollo's
 *    federation-internals compute the API schema, with its own checks that the result is consistent.
 */
import { Supergraph } from '@apollo/federation-internals';
import { readGuards } from '@partnerskap/common';
import {
  type ConstDirectiveNode,
  type DefinitionNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type GraphQLSchema,
  type InputValueDefinitionNode,
  Kind,
  type TypeDefinitionNode,
  type TypeNode,
  isTypeDefinitionNode,
  parse,
  print,
  printSchema,
} from 'graphql';

/** The tag of the public contract. */
export const PUBLIC_TAG = 'public';

/** Options of {@link publicContract}. */
export interface PublicContractOptions {
  /** The `@tag(name:)` that publishes an element (default {@link PUBLIC_TAG}). */
  tag?: string;
}

/** A supergraph's public contract. */
export interface PublicContract {
  /** The tag it was built from. */
  tag: string;
  /** The supergraph with `@inaccessible` on everything the contract leaves out. */
  supergraphSdl: string;
  /** The contract's API schema: what the public's operations are validated and introspected against. */
  apiSchema: GraphQLSchema;
  /** The API schema printed (graphql-js's `printSchema`, in the supergraph's order): `schema/public.graphql` without its header. */
  sdl: string;
  /** What it leaves out, sorted: types (`Application`), fields (`Study.feedback`), arguments (`Type.field(arg:)`) and input fields. */
  excluded: string[];
}

const GUARD_DIRECTIVES = new Set(['authenticated', 'requiresScopes', 'policy']);
const BUILT_IN_SCALARS = new Set(['String', 'Int', 'Float', 'Boolean', 'ID']);
const INACCESSIBLE_LINK = 'https://specs.apollo.dev/inaccessible/v0.2';
const INACCESSIBLE_LOCATIONS =
  'FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION';

const stringArg = (directive: ConstDirectiveNode, name: string): string | undefined => {
  const value = directive.arguments?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
};

/** The name a spec's directive has in the supergraph (its `@link`'s `as`, or its own), or undefined when it is not linked. */
function linkedName(document: DocumentNode, spec: string): string | undefined {
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'link' || !stringArg(directive, 'url')?.startsWith(`https://specs.apollo.dev/${spec}/v`)) continue;
      return stringArg(directive, 'as') ?? spec;
    }
  }
  return undefined;
}

const namedType = (type: TypeNode): string => (type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type));
/** Required: non-null without a default (an argument or input field the caller must give). */
const required = (value: InputValueDefinitionNode): boolean => value.type.kind === Kind.NON_NULL_TYPE && !value.defaultValue;
const guardsIn = (directives: readonly ConstDirectiveNode[] | undefined): string[] =>
  (directives ?? []).filter((d) => GUARD_DIRECTIVES.has(d.name.value)).map((d) => `@${d.name.value}`);
const withFields = (def: TypeDefinitionNode): readonly FieldDefinitionNode[] =>
  def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.INTERFACE_TYPE_DEFINITION ? (def.fields ?? []) : [];

/**
 * The public contract of a supergraph (the rules are at the top of this file), or undefined when no
 * element carries the tag: then there is no contract and nothing changes. Throws, naming them, on
 * tagged elements that are guarded, on a contract without a root query field, and on a contract
 * Apollo's API schema computation finds inconsistent.
 */
export function publicContract(supergraphSdl: string, options: PublicContractOptions = {}): PublicContract | undefined {
  const tag = options.tag ?? PUBLIC_TAG;
  const document = parse(supergraphSdl);
  const tagName = linkedName(document, 'tag');
  if (tagName === undefined) return undefined;
  const inaccessible = linkedName(document, 'inaccessible');
  const hidden = (directives: readonly ConstDirectiveNode[] | undefined) =>
    inaccessible !== undefined && (directives ?? []).some((d) => d.name.value === inaccessible);
  const tagged = (directives: readonly ConstDirectiveNode[] | undefined) =>
    (directives ?? []).some((d) => d.name.value === tagName && stringArg(d, 'name') === tag);

  // The API schema's types (the join and link specs' own types, and what is already inaccessible, left out).
  const types = new Map<string, TypeDefinitionNode>();
  for (const def of document.definitions)
    if (isTypeDefinitionNode(def) && !def.name.value.includes('__') && !hidden(def.directives)) types.set(def.name.value, def);
  const fieldsOf = (def: TypeDefinitionNode) => withFields(def).filter((f) => !hidden(f.directives));
  const anyTagged = [...types.values()].some(
    (def) =>
      tagged(def.directives) ||
      fieldsOf(def).some((f) => tagged(f.directives) || (f.arguments ?? []).some((a) => tagged(a.directives))) ||
      (def.kind === Kind.ENUM_TYPE_DEFINITION && (def.values ?? []).some((v) => tagged(v.directives))) ||
      (def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION && (def.fields ?? []).some((f) => tagged(f.directives))),
  );
  if (!anyTagged) return undefined;

  // readGuards has every object type's guarded fields (a type's guard on each of its fields); interfaces are read here.
  const guards = readGuards(document);
  const fieldGuards = (def: TypeDefinitionNode, field: FieldDefinitionNode): string[] =>
    guards.has(`${def.name.value}.${field.name.value}`) || def.kind !== Kind.OBJECT_TYPE_DEFINITION
      ? [...new Set([...guardsIn(def.directives), ...guardsIn(field.directives)])]
      : [];
  const contradictions: string[] = [];
  for (const def of types.values()) {
    if (tagged(def.directives) && guardsIn(def.directives).length > 0) contradictions.push(`${def.name.value} (${guardsIn(def.directives).join(', ')})`);
    for (const field of fieldsOf(def)) {
      if (!tagged(field.directives)) continue;
      const guarded = fieldGuards(def, field);
      if (guarded.length > 0) contradictions.push(`${def.name.value}.${field.name.value} (${guarded.join(', ')})`);
    }
  }
  if (contradictions.length > 0) {
    throw new Error(
      `the "${tag}" contract tags what callers without a token can never read (it is guarded): ${contradictions.join('; ')}. Remove the tag or the guard`,
    );
  }

  // Rules 1 and 2: what may be included, narrowed until nothing changes.
  const included = new Set<string>();
  for (const [name, def] of types) {
    if (guardsIn(def.directives).length > 0) continue;
    const objectLike = def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.INTERFACE_TYPE_DEFINITION;
    if (!objectLike || tagged(def.directives) || fieldsOf(def).some((f) => tagged(f.directives))) included.add(name);
  }
  const typeIncluded = (name: string) => BUILT_IN_SCALARS.has(name) || included.has(name);
  // Interface fields an included implementation leaves out (Apollo refuses an interface field whose implementation is inaccessible).
  const droppedFromInterfaces = new Set<string>();
  const implementations = (iface: string) =>
    [...types.values()].filter(
      (t) => (t.kind === Kind.OBJECT_TYPE_DEFINITION || t.kind === Kind.INTERFACE_TYPE_DEFINITION) && (t.interfaces ?? []).some((i) => i.name.value === iface),
    );
  const fieldIncluded = (def: TypeDefinitionNode, field: FieldDefinitionNode): boolean =>
    (tagged(field.directives) || tagged(def.directives)) &&
    fieldGuards(def, field).length === 0 &&
    !droppedFromInterfaces.has(`${def.name.value}.${field.name.value}`) &&
    typeIncluded(namedType(field.type)) &&
    (field.arguments ?? []).every((a) => !required(a) || typeIncluded(namedType(a.type)));
  for (let changed = true; changed;) {
    changed = false;
    for (const name of [...included]) {
      const def = types.get(name)!;
      let keep = true;
      if (def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.INTERFACE_TYPE_DEFINITION) keep = fieldsOf(def).some((f) => fieldIncluded(def, f));
      else if (def.kind === Kind.UNION_TYPE_DEFINITION) keep = (def.types ?? []).some((t) => typeIncluded(t.name.value));
      else if (def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION)
        keep = (def.fields ?? []).every((f) => hidden(f.directives) || !required(f) || typeIncluded(namedType(f.type)));
      if (def.kind === Kind.INTERFACE_TYPE_DEFINITION) {
        for (const field of fieldsOf(def)) {
          const coordinate = `${name}.${field.name.value}`;
          if (droppedFromInterfaces.has(coordinate) || !fieldIncluded(def, field)) continue;
          const lacking = implementations(name).some((impl) => {
            const own = fieldsOf(impl).find((f) => f.name.value === field.name.value);
            return included.has(impl.name.value) && (!own || !fieldIncluded(impl, own));
          });
          if (lacking) {
            droppedFromInterfaces.add(coordinate);
            changed = true;
          }
        }
      }
      if (!keep) {
        included.delete(name);
        changed = true;
      }
    }
  }

  // Rule 3: what the roots reach.
  const roots = new Map<string, string>([
    ['query', 'Query'],
    ['mutation', 'Mutation'],
    ['subscription', 'Subscription'],
  ]);
  for (const def of document.definitions)
    if (def.kind === Kind.SCHEMA_DEFINITION) for (const op of def.operationTypes) roots.set(op.operation, op.type.name.value);
  const queryRoot = roots.get('query')!;
  const reached = new Set<string>();
  const reach = (name: string) => {
    if (reached.has(name) || !included.has(name)) return;
    reached.add(name);
    const def = types.get(name)!;
    if (def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.INTERFACE_TYPE_DEFINITION) {
      for (const field of fieldsOf(def)) {
        if (!fieldIncluded(def, field)) continue;
        reach(namedType(field.type));
        for (const arg of field.arguments ?? []) if (!hidden(arg.directives)) reach(namedType(arg.type));
      }
      for (const iface of def.interfaces ?? []) reach(iface.name.value);
      if (def.kind === Kind.INTERFACE_TYPE_DEFINITION) for (const impl of implementations(name)) reach(impl.name.value);
    } else if (def.kind === Kind.UNION_TYPE_DEFINITION) {
      for (const member of def.types ?? []) reach(member.name.value);
    } else if (def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) {
      for (const field of def.fields ?? []) if (!hidden(field.directives)) reach(namedType(field.type));
    }
  };
  for (const root of roots.values()) reach(root);
  if (!reached.has(queryRoot)) throw new Error(`the "${tag}" contract has no field of ${queryRoot}: tag at least one root query field the public may read`);

  // What is left out, by coordinate.
  const excluded = new Set<string>();
  for (const [name, def] of types) {
    if (!reached.has(name)) {
      excluded.add(name);
      continue;
    }
    for (const field of fieldsOf(def)) {
      const coordinate = `${name}.${field.name.value}`;
      if (!fieldIncluded(def, field)) {
        excluded.add(coordinate);
        continue;
      }
      for (const arg of field.arguments ?? [])
        if (!hidden(arg.directives) && !typeIncluded(namedType(arg.type))) excluded.add(`${coordinate}(${arg.name.value}:)`);
    }
    if (def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION)
      for (const field of def.fields ?? []) if (!hidden(field.directives) && !typeIncluded(namedType(field.type))) excluded.add(`${name}.${field.name.value}`);
  }

  // Rule 5: the supergraph with @inaccessible on each, and the API schema Apollo computes from it.
  const contractSdl = print(withInaccessible(document, excluded, inaccessible));
  let apiSchema: GraphQLSchema;
  try {
    // The supergraph was validated where it came from; the API schema computation checks what @inaccessible does to it.
    apiSchema = Supergraph.build(contractSdl, { supportedFeatures: null }).apiSchema().toGraphQLJSSchema();
  } catch (e) {
    throw new Error(`the "${tag}" contract is not a consistent schema: ${(e as Error).message}`, { cause: e });
  }
  return { tag, supergraphSdl: contractSdl, apiSchema, sdl: printSchema(apiSchema), excluded: [...excluded].sort() };
}

/** The document with `@inaccessible` on each coordinate (the spec linked and its directive defined when the supergraph lacks them). */
function withInaccessible(document: DocumentNode, excluded: ReadonlySet<string>, linkedAs: string | undefined): DocumentNode {
  const name = linkedAs ?? 'inaccessible';
  const directive: ConstDirectiveNode = { kind: Kind.DIRECTIVE, name: { kind: Kind.NAME, value: name }, arguments: [] };
  const mark = <T extends { readonly directives?: readonly ConstDirectiveNode[] | undefined }>(node: T): T => ({
    ...node,
    directives: [...(node.directives ?? []), directive],
  });
  const definitions: DefinitionNode[] = document.definitions.map((def) => {
    if (!isTypeDefinitionNode(def)) return def;
    const type = def.name.value;
    if (excluded.has(type)) return mark(def);
    if ((def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.INTERFACE_TYPE_DEFINITION) && def.fields) {
      const fields = def.fields.map((field) => {
        const coordinate = `${type}.${field.name.value}`;
        if (excluded.has(coordinate)) return mark(field);
        if (!field.arguments) return field;
        return { ...field, arguments: field.arguments.map((arg) => (excluded.has(`${coordinate}(${arg.name.value}:)`) ? mark(arg) : arg)) };
      });
      return { ...def, fields };
    }
    if (def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION && def.fields) {
      return { ...def, fields: def.fields.map((field) => (excluded.has(`${type}.${field.name.value}`) ? mark(field) : field)) };
    }
    return def;
  });
  if (linkedAs !== undefined) return { ...document, definitions };
  const link = parse(`extend schema @link(url: "${INACCESSIBLE_LINK}", for: SECURITY)`).definitions[0]!;
  const linkDirective = link.kind === Kind.SCHEMA_EXTENSION ? link.directives! : [];
  const withLink = definitions.map((def) =>
    def.kind === Kind.SCHEMA_DEFINITION ? { ...def, directives: [...(def.directives ?? []), ...linkDirective] } : def,
  );
  const declared = definitions.some((def) => def.kind === Kind.DIRECTIVE_DEFINITION && def.name.value === name);
  return {
    ...document,
    definitions: declared ? withLink : [...withLink, ...parse(`directive @${name} on ${INACCESSIBLE_LOCATIONS}`).definitions],
  };
}
