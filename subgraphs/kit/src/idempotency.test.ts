import { type Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { type Idempotency, createIdempotencyKeys, idempotencyOf, idempotencyScope, idempotent } from './idempotency.js';

const teacher = { role: 'teacher', org: 't-0123456789' } as const;

describe('idempotent', () => {
  const store = (first: unknown) => {
    const asked: Idempotency<unknown>[] = [];
    return { asked, replayed: async <T>(i: Idempotency<T>) => (asked.push(i), first as T | undefined) };
  };

  it('answers a retry with the first result, without running the mutation again', async () => {
    const s = store({ id: 'a1' });
    const idempotency = idempotencyOf(teacher, 'submitApplication', 'key-12345678', { study: 'S1' }, async (id) => ({ id }));
    let ran = 0;
    expect(await idempotent(s, idempotency, async () => (ran++, { id: 'a2' }))).toEqual({ id: 'a1' });
    expect(ran).toBe(0);
    expect(s.asked).toEqual([idempotency]);
  });

  it('runs the mutation, with the idempotency, when the key is new or there is none', async () => {
    for (const key of ['key-12345678', undefined]) {
      const idempotency = idempotencyOf(teacher, 'giveFeedback', key, {}, async (id) => ({ id }));
      let passed: Idempotency<{ id: string }> | undefined;
      expect(await idempotent(store(undefined), idempotency, async (i) => ((passed = i), { id: 'f1' }))).toEqual({ id: 'f1' });
      expect(passed).toBe(idempotency);
    }
  });
});

describe('idempotency keys', () => {
  const keys = createIdempotencyKeys({ collection: () => ({}) } as unknown as Db);
  const of = (key: string | undefined, request: unknown, identity: { role: string; org?: string } = teacher) =>
    idempotencyOf(identity as typeof teacher, 'publishStudy', key, request, async () => null);

  it('scopes a key to the caller and the mutation', () => {
    expect(idempotencyScope(teacher, 'submitApplication')).toBe('teacher|t-0123456789|submitApplication');
    expect(idempotencyScope({ role: 'directorate' }, 'openRound')).toBe('directorate||openRound');
    expect(keys.storedKey(of('key-12345678', {}))!.id).not.toBe(keys.storedKey(of('key-12345678', {}, { role: 'directorate' }))!.id);
  });

  it('stores one key under one id, with a fingerprint of its request (other arguments, another fingerprint)', () => {
    const a = keys.storedKey(of('key-12345678', { code: 'X' }))!;
    expect(keys.storedKey(of('key-12345678', { code: 'X' }))).toEqual(a);
    const b = keys.storedKey(of('key-12345678', { code: 'Y' }))!;
    expect(b.id).toBe(a.id);
    expect(b.request).not.toBe(a.request);
  });

  it('stores nothing without a key, and refuses a malformed one as BAD_USER_INPUT on idempotencyKey', () => {
    expect(keys.storedKey(of(undefined, {}))).toBeUndefined();
    expect(() => keys.storedKey(of('short', {}))).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'idempotencyKey' }) }),
    );
  });
});
