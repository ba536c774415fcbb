import { type Projections } from '@partnerskap/kit';
import { describe, expect, it } from 'vitest';
import { createLoaders } from './loaders.js';
import { type AdmissionsStore } from './store.js';

describe('the offer loader (Study.credits, moving here from the catalogue)', () => {
  it('reads the offers kept from the catalogue’s events in one call per batch, in key order, null for one not kept', async () => {
    const calls: [string, readonly string[]][] = [];
    const projections = {
      getMany: async (kind: string, keys: readonly string[]) => {
        calls.push([kind, keys]);
        return new Map(keys.filter((k) => k !== 'NONE-2024').map((k) => [k, { id: k, credits: k.startsWith('K2MAT') ? 60 : 30 }]));
      },
    } as unknown as Projections;
    const loaders = createLoaders({} as AdmissionsStore, projections);
    const offers = await Promise.all(['K2MAT1-2024', 'NONE-2024', 'K2ENG1-2024'].map((id) => loaders.offer.load(id)));
    expect(offers).toEqual([{ id: 'K2MAT1-2024', credits: 60 }, null, { id: 'K2ENG1-2024', credits: 30 }]);
    expect(calls).toEqual([['study', ['K2MAT1-2024', 'NONE-2024', 'K2ENG1-2024']]]);
  });
});
