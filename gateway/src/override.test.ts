import { readFileSync } from 'node:fs';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { type QueryPlan, QueryPlanner, prettyFormatQueryPlan } from '@apollo/query-planner';
import { type GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SUPERGRAPH, loadGatewayConfig } from './config.js';
import { gatewayOptionsFrom } from './options.js';
import {
  PlanCache,
  callerBucket,
  createProgressiveOverride,
  decideOverrides,
  overrideCallerOf,
  overrideLabelsOf,
  parseOverrideLabel,
  planCacheKey,
  readOverrides,
} from './override.js';
import { type LoadedSupergraph, loadableSupergraph, readSupergraph } from './supergraph.js';

const committed = readFileSync(DEFAULT_SUPERGRAPH, 'utf8');
const withLabel = (label: string) => committed.replaceAll('overrideLabel: "percent(0)"', `overrideLabel: "${label}"`);

describe('parseOverrideLabel', () => {
  it('reads percent(N) as composition accepts it (0 to 100, up to 8 decimals) and anything else as a named label', () => {
    expect(parseOverrideLabel('percent(0)')).toEqual({ kind: 'percent', percent: 0 });
    expect(parseOverrideLabel('percent(12.5)')).toEqual({ kind: 'percent', percent: 12.5 });
    expect(parseOverrideLabel('percent(0.00000001)')).toEqual({ kind: 'percent', percent: 0.00000001 });
    expect(parseOverrideLabel('percent(100)')).toEqual({ kind: 'percent', percent: 100 });
    expect(parseOverrideLabel('percent(101)')).toEqual({ kind: 'named', name: 'percent(101)' });
    expect(parseOverrideLabel('use-admissions-credits')).toEqual({ kind: 'named', name: 'use-admissions-credits' });
  });
});

describe('readOverrides', () => {
  it('finds the committed move of Study.credits, staged at percent(0), by subgraph name', () => {
    const moves = readOverrides(parse(committed));
    expect(moves).toEqual([{ coordinate: 'Study.credits', from: 'catalogue', to: 'admissions', label: 'percent(0)' }]);
    expect(overrideLabelsOf(moves)).toEqual(new Map([['percent(0)', ['Study.credits']]]));
  });

  it('keeps a plain @override as a move without a label', () => {
    const plain = committed.replace(
      /@join__field\(graph: ADMISSIONS, override: "catalogue", overrideLabel: "percent\(0\)"\)/,
      '@join__field(graph: ADMISSIONS, override: "catalogue")',
    );
    expect(readOverrides(parse(plain))).toEqual([{ coordinate: 'Study.credits', from: 'catalogue', to: 'admissions' }]);
    expect(overrideLabelsOf(readOverrides(parse(plain))).size).toBe(0);
  });
});

describe('decideOverrides', () => {
  const labels = (label: string) => new Map([[label, ['Study.credits']]]);
  const callers = Array.from({ length: 1000 }, (_, i) => `teacher:t-${i}`);
  const share = (label: string) => callers.filter((c) => decideOverrides(labels(label), c).key === label).length / callers.length;

  it('gives an identified caller the same answer every time, and about N % of callers the label', () => {
    for (const c of callers.slice(0, 20)) expect(decideOverrides(labels('percent(30)'), c)).toEqual(decideOverrides(labels('percent(30)'), c));
    expect(share('percent(0)')).toBe(0);
    expect(share('percent(100)')).toBe(1);
    expect(share('percent(10)')).toBeCloseTo(0.1, 1);
    expect(share('percent(50)')).toBeCloseTo(0.5, 1);
  });

  it('keeps every caller already moved when the percentage is raised (the bucket does not depend on it)', () => {
    const moved = (label: string) => new Set(callers.filter((c) => decideOverrides(labels(label), c).key !== ''));
    const ten = moved('percent(10)');
    const fifty = moved('percent(50)');
    expect([...ten].every((c) => fifty.has(c))).toBe(true);
    expect(callerBucket(['Study.credits'], 'teacher:t-1')).toBe(callerBucket(['Study.credits'], 'teacher:t-1'));
    expect(callerBucket(['Study.credits'], 'teacher:t-1')).not.toBe(callerBucket(['Study.places'], 'teacher:t-1'));
  });

  it('draws the public per request, and turns a named label on only when it is enabled', () => {
    const draws = [0.05, 0.95];
    const random = () => draws.shift()!;
    expect(decideOverrides(labels('percent(10)'), undefined, { random }).key).toBe('percent(10)');
    expect(decideOverrides(labels('percent(10)'), undefined, { random }).key).toBe('');
    expect(decideOverrides(labels('use-admissions-credits'), 'directorate:').conditions).toEqual(new Map([['use-admissions-credits', false]]));
    const enabled = decideOverrides(labels('use-admissions-credits'), 'directorate:', { enabledLabels: new Set(['use-admissions-credits']) });
    expect(enabled).toEqual({ conditions: new Map([['use-admissions-credits', true]]), key: 'use-admissions-credits' });
  });

  it('knows a caller by role and organisation; the public is nobody in particular', () => {
    expect(overrideCallerOf({ role: 'teacher', org: 't-1' })).toBe('teacher:t-1');
    expect(overrideCallerOf({ role: 'directorate' })).toBe('directorate:');
    expect(overrideCallerOf({ role: 'public' })).toBeUndefined();
  });
});

describe('the plan cache', () => {
  it('keys a plan by query, operation and the labels on', () => {
    const on = { conditions: new Map([['percent(10)', true]]), key: 'percent(10)' };
    const off = { conditions: new Map([['percent(10)', false]]), key: '' };
    expect(planCacheKey('h', 'Q', on)).not.toBe(planCacheKey('h', 'Q', off));
    expect(planCacheKey('h', 'Q', off)).toBe(planCacheKey('h', 'Q', undefined));
    expect(planCacheKey('h', 'Q', undefined)).not.toBe(planCacheKey('h', null, undefined));
  });

  it('drops the least recently used plan when full', () => {
    const plans = new PlanCache(2);
    const [one, two, three]: QueryPlan[] = [{ kind: 'QueryPlan' }, { kind: 'QueryPlan' }, { kind: 'QueryPlan' }];
    plans.set('a', one!);
    plans.set('b', two!);
    plans.get('a');
    plans.set('c', three!);
    expect(plans.get('a')).toBe(one);
    expect(plans.get('b')).toBeUndefined();
    expect(plans.get('c')).toBe(three);
    expect(plans.size).toBe(2);
  });
});

describe('planning with override conditions', () => {
  it('plans a label that is off exactly as Apollo does (the catalogue), and one that is on to admissions', () => {
    const supergraph = Supergraph.build(loadableSupergraph(withLabel('percent(10)')));
    const planner = new QueryPlanner(supergraph);
    const operation = operationFromDocument(supergraph.apiSchema(), parse('{ study(id: "K2ENG1510-2024") { name credits } }'));
    const planOf = (conditions?: Map<string, boolean>) =>
      prettyFormatQueryPlan(planner.buildQueryPlan(operation, conditions ? { overrideConditions: conditions } : undefined));
    const apollo = planOf();
    expect(apollo).not.toMatch(/admissions/);
    expect(planOf(new Map([['percent(10)', false]]))).toBe(apollo);
    expect(planOf(new Map([['percent(10)', true]]))).toMatch(/Fetch\(service: "admissions"\)[\s\S]*credits/);
  });
});

describe('createProgressiveOverride', () => {
  const schema = buildSchema('type Query { a: Int }');
  const request = (identity: object, metrics?: object) => ({ schema, context: { identity, metrics } }) as unknown as GatewayGraphQLRequestContext;
  const decided: [string, boolean][] = [];
  const metrics = { overrideDecided: (label: string, on: boolean) => decided.push([label, on]) };

  it('leaves a supergraph without labels, and a request with no label on, to Apollo (no decision), counting the labels decided', () => {
    // Before the move: the catalogue alone resolves credits.
    const before = readSupergraph(
      committed.replace(
        'credits: Int @join__field(graph: ADMISSIONS, override: "catalogue", overrideLabel: "percent(0)") @join__field(graph: CATALOGUE, overrideLabel: "percent(0)")',
        'credits: Int @join__field(graph: CATALOGUE)',
      ),
    );
    expect(before.overrideLabels.size).toBe(0);
    expect(createProgressiveOverride({ dataSource: () => undefined, supergraphOf: () => before }).decide(request({ role: 'public' }, metrics))).toBeUndefined();
    expect(decided).toEqual([]);
    // decide() reads only the labels a supergraph derives (readSupergraph, above).
    const labelled = (sdl: string) => ({ overrideLabels: overrideLabelsOf(readOverrides(parse(sdl))) }) as LoadedSupergraph;
    const staged = labelled(committed);
    expect(
      createProgressiveOverride({ dataSource: () => undefined, supergraphOf: () => staged }).decide(request({ role: 'directorate' }, metrics)),
    ).toBeUndefined();
    const raised = labelled(withLabel('percent(100)'));
    const decision = createProgressiveOverride({ dataSource: () => undefined, supergraphOf: () => raised }).decide(request({ role: 'directorate' }, metrics));
    expect(decision).toEqual({ conditions: new Map([['percent(100)', true]]), key: 'percent(100)' });
    expect(decided).toEqual([
      ['percent(0)', false],
      ['percent(100)', true],
    ]);
  });
});

describe('OVERRIDE_LABELS', () => {
  it('lists the named labels on for every request; a percent(N) one (it decides itself) or a malformed one is refused', () => {
    const config = loadGatewayConfig({ PARTNERSKAP_DEV: '1', OVERRIDE_LABELS: 'use-admissions-credits, ops/moves:credits' });
    expect(gatewayOptionsFrom(config).overrideLabels).toEqual(['use-admissions-credits', 'ops/moves:credits']);
    expect(loadGatewayConfig({ PARTNERSKAP_DEV: '1' }).overrideLabels).toEqual([]);
    expect(() => loadGatewayConfig({ PARTNERSKAP_DEV: '1', OVERRIDE_LABELS: 'percent(10),9lives' })).toThrow(
      /OVERRIDE_LABELS[^\n]*"percent\(10\)"\n- OVERRIDE_LABELS[^\n]*"9lives"/,
    );
  });
});
