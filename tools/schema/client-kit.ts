/**
 * `npm run client-kit`: writes the client kit for partner frontends from `schema/supergraph.graphql`
 * into `client/`: the API schema for codegen, the possible types of abstract types, and Apollo
 * Client type policies (keyFields for every type with an identity, relay-style pagination for every
 * connection). `-- --check` only verifies the committed files are current.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Supergraph, printSchema } from '@apollo/federation-internals';
import {
  type DocumentNode,
  type GraphQLSchema,
  type SelectionSetNode,
  Kind,
  buildSchema,
  getNamedType,
  isAbstractType,
  isNonNullType,
  isObjectType,
  isScalarType,
  parse,
} from 'graphql';
import { SUPERGRAPH_FILE } from './compose.js';

/** Apollo Client's `keyFields` specifier: field names, a nested array after a field selecting in it. */
export type KeySpecifier = (string | KeySpecifier)[];

/** What the kit says about one type. */
export interface TypeKit {
  /** The fields that identify an object of the type in a client's cache. */
  keyFields?: KeySpecifier;
  /** Where the identity comes from: the `@key` of an entity, or an `id: ID!` field. */
  keySource?: 'key' | 'id';
  /** Connection fields and their key arguments (`false`: none, one list per parent). */
  connections: Record<string, string[] | false>;
}

/** The client kit derived from a supergraph. */
export interface ClientKit {
  /** The API schema as clients see it (no federation internals). */
  schema: GraphQLSchema;
  /** Its SDL. */
  schemaSdl: string;
  /** Union and interface names and their member types. */
  possibleTypes: Record<string, string[]>;
  /** Per type name: identity and connections (types with neither are left out). */
  types: Record<string, TypeKit>;
}

/** The files of the kit, by path relative to the repository. */
export const CLIENT_FILES = ['client/schema.graphql', 'client/possible-types.json', 'client/type-policies.ts'] as const;

/** Arguments that page a connection rather than select which list it is. */
const PAGING_ARGS = new Set(['first', 'after', 'last', 'before']);

/** A `@key(fields:)` selection as Apollo's keyFields: `owner { id } year` is `['owner', ['id'], 'year']`. */
export function keySpecifier(fields: string): KeySpecifier {
  const doc = parse(`{ ${fields} }`);
  const walk = (set: SelectionSetNode): KeySpecifier =>
    set.selections.flatMap((s) => {
      if (s.kind !== Kind.FIELD) throw new Error(`a key selects fields only: ${fields}`);
      return s.selectionSet ? [s.name.value, walk(s.selectionSet)] : [s.name.value];
    });
  const [op] = doc.definitions;
  if (op?.kind !== Kind.OPERATION_DEFINITION) throw new Error(`not a key: ${fields}`);
  return walk(op.selectionSet);
}

/** The `@key`s of each type in the supergraph's `@join__type` directives, first subgraph's first key. */
function supergraphKeys(document: DocumentNode): Map<string, string> {
  const keys = new Map<string, string>();
  for (const def of document.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    for (const d of def.directives ?? []) {
      if (d.name.value !== 'join__type') continue;
      const key = d.arguments?.find((a) => a.name.value === 'key');
      if (key?.value.kind === Kind.STRING && !keys.has(def.name.value)) keys.set(def.name.value, key.value.value);
    }
  }
  return keys;
}

/** Derives the kit from a supergraph SDL. */
export function buildClientKit(supergraphSdl: string): ClientKit {
  const schemaSdl = printSchema(Supergraph.build(supergraphSdl, { supportedFeatures: null }).apiSchema());
  const schema = buildSchema(schemaSdl);
  const keys = supergraphKeys(parse(supergraphSdl));
  const possibleTypes: Record<string, string[]> = {};
  const types: Record<string, TypeKit> = {};
  const mutation = schema.getMutationType()?.name;
  for (const type of Object.values(schema.getTypeMap()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (type.name.startsWith('__')) continue;
    if (isAbstractType(type))
      possibleTypes[type.name] = schema
        .getPossibleTypes(type)
        .map((t) => t.name)
        .sort();
    if (!isObjectType(type) || type.name === mutation) continue;
    const kit: TypeKit = { connections: {} };
    const key = keys.get(type.name);
    const id = type.getFields().id;
    if (key !== undefined) {
      kit.keyFields = keySpecifier(key);
      kit.keySource = 'key';
    } else if (id && isNonNullType(id.type) && isScalarType(id.type.ofType) && id.type.ofType.name === 'ID') {
      kit.keyFields = ['id'];
      kit.keySource = 'id';
    }
    for (const field of Object.values(type.getFields())) {
      const target = getNamedType(field.type);
      if (!isObjectType(target) || !target.getFields().edges || !target.getFields().pageInfo) continue;
      const keyArgs = field.args.map((a) => a.name).filter((a) => !PAGING_ARGS.has(a));
      kit.connections[field.name] = keyArgs.length > 0 ? keyArgs : false;
    }
    if (kit.keyFields || Object.keys(kit.connections).length > 0) types[type.name] = kit;
  }
  return { schema, schemaSdl, possibleTypes, types };
}

const HEADER = 'Generated by `npm run client-kit` from schema/supergraph.graphql: do not edit.';

/** The kit's files, by path (see {@link CLIENT_FILES}). */
export function clientKitFiles(kit: ClientKit): Record<(typeof CLIENT_FILES)[number], string> {
  const lines: string[] = [];
  for (const [name, t] of Object.entries(kit.types)) {
    const parts: string[] = [];
    if (t.keyFields) parts.push(`keyFields: ${JSON.stringify(t.keyFields).replace(/"/g, "'").replace(/,/g, ', ')},`);
    const fields = Object.entries(t.connections);
    if (fields.length > 0) {
      parts.push('fields: {');
      for (const [field, args] of fields)
        parts.push(`  ${field}: relayStylePagination(${args ? JSON.stringify(args).replace(/"/g, "'").replace(/,/g, ', ') : 'false'}),`);
      parts.push('},');
    }
    const why = t.keySource === 'key' ? ' // an entity: its @key' : t.keySource === 'id' ? ' // its id' : '';
    lines.push(`  ${name}: {${why}`, ...parts.map((p) => `    ${p}`), '  },');
  }
  const policies = [
    `// ${HEADER}`,
    "import { type TypePolicies } from '@apollo/client';",
    "import { relayStylePagination } from '@apollo/client/utilities';",
    '',
    '/**',
    ' * Apollo Client type policies for the Partnerskap API: `keyFields` for every type with an identity',
    " * (an entity's `@key`, else its `id`), and relay-style pagination with the list's key arguments for",
    ' * every connection (pages merged by keyset cursor). Use with `new InMemoryCache({ possibleTypes, typePolicies })`.',
    ' */',
    'export const typePolicies: TypePolicies = {',
    ...lines,
    '};',
    '',
  ].join('\n');
  return {
    'client/schema.graphql': `# ${HEADER}\n# The API schema as clients see it, for codegen.\n\n${kit.schemaSdl}\n`,
    'client/possible-types.json': `${JSON.stringify(kit.possibleTypes, null, 2)}\n`,
    'client/type-policies.ts': policies,
  };
}

const ROOT = new URL('../../', import.meta.url);
/** The absolute path of a kit file. */
export const clientFile = (path: string): string => fileURLToPath(new URL(path, ROOT));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const files = clientKitFiles(buildClientKit(readFileSync(SUPERGRAPH_FILE, 'utf8')));
  let stale = 0;
  for (const [path, text] of Object.entries(files)) {
    let current: string | undefined;
    try {
      current = readFileSync(clientFile(path), 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    if (check) {
      console.error(`${path} is stale: run npm run client-kit`);
      stale++;
    } else {
      writeFileSync(`${clientFile(path)}.tmp`, text);
      renameSync(`${clientFile(path)}.tmp`, clientFile(path));
      console.log(`wrote ${path} (${text.length} bytes)`);
    }
  }
  if (stale > 0) process.exit(1);
  if (check) console.log('the client kit is current');
}
