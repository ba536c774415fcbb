import { settableClock } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUND, UDF, UDIR, type Year, publishStudy, startYear, teacher } from './year-fixture.js';

// Mutations that create things take an idempotency key: a retried or concurrent request with the
// same key returns the first result and creates nothing new.
const clock = settableClock('2030-02-10T09:00:00Z');
let y: Year;
const KEY = 'retry-7f3c2a9e-4b1d';

beforeAll(async () => {
  y = await startYear(clock, [
    ['t-anna', '4601'],
    ['t-bjorn', '4601'],
  ]);
  await y.ok(UDIR, ROUND);
  await y.ok(UDIR, publishStudy('K2ENG1510', 5));
}, 120_000);
afterAll(async () => {
  await y?.close();
});

const apply = (key: string, campus = 'Bergen') =>
  `mutation { submitApplication(input: { study: "K2ENG1510-2030", firstChoice: { campus: "${campus}", fundingScheme: SUBSTITUTE } }, idempotencyKey: "${key}") { id submittedAt } }`;
const statement = (key: string, title = 'Kostnader') =>
  `mutation { publishStatement(input: { topic: COST, title: "${title}", body: "For dyrt." }, idempotencyKey: "${key}") { id title } }`;

describe('idempotency keys', () => {
  it('concurrent duplicate submissions with one key create exactly one application, and all get it', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => y.as(teacher('t-anna'), apply(KEY))));
    for (const a of answers) expect(a.errors, JSON.stringify(a.errors)).toBeUndefined();
    expect(new Set(answers.map((a) => a.data.submitApplication.id)).size).toBe(1);
    expect(await y.h.dbs.admissions.collection('applications').countDocuments({ teacher: 't-anna' })).toBe(1);
  });

  it('concurrent duplicate statements with one key create exactly one statement', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => y.as(UDF, statement(KEY))));
    expect(new Set(answers.map((a) => a.data?.publishStatement.id)).size).toBe(1);
    expect(await y.h.dbs.feedback.collection('statements').countDocuments()).toBe(1);
  });

  it('a retry after the deadline still gets the first result; without a key it would be refused', async () => {
    const first = (await y.as(teacher('t-anna'), apply(KEY))).data.submitApplication;
    clock.set('2030-03-05T09:00:00Z');
    const retry = await y.as(teacher('t-anna'), apply(KEY));
    expect(retry.errors).toBeUndefined();
    expect(retry.data.submitApplication).toEqual(first);
    await y.refused(teacher('t-anna'), apply('another-key-1234'), 'DEADLINE_PASSED', 'input.study');
    clock.set('2030-02-10T09:00:00Z');
  });

  it('the same key with another request is a CONFLICT that does not echo the key; other callers’ keys never meet', async () => {
    await y.refused(teacher('t-anna'), apply(KEY, 'Stord'), 'CONFLICT', 'idempotencyKey');
    const res = await y.as(teacher('t-anna'), apply(KEY, 'Stord'));
    expect(JSON.stringify(res.errors)).not.toContain(KEY);
    const bjorn = await y.as(teacher('t-bjorn'), apply(KEY));
    expect(bjorn.errors).toBeUndefined();
    expect(await y.h.dbs.admissions.collection('applications').countDocuments()).toBe(2);
  });

  it('refuses a malformed key', async () => {
    await y.refused(UDF, statement('short'), 'BAD_USER_INPUT', 'idempotencyKey');
  });

  it('keeps keys under an expiring index', async () => {
    const indexes = await y.h.dbs.admissions.collection('idempotency').indexes();
    expect(indexes.find((i) => i.key.expiresAt === 1)?.expireAfterSeconds).toBe(0);
  });
});
