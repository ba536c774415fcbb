import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workloads } from '../bench/workload.js';
import { type Harness, startHarness } from './harness.js';

// Database work is bounded: every bench query sends as many database commands for a page of 50
// as for a page of 5 (DataLoader batches per request; aggregations take whole batches). Counted
// with the driver's command monitoring.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ seedProjections: false });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

describe('database commands per operation', () => {
  it.each(['single-subgraph', 'cross-partner', 'entity-heavy'])('%s: no more commands for 50 items than for 5', async (name) => {
    const owners = (await h.dbs.admissions.collection('applications').distinct('owner', { year: 2024 })) as string[];
    const workload = workloads(['4601', ...owners.filter((o) => /^\d{4}$/.test(o)).slice(0, 3)]).find((w) => w.name === name)!;
    // A call with at least 50 items: all studies of 2024, or Bergen's applications of 2024.
    const base = workload.calls.find((c) => c.variables.owner === '4601' && c.variables.year === 2024) ?? workload.calls[0]!;
    const call = { ...base, variables: { ...base.variables, year: 2024, subject: null, band: null } };
    const token = await h.token(call.caller.role === 'public' ? { role: 'directorate' } : (call.caller as never));
    const count = async (first: number) => {
      h.takeCommands();
      const res = await h.query<any>(workload.query, { ...call.variables, first }, { token });
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      const items = (Object.values(res.data)[0] as { edges: unknown[] }).edges.length;
      const cmds = h.takeCommands();
      return { commands: cmds.length, items };
    };
    const small = await count(5);
    const large = await count(50);
    expect(small.items).toBe(5);
    expect(large.items).toBe(50);
    expect(large.commands).toBeLessThanOrEqual(small.commands);
  });
});
