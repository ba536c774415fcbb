import { describe, expect, it } from 'vitest';
import { createCellQueue } from './cell-queue.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('createCellQueue', () => {
  it('runs writes on a shared cell one after another, in the order queued, and writes on other cells beside them', async () => {
    const queue = createCellQueue();
    const log: string[] = [];
    const write = (name: string, keys: string[]) =>
      queue(keys, async () => {
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
        return name;
      });
    const results = await Promise.all([write('a', ['x', 'y']), write('b', ['y']), write('c', ['z']), write('d', ['x', 'z'])]);
    expect(results).toEqual(['a', 'b', 'c', 'd']);
    // a and c share nothing: side by side; b waits for a (y), d for a (x) and c (z).
    expect(log.slice(0, 2)).toEqual(['a+', 'c+']);
    expect(log.indexOf('b+')).toBeGreaterThan(log.indexOf('a-'));
    expect(log.indexOf('d+')).toBeGreaterThan(Math.max(log.indexOf('a-'), log.indexOf('c-')));
  });

  it('lets the next write run when one fails, and forgets keys nothing waits on', async () => {
    const queue = createCellQueue();
    const failed = queue(['x'], async () => {
      await tick();
      throw new Error('refused');
    });
    const next = queue(['x'], async () => 'ran');
    await expect(failed).rejects.toThrow('refused');
    expect(await next).toBe('ran');
    // Overlapping key sets queued in opposite orders never wait for each other.
    const crossed = await Promise.all([queue(['p', 'q'], async () => 1), queue(['q', 'p'], async () => 2), queue(['p', 'p'], async () => 3)]);
    expect(crossed).toEqual([1, 2, 3]);
  });
});
