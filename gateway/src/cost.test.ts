import { readFileSync, readdirSync } from 'node:fs';
import { Kind, type TypeNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CPU_US_PER_COST_UNIT, DEFAULT_LIST_SIZE, createCostEstimator } from './cost.js';
import { DEFAULT_LIMITS } from './limits.js';

const supergraphSdl = readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8');
const operationsDir = new URL('../../operations/', import.meta.url);
const estimate = createCostEstimator(supergraphSdl);
const cost = (query: string, variables?: Record<string, unknown>, operationName?: string): number => estimate(parse(query), variables, operationName);

/*
 * Costs by hand, with the weights the supergraph carries: an object 1, a scalar or enum 0; @cost 5 on
 * Study.applicants/admitted/waitlisted/vacantSeats/approvedApplications/rating, 110 on Subject.rating;
 * connections sized by `first` (default 20) through `edges`; counties 15, subjects 10,
 * Subject.requirements 3, RatingSummary.byTopic 5; a mutation 10 before its fields.
 */
const table: { name: string; query: string; variables?: Record<string, unknown>; expected: number }[] = [
  {
    name: 'scalars under one object',
    query: '{ study(id: "K2ENG1510-2024") { id code name credits places } }',
    expected: 1, // study 1 + five scalars 0
  },
  {
    name: '__typename is free',
    query: '{ __typename study(id: "K2ENG1510-2024") { __typename id } }',
    expected: 1, // __typename 0 + study 1 + __typename 0 + id 0
  },
  {
    name: 'nested lists: studies -> edges -> node -> institution, rating',
    query: '{ studies(first: 3) { totalCount edges { node { id institution { name } rating { average byTopic { topic average } } } } } }',
    expected: 40, // studies 1 + edges 3 * (edge 1 + node 1 + institution 1 + rating 5 + byTopic 5 * 1) = 1 + 3 * 13
  },
  {
    name: '`first` as a literal',
    query: '{ statements(first: 7) { edges { node { id union { name } } } } }',
    expected: 22, // statements 1 + 7 * (edge 1 + node 1 + union 1)
  },
  {
    name: '`first` from the variables',
    query: 'query ($n: Int) { statements(first: $n) { edges { node { id union { name } } } } }',
    variables: { n: 2 },
    expected: 7, // 1 + 2 * 3
  },
  {
    name: '`first` left out: the SDL default 20',
    query: '{ statements { edges { node { id } } } }',
    expected: 41, // 1 + 20 * (edge 1 + node 1)
  },
  {
    name: '`first` a variable not sent: the SDL default 20',
    query: 'query ($n: Int) { statements(first: $n) { edges { node { id } } } }',
    variables: {},
    expected: 41, // 1 + 20 * 2
  },
  {
    name: "`first` a variable not sent, with the operation's own default",
    query: 'query ($n: Int = 50) { statements(first: $n) { edges { node { id } } } }',
    variables: {},
    expected: 101, // 1 + 50 * 2
  },
  {
    name: '`first` negative: the SDL default 20',
    query: 'query ($n: Int) { statements(first: $n) { edges { node { id } } } }',
    variables: { n: -5 },
    expected: 41, // 1 + 20 * 2
  },
  {
    name: 'plain lists sized by assumedSize',
    query: '{ counties { name } subjects { code rating { count } requirements { credits } } }',
    expected: 1155, // counties 15 * 1 + subjects 10 * (subject 1 + rating 110 + requirements 3 * 1) = 15 + 1140
  },
  {
    name: 'a named fragment and an inline fragment',
    query: 'query { study(id: "x") { ...Figures ... on Study { institution { name } } } } fragment Figures on Study { applicants admitted rating { count } }',
    expected: 17, // study 1 + applicants 5 + admitted 5 + rating 5 + institution 1
  },
  {
    name: 'sizedFields through a fragment on the connection',
    query: '{ studies(first: 4) { ...Page } } fragment Page on StudyConnection { edges { node { institution { name } } } }',
    expected: 13, // studies 1 + 4 * (edge 1 + node 1 + institution 1)
  },
  {
    name: 'one study with its institution',
    query: '{ a: study(id: "1") { institution { name } } }',
    expected: 2, // study 1 + institution 1
  },
  {
    name: 'two aliased copies cost double',
    query: '{ a: study(id: "1") { institution { name } } b: study(id: "2") { institution { name } } }',
    expected: 4, // 2 * (study 1 + institution 1)
  },
  {
    name: 'a literal @include(if: false) is free, a variable condition is counted',
    query: 'query ($x: Boolean!) { study(id: "x") { institution @skip(if: $x) { name } applicants @include(if: false) } }',
    variables: { x: true },
    expected: 2, // study 1 + institution 1 (counted: an upper bound) + applicants 0 (never asked)
  },
  {
    name: '@requires: the required selection counts',
    query: '{ application(id: "a") { status } }',
    expected: 3, // application 1 + status 0 + its @requires: ownerDecision 1 + funding 1
  },
  {
    name: 'a mutation: base 10',
    query: 'mutation { cancelStudy(id: "x") { id status } }',
    expected: 11, // 10 + study 1
  },
  {
    name: 'a mutation with an input object literal',
    query: 'mutation { publishStatement(input: { topic: COST, title: "T", body: "B" }) { id union { name } } }',
    expected: 13, // 10 + statement 1 + union 1 + input object 1 (its scalar fields 0)
  },
  {
    name: 'a mutation with input objects in a list, from the variables',
    query: 'mutation ($input: CompetencePlanInput!) { saveCompetencePlan(year: 2025, input: $input) { year } }',
    variables: {
      input: {
        budgetNok: 1,
        priorities: [
          { subject: 'MAT', gradeBand: 'GRADES_1_7', targetTeachers: 2 },
          { subject: 'ENG', gradeBand: 'GRADES_1_7', targetTeachers: 1 },
        ],
      },
    },
    expected: 14, // 10 + plan 1 + input 1 + priorities (list 0 + 2 objects * 1)
  },
  {
    name: 'the README example (operations/english-studies.graphql)',
    query: readFileSync(new URL('english-studies.graphql', operationsDir), 'utf8'),
    variables: { owner: '4601' },
    // studies 1 + filter (an input object) 1 + pageInfo 1
    // + edges 5 * (edge 1 + node 1 + institution 1 + vacantSeats 5 (+ its required places 0) + approvedApplications 5 + rating 5) = 3 + 5 * 18
    expected: 93,
  },
];

describe('createCostEstimator', () => {
  it.each(table)('$name costs $expected', ({ query, variables, expected }) => {
    expect(cost(query, variables)).toBe(expected);
  });

  it('keeps the cost of a document per shape of its variables: another subject costs the same without a walk, another page size or a string for an Int does not reuse it', () => {
    const est = createCostEstimator(supergraphSdl);
    const text = 'query ($s: ID, $n: Int) { studies(filter: { subject: $s }, first: $n) { edges { node { id rating { average } } } } }';
    const document = parse(text);
    // The oracle: a freshly parsed document each time, never cached.
    const fresh = (variables: Record<string, unknown>) => cost(text, variables);
    const first = est(document, { s: 'MAT', n: 3 });
    expect(first).toBe(fresh({ s: 'MAT', n: 3 }));
    expect(est(document, { s: 'ENG', n: 3 })).toBe(first);
    expect(est(document, { s: 'ENG', n: 10 })).toBe(fresh({ s: 'ENG', n: 10 }));
    expect(est(document, { s: 'ENG', n: 10 })).toBeGreaterThan(first);
    // Not a usable page size: the list's assumed size, never the cached cost of a number.
    expect(est(document, { s: 'ENG', n: '3' })).toBe(fresh({ s: 'ENG', n: '3' }));
    expect(est(document, { s: 'ENG', n: '3' })).not.toBe(first);
    // No subject given (no value in the filter) is another shape too.
    expect(est(document, { n: 3 })).toBe(fresh({ n: 3 }));
  });

  it('costs a 100-item page with deep nesting far more than a 5-item one', () => {
    const deep = `query ($n: Int) { schoolOwners(first: $n) { edges { node { teachers(first: $n) { edges { node {
      applications { study { applicants vacantSeats rating { byTopic { average } } feedback(first: $n) { edges { node { topics { rating } } } } } } } } } } } } }`;
    const small = cost(deep, { n: 5 });
    const large = cost(deep, { n: 100 });
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThan(small * 1000);
    console.log(`deep nesting: first 5 costs ${small}, first 100 costs ${large}`);
  });

  it('costs the named operation of several, and the dearest when none is named', () => {
    const doc = 'query Cheap { study(id: "x") { id } } query Dear { counties { name } }';
    expect(cost(doc, {}, 'Cheap')).toBe(1);
    expect(cost(doc, {}, 'Dear')).toBe(15);
    expect(cost(doc, {})).toBe(15);
  });

  it('ends on a fragment that spreads itself (invalid: validation refuses it)', () => {
    expect(cost('{ study(id: "x") { ...A } } fragment A on Study { institution { name } ...A }')).toBe(2);
  });

  it("reads @cost and @listSize under their federation__ names and the cost link's aliases", () => {
    const sdl = `
      schema @link(url: "https://specs.apollo.dev/cost/v0.1", as: "price", import: [{ name: "@listSize", as: "@size" }]) { query: Query }
      type Query {
        fed(first: Int = 3): [Item!]! @federation__listSize(slicingArguments: ["first"]) @federation__cost(weight: 2)
        aliased: [Item!]! @size(assumedSize: 4)
        one: Item
        unsized: [Plain!]!
      }
      type Item @price(weight: 7) { id: ID! }
      type Plain { id: ID! }`;
    const est = createCostEstimator(sdl);
    expect(est(parse('{ fed { id } }'), undefined)).toBe(6); // 3 * field weight 2 (over the type's 7)
    expect(est(parse('{ aliased { id } }'), undefined)).toBe(28); // 4 * type weight 7
    expect(est(parse('{ one { id } }'), undefined)).toBe(7);
    expect(est(parse('{ unsized { id } }'), undefined)).toBe(DEFAULT_LIST_SIZE);
  });

  it('finds @listSize on every list the supergraph returns, or its parent sizes it (the default size never applies)', () => {
    const doc = parse(supergraphSdl);
    const listDepth = (t: TypeNode): number => (t.kind === Kind.NAMED_TYPE ? 0 : (t.kind === Kind.LIST_TYPE ? 1 : 0) + listDepth(t.type));
    const named = (t: TypeNode): string => (t.kind === Kind.NAMED_TYPE ? t.name.value : named(t.type));
    const sized = new Set<string>();
    const unsized: string[] = [];
    const objects = doc.definitions.filter((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION);
    for (const type of objects) {
      for (const f of type.fields ?? []) {
        const listSize = f.directives?.find((d) => d.name.value === 'listSize');
        const sizedFields = listSize?.arguments?.find((a) => a.name.value === 'sizedFields')?.value;
        if (sizedFields?.kind === Kind.LIST) for (const v of sizedFields.values) if (v.kind === Kind.STRING) sized.add(`${named(f.type)}.${v.value}`);
      }
    }
    for (const type of objects) {
      for (const f of type.fields ?? []) {
        const coordinate = `${type.name.value}.${f.name.value}`;
        if (listDepth(f.type) > 0 && !f.directives?.some((d) => d.name.value === 'listSize') && !sized.has(coordinate)) unsized.push(coordinate);
      }
    }
    expect(unsized).toEqual([]);
  });
});

describe('the registered operations', () => {
  const samples = JSON.parse(readFileSync(new URL('variables.json', operationsDir), 'utf8')) as Record<string, { variables?: Record<string, unknown> }>;
  const files = readdirSync(operationsDir)
    .filter((f) => f.endsWith('.graphql'))
    .sort();

  it('each costs a finite positive amount (the table helps pick a limit)', () => {
    const rows = files.map((file) => {
      const document = parse(readFileSync(new URL(file, operationsDir), 'utf8'));
      const variables = samples[file]?.variables ?? {};
      // The same operation at the largest page a client may ask for (`first` is 1 to 100).
      const fullPages = 'first' in variables ? estimate(document, { ...variables, first: 100 }) : undefined;
      return { file, variables: JSON.stringify(variables), cost: estimate(document, variables), fullPages };
    });
    for (const { cost: c } of rows) {
      expect(Number.isFinite(c)).toBe(true);
      expect(c).toBeGreaterThan(0);
    }
    const width = Math.max(...rows.map((r) => r.file.length));
    console.log(
      [
        `${'operation'.padEnd(width)}  cost  first: 100  sample variables`,
        ...rows.map((r) => `${r.file.padEnd(width)}  ${String(r.cost).padStart(4)}  ${String(r.fullPages ?? '-').padStart(10)}  ${r.variables}`),
      ].join('\n'),
    );
  });
});

/** Every report field a public caller may ask for, with every breakdown. */
const REPORT = `offers { subject gradeBand offers cancelled places }
  funding { funded notFunded bySubject { key funded notFunded } byGradeBand { key funded } byCounty { key funded } split { scheme participants stateNok ownerNok teacherNok stateFtes ownerFtes teacherFtes } }
  requirements { subject gradeBand credits }
  applications { total { applications admitted waitlisted rejected withdrawn completed credits } bySubject { key applications admitted } byGradeBand { key applications } byCounty { key applications admitted } }
  vacantSeats { subject places admitted vacant }
  decisions { total { approved refused refusalRate confirmed } bySubject { key approved refused } byGradeBand { key approved } byCounty { key approved refused refusalRate } reasons { reason count } }
  competence { subject teachers below share }
  ratings { overall { count average byTopic { topic average } } bySubject { key rating { count average } } byCounty { key rating { average } } }`;

describe('the reports cost what they make the backend do', () => {
  /*
   * CPU ms per request at the demo volume (npm run bench:cost, two runs of 10 and 20 rounds on the
   * 2-core machine, the larger figure): each field alone over the same request without it.
   */
  const measured: { name: string; query: string; cpuMs: number }[] = [
    { name: 'offers', query: '{ insights(year: 2024) { offers { subject gradeBand offers cancelled places } } }', cpuMs: 3.9 },
    {
      name: 'funding',
      query: '{ insights(year: 2024) { funding { funded bySubject { key funded } byCounty { key funded } split { scheme stateNok } } } }',
      cpuMs: 23.8,
    },
    {
      name: 'applications',
      query: '{ insights(year: 2024) { applications { total { applications } bySubject { key applications } byCounty { key applications } } } }',
      cpuMs: 67.2,
    },
    { name: 'vacantSeats', query: '{ insights(year: 2024) { vacantSeats { subject vacant } } }', cpuMs: 20.5 },
    {
      name: 'decisions',
      query: '{ insights(year: 2024) { decisions { total { approved } bySubject { key approved } byCounty { key approved } reasons { reason count } } } }',
      cpuMs: 41.5,
    },
    { name: 'competence', query: '{ insights(year: 2024) { competence { subject teachers below share } } }', cpuMs: 246.5 },
    {
      name: 'ratings',
      query: '{ insights(year: 2024) { ratings { overall { average } bySubject { key rating { average } } byCounty { key rating { average } } } } }',
      cpuMs: 24.7,
    },
    { name: 'a whole year, every field', query: `{ insights(year: 2024) { year ${REPORT} } }`, cpuMs: 404.6 },
    { name: 'the trend, every field', query: `{ insightsTrend { year ${REPORT} } }`, cpuMs: 713.3 },
    { name: 'the insights page', query: readFileSync(new URL('insights-funnel.graphql', operationsDir), 'utf8'), cpuMs: 118.1 },
    { name: "an owner's decision figures", query: '{ schoolOwner(id: "4601") { decisionFigures(year: 2024) { approved } } }', cpuMs: 18.2 },
    { name: "the subjects' ratings", query: '{ subjects { code rating { average } } }', cpuMs: 45.1 },
  ];

  it.each(measured)('$name: the estimate is within a factor of 2 of the measured CPU in units', ({ query, cpuMs }) => {
    const units = (cpuMs * 1000) / CPU_US_PER_COST_UNIT;
    const estimated = cost(query, { year: 2024 });
    expect(estimated).toBeGreaterThanOrEqual(units / 2);
    expect(estimated).toBeLessThanOrEqual(units * 2);
  });

  it("a whole year with every field is over the public cost limit, not the partners'; with every trend year over both; the insights page is well under either", () => {
    expect(cost(`{ insights(year: 2024) { year ${REPORT} } }`)).toBeGreaterThan(DEFAULT_LIMITS.cost);
    expect(cost(`{ insights(year: 2024) { year ${REPORT} } }`)).toBeLessThanOrEqual(DEFAULT_LIMITS.partnerCost);
    expect(cost(`{ insights(year: 2024) { year ${REPORT} } insightsTrend { year ${REPORT} } }`)).toBeGreaterThan(DEFAULT_LIMITS.partnerCost);
    expect(cost(readFileSync(new URL('insights-funnel.graphql', operationsDir), 'utf8'), { year: 2024 })).toBeLessThanOrEqual(DEFAULT_LIMITS.cost / 2);
  });
});
