import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eqFilter } from './mongo.js';

const root = new URL('../../../', import.meta.url).pathname;

/** Every TypeScript source file of the services and the demo (not the embedded store, which must implement MongoDB). */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

describe('database queries', () => {
  it('never use server-side JavaScript ($where, $function, $accumulator, mapReduce)', () => {
    const files = ['subgraphs', 'gateway/src', 'demo'].flatMap((d) => sources(join(root, d)));
    expect(files.length).toBeGreaterThan(30);
    const found = files.flatMap((f) => (/\$where|\$function|\$accumulator|mapReduce/.test(readFileSync(f, 'utf8')) ? [f] : []));
    expect(found).toEqual([]);
  });

  it('filter only with $eq on primitives: an operator object is refused, never passed on', () => {
    expect(eqFilter({ year: 2024, study: 'K2X-2024', flag: true, none: undefined })).toEqual({
      year: { $eq: 2024 },
      study: { $eq: 'K2X-2024' },
      flag: { $eq: true },
    });
    expect(() => eqFilter({ teacher: { $ne: null } as never })).toThrow(/not a primitive/);
  });
});
