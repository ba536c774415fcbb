import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { compareOverrides, formatOverrideChange } from './check-overrides.js';
import { SUPERGRAPH_FILE } from './compose.js';

const committed = readFileSync(SUPERGRAPH_FILE, 'utf8');
const at = (label: string) => parse(committed.replaceAll('overrideLabel: "percent(0)"', `overrideLabel: "${label}"`));
const STAGED =
  'credits: Int @join__field(graph: ADMISSIONS, override: "catalogue", overrideLabel: "percent(0)") @join__field(graph: CATALOGUE, overrideLabel: "percent(0)")';

describe('compareOverrides', () => {
  it('sees a move raised, completed and over, which the API schema does not show', () => {
    expect(compareOverrides(parse(committed), parse(committed))).toEqual([]);
    const raised = compareOverrides(at('percent(0)'), at('percent(10)'));
    expect(raised).toEqual([{ coordinate: 'Study.credits', from: 'catalogue', to: 'admissions', before: 'percent(0)', after: 'percent(10)' }]);
    expect(formatOverrideChange(raised[0]!)).toBe(
      '  Study.credits: catalogue -> admissions, percent(0) -> percent(10): 10 % of callers planned to admissions, the others to catalogue',
    );
    const complete = parse(
      committed.replace(STAGED, 'credits: Int @join__field(graph: ADMISSIONS, override: "catalogue") @join__field(graph: CATALOGUE, usedOverridden: true)'),
    );
    expect(compareOverrides(at('percent(50)'), complete)).toEqual([
      { coordinate: 'Study.credits', from: 'catalogue', to: 'admissions', before: 'percent(50)', after: 'complete' },
    ]);
    const over = parse(committed.replace(STAGED, 'credits: Int @join__field(graph: ADMISSIONS)'));
    expect(compareOverrides(complete, over)).toEqual([{ coordinate: 'Study.credits', from: 'catalogue', to: 'admissions', before: 'complete' }]);
    expect(formatOverrideChange(compareOverrides(at('use-admissions-credits'), at('percent(5)'))[0]!)).toMatch(
      /use-admissions-credits -> percent\(5\): 5 % of callers/,
    );
  });
});
