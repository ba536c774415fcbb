import { readFileSync } from 'node:fs';
import { readGuards } from '@partnerskap/common';
import { publicContract } from '@partnerskap/gateway/contract';
import {
  type GraphQLNamedType,
  type GraphQLSchema,
  buildSchema,
  getNamedType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  Kind,
  parse,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { PUBLIC_FILE, SUPERGRAPH_FILE, compose } from './compose.js';

// The public contract's rules (gateway/src/contract.ts) on two small partners composed here, and the
// committed contract walked for personal data.
const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable", "@tag", "@authenticated", "@requiresScopes", "@policy"])\n';
const partners = [
  { name: 'cat', url: 'http://cat' },
  { name: 'rate', url: 'http://rate' },
];
const PUBLIC = '@tag(name: "public")';
const cat = (edit: (sdl: string) => string = (s) => s) =>
  edit(`${LINK}
type Query {
  studies(kind: Kind, filter: Filter): [Study] ${PUBLIC}
  secret: Secret @authenticated
  audit: [Line]
}
type Mutation { publish(name: String!): Study @authenticated }
type Study @key(fields: "id") ${PUBLIC} {
  id: ID!
  name: String
  owner: Person
  notes: String @requiresScopes(scopes: [["role:directorate"]])
}
type Person @key(fields: "id") { id: ID! name: String }
type Line { at: String }
type Secret { x: Int }
type Orphan ${PUBLIC} { x: Int }
enum Kind { ONLINE CAMPUS }
input Filter { search: String }
`);
// rate adds a field to Study without tagging it there: the type is tagged (by cat), so it is public.
const rate = `${LINK}type Query { ratings: [Int] }\ntype Study @key(fields: "id") { id: ID! rating: Int }\n`;
const composeWith = (catSdl: string) => compose((name) => (name === 'cat' ? catSdl : rate), partners, {});
const contractOf = (catSdl: string) => {
  const composed = composeWith(catSdl);
  expect(composed.errors).toEqual([]);
  return publicContract(composed.supergraphSdl!);
};
const fieldsOf = (schema: GraphQLSchema, type: string): string[] => {
  const named = schema.getType(type);
  return isObjectType(named) ? Object.keys(named.getFields()) : [];
};

describe('the public contract: its rules', () => {
  it('keeps the tagged fields and the unguarded fields of tagged types, and what they reach; leaves out the rest', () => {
    const contract = contractOf(cat())!;
    expect(contract.excluded).toEqual([
      'Line',
      'Mutation',
      'Orphan',
      'Person',
      'Query.audit',
      'Query.ratings',
      'Query.secret',
      'Secret',
      'Study.notes',
      'Study.owner',
    ]);
    expect(fieldsOf(contract.apiSchema, 'Query')).toEqual(['studies']);
    expect(fieldsOf(contract.apiSchema, 'Study')).toEqual(['id', 'name', 'rating']);
    // Enums and inputs need no tag: the arguments of a public field reach them.
    expect(contract.apiSchema.getType('Kind')).toBeDefined();
    expect(contract.apiSchema.getType('Filter')).toBeDefined();
    expect(contract.apiSchema.getMutationType()).toBeUndefined();
    expect(contract.sdl).toContain('type Study {\n  id: ID!\n  name: String\n  rating: Int\n}');
  });

  it('makes a type public through a tagged field alone: only the tagged fields', () => {
    const contract = contractOf(
      cat((s) => s.replace('type Person @key(fields: "id") { id: ID! name: String }', `type Person @key(fields: "id") { id: ID! name: String ${PUBLIC} }`)),
    )!;
    expect(fieldsOf(contract.apiSchema, 'Study')).toEqual(['id', 'name', 'owner', 'rating']);
    expect(fieldsOf(contract.apiSchema, 'Person')).toEqual(['name']);
  });

  it('leaves out a field whose type has nothing public, and a candidate that nothing public reaches', () => {
    const contract = contractOf(cat((s) => s.replace('type Line { at: String }', `type Line ${PUBLIC} { at: String @authenticated }`)))!;
    expect(contract.excluded).toEqual(expect.arrayContaining(['Line', 'Orphan', 'Query.audit']));
  });

  it('is undefined when nothing is tagged: no contract, nothing changes', () => {
    const untagged = cat((s) => s.replaceAll(` ${PUBLIC}`, ''));
    const composed = composeWith(untagged);
    expect(composed.errors).toEqual([]);
    expect(composed.publicSdl).toBeUndefined();
    expect(publicContract(composed.supergraphSdl!)).toBeUndefined();
  });

  it('refuses a tagged element that is guarded, naming it: compose fails', () => {
    const guardedField = composeWith(cat((s) => s.replace('secret: Secret @authenticated', `secret: Secret @authenticated ${PUBLIC}`)));
    expect(guardedField.supergraphSdl).toBeUndefined();
    expect(guardedField.errors).toEqual([
      'the "public" contract tags what callers without a token can never read (it is guarded): Query.secret (@authenticated). Remove the tag or the guard',
    ]);
    const guardedType = composeWith(cat((s) => s.replace('type Secret { x: Int }', `type Secret @policy(policies: [["owner"]]) ${PUBLIC} { x: Int }`)));
    expect(guardedType.errors).toEqual([
      'the "public" contract tags what callers without a token can never read (it is guarded): Secret (@policy). Remove the tag or the guard',
    ]);
  });

  it('refuses a contract without a root query field', () => {
    const rootless = composeWith(
      cat((s) => s.replace(`studies(kind: Kind, filter: Filter): [Study] ${PUBLIC}`, 'studies(kind: Kind, filter: Filter): [Study]')),
    );
    expect(rootless.errors).toEqual(['the "public" contract has no field of Query: tag at least one root query field the public may read']);
  });
});

/** Every named type a schema reaches from its roots (fields, arguments, union members, interfaces, input fields). */
function reachable(schema: GraphQLSchema): Map<string, GraphQLNamedType> {
  const seen = new Map<string, GraphQLNamedType>();
  const visit = (type: GraphQLNamedType | null | undefined) => {
    if (!type || seen.has(type.name)) return;
    seen.set(type.name, type);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        visit(getNamedType(field.type));
        for (const arg of field.args) visit(getNamedType(arg.type));
      }
      for (const iface of type.getInterfaces()) visit(iface);
    }
    if (isInterfaceType(type) || isUnionType(type)) for (const member of schema.getPossibleTypes(type)) visit(member);
    if (isInputObjectType(type)) for (const field of Object.values(type.getFields())) visit(getNamedType(field.type));
  };
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) visit(root);
  return seen;
}

/** The types that hold personal data or one person's records (docs/security.md): never in the public's schema. */
const PERSONAL = [
  'Application',
  'ApplicationConnection',
  'ApplicationEdge',
  'Teacher',
  'TeacherConnection',
  'TeacherEdge',
  'TaughtSubject',
  'SubjectCredits',
  'Feedback',
  'FeedbackConnection',
  'FeedbackEdge',
  'TopicRating',
  'AuditEntry',
  'OwnerDecision',
  'AdmissionDecision',
  'Enrolment',
  'Choice',
  'FundingAllocation',
];

describe('the committed public contract holds no personal data', () => {
  const supergraph = readFileSync(SUPERGRAPH_FILE, 'utf8');
  const document = parse(supergraph);
  const guards = readGuards(document);
  // Types guarded whole (every field of theirs guarded, as Application and Teacher are by @policy).
  const typeGuarded = new Set(
    document.definitions.flatMap((d) =>
      d.kind === Kind.OBJECT_TYPE_DEFINITION && d.directives?.some((x) => ['authenticated', 'requiresScopes', 'policy'].includes(x.name.value))
        ? [d.name.value]
        : [],
    ),
  );
  const derived = publicContract(supergraph)!;
  const schemas = {
    'schema/public.graphql': buildSchema(readFileSync(PUBLIC_FILE, 'utf8')),
    'the contract the gateway derives from schema/supergraph.graphql': derived.apiSchema,
  };

  it('knows the types guarded whole', () => {
    expect([...typeGuarded]).toEqual(expect.arrayContaining(['Application', 'Teacher']));
  });

  it.each(Object.entries(schemas))('%s: no personal type reachable, no guarded field, nothing unreachable', (_, schema) => {
    const reached = reachable(schema);
    expect(PERSONAL.filter((name) => reached.has(name))).toEqual([]);
    // Structurally, whatever the names: no field of the contract is guarded in the supergraph.
    const guarded = [...reached.values()].flatMap((type) =>
      isObjectType(type) || isInterfaceType(type)
        ? Object.keys(type.getFields())
            .map((f) => `${type.name}.${f}`)
            .filter((c) => guards.has(c))
        : [],
    );
    expect(guarded).toEqual([]);
    expect([...reached.keys()].filter((name) => typeGuarded.has(name))).toEqual([]);
    // And it holds nothing but what its roots reach.
    const declared = Object.keys(schema.getTypeMap()).filter((name) => !name.startsWith('__'));
    expect(declared.filter((name) => !reached.has(name))).toEqual([]);
    expect(schema.getMutationType()).toBeUndefined();
  });

  it('the file is the contract of the committed supergraph', () => {
    expect(readFileSync(PUBLIC_FILE, 'utf8')).toContain(derived.sdl);
  });
});
