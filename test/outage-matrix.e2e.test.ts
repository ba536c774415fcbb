import { readFileSync } from 'node:fs';
import {
  type GraphQLNamedType,
  type GraphQLObjectType,
  Kind,
  type ObjectTypeDefinitionNode,
  buildSchema,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  valueFromASTUntyped,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

// One partner down never takes the others' data with it: each partner stopped in turn, every
// registered query asked as the partner it is for, and a list query per entry point. Compared with the answer when all are up, every
// value that went missing sits under an error that names its path and the partner that is down,
// with a code; an answer is wholly null only when every root field it asks belongs to that partner.
const NAMES = ['catalogue', 'admissions', 'plans', 'feedback'] as const;
type Name = (typeof NAMES)[number];
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Answer {
  data?: { [key: string]: Json } | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; partner?: string } }[];
}

const dir = new URL('../operations/', import.meta.url);
const samples = JSON.parse(readFileSync(new URL('variables.json', dir), 'utf8')) as Record<
  string,
  { as?: { role: string; org: string }; variables: Record<string, unknown> }
>;
const QUERIES = Object.keys(samples).filter((file) => /^\s*(#.*\n)*\s*query\b/.test(readFileSync(new URL(file, dir), 'utf8')));

// A list query per entry point: every root field that answers a list or a connection, asked as the
// directorate with each scalar of its items and of the objects one step below them (a field with a
// required argument or a list of its own left out), so each partner's fields on another's items are in.
const API = buildSchema(readFileSync(new URL('../client/schema.graphql', import.meta.url), 'utf8'));
const LIST_FIRST = 5;

function selectionOf(type: GraphQLNamedType, depth: number): string {
  if (!isObjectType(type) && !isInterfaceType(type)) return '';
  const fields = Object.values(type.getFields()).filter((f) => f.args.every((a) => !isNonNullType(a.type) || a.defaultValue !== undefined));
  const parts = fields.flatMap((f) => {
    const inner = getNamedType(f.type);
    if (isLeafType(inner)) return [f.name];
    if (depth === 0 || isListType(getNullableType(f.type)) || inner.name.endsWith('Connection')) return [];
    const below = selectionOf(inner, depth - 1);
    return below ? [`${f.name} { ${below} }`] : [];
  });
  return ['__typename', ...parts].join(' ');
}

const LISTS: Record<string, string> = Object.fromEntries(
  Object.values(API.getQueryType()!.getFields()).flatMap((f) => {
    const type = getNamedType(f.type);
    if (isListType(getNullableType(f.type))) return [[`list: ${f.name}`, `query List { ${f.name} { ${selectionOf(type, 1)} } }`]];
    if (!type.name.endsWith('Connection') || !isObjectType(type)) return [];
    const node = getNamedType(type.getFields().edges!.type) as GraphQLObjectType;
    const item = getNamedType(node.getFields().node!.type);
    return [[`list: ${f.name}`, `query List { ${f.name}(first: ${LIST_FIRST}) { totalCount edges { node { ${selectionOf(item, 1)} } } } }`]];
  }),
);

/** Which subgraph resolves each root query field, from the supergraph's join__field. */
const ROOT_OWNER: Map<string, string> = (() => {
  const sdl = parse(readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8'));
  const query = sdl.definitions.find((d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === 'Query')!;
  return new Map(
    (query.fields ?? []).map((f) => {
      const join = f.directives?.find((d) => d.name.value === 'join__field');
      const graph = join?.arguments?.find((a) => a.name.value === 'graph');
      return [f.name.value, graph ? String(valueFromASTUntyped(graph.value)).toLowerCase() : ''];
    }),
  );
})();

/** The paths where `degraded` holds null but `full` held a value (the first such point on each branch). */
function lostAt(full: Json, degraded: Json, path: (string | number)[] = []): (string | number)[][] {
  if (full === null || full === undefined) return [];
  if (degraded === null || degraded === undefined) return [path];
  if (Array.isArray(full) && Array.isArray(degraded)) return full.flatMap((item, i) => lostAt(item, degraded[i] ?? null, [...path, i]));
  if (typeof full === 'object' && typeof degraded === 'object' && !Array.isArray(full) && !Array.isArray(degraded)) {
    return Object.keys(full).flatMap((key) => lostAt(full[key]!, degraded[key] ?? null, [...path, key]));
  }
  return [];
}

/** The registered queries, then the list queries. */
const ASKED = [...QUERIES, ...Object.keys(LISTS)];

let h: Harness;
let teacher = '';
const full = new Map<string, Answer>();

async function ask(file: string): Promise<Answer> {
  if (LISTS[file]) return await h.query(LISTS[file], {}, { token: await h.token({ role: 'directorate' }) });
  const sample = samples[file]!;
  const fill = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll('"$teacher"', JSON.stringify(teacher))) as T;
  const as = sample.as ? fill(sample.as) : undefined;
  return await h.query(readFileSync(new URL(file, dir), 'utf8'), fill(sample.variables), as ? { token: await h.token(as as never) } : {});
}

beforeAll(async () => {
  h = await startHarness({ seedProjections: false, gateway: { subgraphCalls: { timeoutMs: 2000, connections: 8 } } });
  teacher = String((await h.dbs.admissions.collection('applications').findOne({ ownerApproved: true }))!.teacher);
  for (const file of ASKED) {
    const answer = await ask(file);
    expect(answer.errors, `${file}: ${JSON.stringify(answer.errors)}`).toBeUndefined();
    full.set(file, answer);
  }
}, 180_000);
afterAll(async () => {
  await h?.close();
});

describe.each(NAMES)('with %s down', (down: Name) => {
  beforeAll(async () => {
    await h.stopSubgraph(down);
  }, 30_000);
  afterAll(async () => {
    await h.restartSubgraph(down);
  }, 30_000);

  it.each(ASKED)("%s keeps every other partner's data; what is missing has an error with its path, the partner and a code", async (file) => {
    const answer = await ask(file);
    const before = full.get(file)!;
    const roots = Object.keys(before.data ?? {});
    if (answer.data === null || answer.data === undefined) {
      // Wholly null only when every root field it asks belongs to the partner that is down.
      expect(
        roots.map((r) => ROOT_OWNER.get(r)),
        JSON.stringify(answer.errors),
      ).toEqual(roots.map(() => down));
      return;
    }
    const errors = answer.errors ?? [];
    for (const e of errors) {
      expect(e.extensions?.code, e.message).toMatch(/^[A-Z_]+$/);
      if (/^SUBGRAPH_/.test(e.extensions?.code ?? '')) {
        expect(e.extensions?.partner, e.message).toBe(down);
        expect(e.path?.length, e.message).toBeGreaterThan(0);
      }
    }
    // Every value that went missing is under an error pointing at it or below it.
    const lost = lostAt(before.data as Json, answer.data);
    const explained = (p: (string | number)[]) => errors.some((e) => e.path && p.every((step, i) => e.path![i] === step));
    expect(lost.filter((p) => !explained(p)).map((p) => p.join('.'))).toEqual([]);
    // A root field of another partner is never lost whole.
    for (const root of roots) if (ROOT_OWNER.get(root) !== down) expect(answer.data[root], `${root} (${ROOT_OWNER.get(root)})`).not.toBeNull();
  });
});
