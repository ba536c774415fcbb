import { readFileSync, readdirSync } from 'node:fs';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  Kind,
  TypeInfo,
  getNamedType,
  isObjectType,
  parse,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { CLIENT_FILES, type KeySpecifier, buildClientKit, clientFile, clientKitFiles, keySpecifier } from './client-kit.js';
import { SUPERGRAPH_FILE } from './compose.js';

const kit = buildClientKit(readFileSync(SUPERGRAPH_FILE, 'utf8'));
const operationsDir = new URL('../../operations/', import.meta.url);
const operations = readdirSync(operationsDir)
  .filter((f) => f.endsWith('.graphql'))
  .map((file) => ({ file, document: parse(readFileSync(new URL(file, operationsDir), 'utf8')) }));

/** The top-level names of a key specifier, each with the nested specifier that follows it, if any. */
function keyParts(spec: KeySpecifier): { name: string; nested?: KeySpecifier }[] {
  const parts: { name: string; nested?: KeySpecifier }[] = [];
  for (const item of spec) {
    if (typeof item === 'string') parts.push({ name: item });
    else parts.at(-1)!.nested = item;
  }
  return parts;
}

/** The fields a selection set selects at its own level (through fragments), by response name's field name. */
function selected(set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>): Map<string, SelectionSetNode | undefined> {
  const out = new Map<string, SelectionSetNode | undefined>();
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) out.set(s.name.value, s.selectionSet);
    else {
      const inner = s.kind === Kind.INLINE_FRAGMENT ? s.selectionSet : fragments.get(s.name.value)?.selectionSet;
      if (inner) for (const [k, v] of selected(inner, fragments)) out.set(k, v);
    }
  }
  return out;
}

/** The key fields a selection set misses, as paths (`owner.id`). */
function missingKeys(set: SelectionSetNode, spec: KeySpecifier, fragments: Map<string, FragmentDefinitionNode>, prefix = ''): string[] {
  const have = selected(set, fragments);
  return keyParts(spec).flatMap(({ name, nested }) => {
    if (!have.has(name)) return [`${prefix}${name}`];
    const inner = have.get(name);
    return nested && inner ? missingKeys(inner, nested, fragments, `${prefix}${name}.`) : nested ? [`${prefix}${name}`] : [];
  });
}

/** Every place an operation selects an object of a type with keyFields without selecting them: `Type at path: missing`. */
function unkeyedSelections(schema: GraphQLSchema, document: DocumentNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const typeInfo = new TypeInfo(schema);
  const problems: string[] = [];
  const path: string[] = [];
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      FragmentDefinition: {
        enter(node) {
          path.push(`...${node.name.value}`);
        },
        leave() {
          path.pop();
        },
      },
      Field: {
        enter(node) {
          path.push(node.alias?.value ?? node.name.value);
          const type = typeInfo.getType();
          if (!node.selectionSet || !type) return;
          const named = getNamedType(type);
          const keyFields = kit.types[named.name]?.keyFields;
          if (!keyFields) return;
          const missing = missingKeys(node.selectionSet, keyFields, fragments);
          if (missing.length > 0) problems.push(`${named.name} at ${path.join('.')}: ${missing.join(', ')}`);
        },
        leave() {
          path.pop();
        },
      },
    }),
  );
  return problems;
}

describe('the client kit', () => {
  it('is current: the committed client/ files are what npm run client-kit writes', () => {
    const files = clientKitFiles(kit);
    expect(Object.keys(files)).toEqual([...CLIENT_FILES]);
    for (const [path, text] of Object.entries(files)) expect(readFileSync(clientFile(path), 'utf8'), `${path} is stale: run npm run client-kit`).toBe(text);
  });

  it('keys every entity by its @key and every other type with an id by it', () => {
    const keys = Object.fromEntries(
      Object.entries(kit.types)
        .filter(([, t]) => t.keyFields)
        .map(([name, t]) => [name, t.keyFields]),
    );
    expect(keys).toEqual({
      Application: ['id'],
      ApplicationRound: ['year'],
      CompetencePlan: ['id'],
      County: ['number'],
      Feedback: ['id'],
      FundingAllocation: ['id'],
      Insights: ['year'],
      Institution: ['orgNumber'],
      OwnerDecision: ['id'],
      PartnerEvent: ['id'],
      SchoolOwner: ['id'],
      Statement: ['id'],
      Study: ['id'],
      Subject: ['code'],
      Teacher: ['id'],
      Union: ['id'],
      Webhook: ['id'],
      WebhookDelivery: ['id'],
      WebhookRegistration: ['id'],
    });
  });

  it('has keyFields that exist on their type, nested ones on the nested type', () => {
    const check = (typeName: string, spec: KeySpecifier): string[] => {
      const type = kit.schema.getType(typeName);
      if (!isObjectType(type)) return [`${typeName} is not an object type`];
      return keyParts(spec).flatMap(({ name, nested }) => {
        const field = type.getFields()[name];
        if (!field) return [`${typeName}.${name} does not exist`];
        return nested ? check(getNamedType(field.type).name, nested) : [];
      });
    };
    for (const [name, t] of Object.entries(kit.types)) if (t.keyFields) expect(check(name, t.keyFields), name).toEqual([]);
  });

  it('pages every connection with its key arguments', () => {
    const connections = Object.fromEntries(
      Object.entries(kit.types)
        .filter(([, t]) => Object.keys(t.connections).length > 0)
        .map(([name, t]) => [name, t.connections]),
    );
    expect(connections).toEqual({
      Query: { applications: ['filter'], studies: ['filter'], statements: false, schoolOwners: ['filter'], webhookDeadLetters: false },
      SchoolOwner: { teachers: false },
      Study: { feedback: false },
    });
    // Every type named ...Connection in the API is reached by one of them.
    const paged = new Set(
      Object.entries(kit.types).flatMap(([name, t]) =>
        Object.keys(t.connections).map((f) => getNamedType((kit.schema.getType(name) as import('graphql').GraphQLObjectType).getFields()[f]!.type).name),
      ),
    );
    expect(
      Object.keys(kit.schema.getTypeMap())
        .filter((n) => n.endsWith('Connection'))
        .sort(),
    ).toEqual([...paged].sort());
  });

  it('gives every object type a mutation returns an identity, so a client cache updates what it shows', () => {
    // A report of what a mutation did (an erasure's count per partner) is no object a client shows again: nothing to update.
    const reports = new Set(['Erasure']);
    const mutation = kit.schema.getMutationType()!;
    const unkeyed = Object.values(mutation.getFields())
      .map((f) => getNamedType(f.type))
      .filter((t) => isObjectType(t) && !reports.has(t.name) && !kit.types[t.name]?.keyFields)
      .map((t) => t.name);
    expect(unkeyed).toEqual([]);
  });

  it('has no unions or interfaces yet (possible-types.json is empty but kept for when it has)', () => {
    expect(kit.possibleTypes).toEqual({});
  });

  it.each(operations)('$file selects the keyFields of every type with an identity it selects', ({ document }) => {
    expect(unkeyedSelections(kit.schema, document)).toEqual([]);
  });

  it('finds a key an operation leaves out, through fragments and nested keys', () => {
    const doc = parse('query { studies { edges { node { ...S } } } } fragment S on Study { name institution { shortName } }');
    expect(unkeyedSelections(kit.schema, doc)).toEqual(['Study at studies.edges.node: id', 'Institution at ...S.institution: orgNumber']);
    expect(keySpecifier('owner { id } year')).toEqual(['owner', ['id'], 'year']);
  });

  it('pages every list operation: a connection selected by a registered operation takes after and selects pageInfo', () => {
    const problems: string[] = [];
    for (const { file, document } of operations) {
      const typeInfo = new TypeInfo(kit.schema);
      visit(
        document,
        visitWithTypeInfo(typeInfo, {
          Field(node) {
            const type = typeInfo.getType();
            if (!type || !node.selectionSet) return;
            const named = getNamedType(type);
            if (!named.name.endsWith('Connection')) return;
            if (!node.arguments?.some((a) => a.name.value === 'after')) problems.push(`${file}: ${node.name.value} has no after`);
            if (!node.selectionSet.selections.some((s) => s.kind === Kind.FIELD && s.name.value === 'pageInfo'))
              problems.push(`${file}: ${node.name.value} selects no pageInfo`);
          },
        }),
      );
    }
    expect(problems).toEqual([]);
  });
});
