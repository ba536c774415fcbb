import { describe, expect, it } from 'vitest';
import { type RoundDates, checkWindow } from './window.js';

const round: RoundDates = {
  year: 2026,
  opens: '2026-01-10',
  teacherDeadline: '2026-03-01',
  ownerDeadline: '2026-04-01',
  allocationDeadline: '2026-05-01',
  admissionDeadline: '2026-06-01',
  confirmationDeadline: '2026-06-15',
};
/** Noon in Oslo on a day. */
const on = (day: string) => new Date(`${day}T11:00:00Z`);
const codeOf = (f: () => void) => {
  try {
    f();
    return 'OPEN';
  } catch (e) {
    return (e as { extensions?: { code?: string } }).extensions?.code;
  }
};

describe('checkWindow', () => {
  it('opens a step on its first day (or the day after the step before) and closes it after its deadline', () => {
    expect(codeOf(() => checkWindow(round, 'apply', on('2026-01-09'), 2026, 'input'))).toBe('NOT_OPEN_YET');
    expect(codeOf(() => checkWindow(round, 'apply', on('2026-01-10'), 2026, 'input'))).toBe('OPEN');
    expect(codeOf(() => checkWindow(round, 'apply', on('2026-03-01'), 2026, 'input'))).toBe('OPEN');
    expect(codeOf(() => checkWindow(round, 'apply', on('2026-03-02'), 2026, 'input'))).toBe('DEADLINE_PASSED');
    expect(codeOf(() => checkWindow(round, 'ownerDecision', on('2026-03-01'), 2026, 'input'))).toBe('NOT_OPEN_YET');
    expect(codeOf(() => checkWindow(round, 'ownerDecision', on('2026-03-02'), 2026, 'input'))).toBe('OPEN');
  });

  it('refuses every step of a year without a round as not open yet', () => {
    expect(codeOf(() => checkWindow(null, 'confirmation', on('2026-06-01'), 2026, 'input'))).toBe('NOT_OPEN_YET');
  });
});
