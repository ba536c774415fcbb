import { type WebhookReceiver, startWebhookReceiver } from '@partnerskap/catalogue';
import { settableClock } from '@partnerskap/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERGEN, OSLO, ROUND, UDF, UDIR, UIB, type Year, publishStudy, startYear, submitApplication, teacher } from './year-fixture.js';

// Partner webhooks end to end: the catalogue's consumers enqueue the partners' events for each
// subscription that may get them, its worker POSTs them signed (Standard Webhooks) to receivers on
// this machine (development allows http to 127.0.0.1), with a fast retry schedule.
const clock = settableClock('2030-02-10T09:00:00Z');
let y: Year;
const receivers: WebhookReceiver[] = [];
const schedule = process.env.WEBHOOK_RETRY_SCHEDULE;

beforeAll(async () => {
  // Ten attempts within about a second: a 30 % receiver loses an event with odds of 0.3^10.
  process.env.WEBHOOK_RETRY_SCHEDULE = '20ms,40ms,60ms,80ms,100ms,100ms,100ms,100ms,100ms';
  y = await startYear(clock, [
    ['t-anna', '4601'],
    ['t-bjorn', '4601'],
    ['t-carl', '0301'],
    ['t-dina', '0301'],
  ]);
}, 120_000);
afterAll(async () => {
  if (schedule === undefined) delete process.env.WEBHOOK_RETRY_SCHEDULE;
  else process.env.WEBHOOK_RETRY_SCHEDULE = schedule;
  await Promise.all(receivers.map((r) => r.close()));
  await y?.close();
});

const receiver = async (options: Parameters<typeof startWebhookReceiver>[0] = {}) => {
  const r = await startWebhookReceiver(options);
  receivers.push(r);
  return r;
};
const register = (url: string, eventTypes: string[]) =>
  `mutation { registerWebhook(input: { url: ${JSON.stringify(url)}, eventTypes: ${JSON.stringify(eventTypes)} }) { secret webhook { id url eventTypes active } } }`;
/** Registers a receiver for a partner and hands it the secret. */
const subscribe = async (who: Parameters<Year['ok']>[0], r: WebhookReceiver, eventTypes: string[]): Promise<string> => {
  const { registerWebhook } = await y.ok(who, register(r.url, eventTypes));
  r.secret = registerWebhook.secret;
  return registerWebhook.webhook.id as string;
};
const DEAD_LETTERS = `{ webhookDeadLetters(first: 10) { totalCount edges { node { id webhookId eventId eventType state attempts lastStatus } } } }`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The ids of the events of one partner's outbox that match. */
const outboxIds = async (partner: 'catalogue' | 'admissions', filter: Record<string, unknown>) =>
  (await y.h.dbs[partner].collection('outbox').find(filter).toArray()).map((d) => String(d._id)).sort();

describe('registering a webhook', () => {
  it('refuses URLs that are not https (http only to localhost, in development), and nothing is written', async () => {
    for (const url of [
      'ftp://example.org/hooks',
      'not a url',
      'http://example.org/hooks',
      'https://user:secret@example.org/hooks',
      `https://example.org/${'x'.repeat(2000)}`,
    ]) {
      await y.refused(BERGEN, register(url, ['study.*']), 'BAD_USER_INPUT', 'input.url');
    }
  });

  it('refuses unknown event types and kinds the role never gets', async () => {
    await y.refused(BERGEN, register('https://example.org/hooks', ['study.exploded']), 'BAD_USER_INPUT', 'input.eventTypes');
    await y.refused(BERGEN, register('https://example.org/hooks', []), 'BAD_USER_INPUT', 'input.eventTypes');
    await y.refused(UDF, register('https://example.org/hooks', ['application.*']), 'BAD_USER_INPUT', 'input.eventTypes');
    await y.refused(UDIR, register('https://example.org/hooks', ['decision.made']), 'BAD_USER_INPUT', 'input.eventTypes');
  });

  it('is for partners only: a teacher cannot register, nor read webhooks', async () => {
    await y.refused(teacher('t-anna'), register('https://example.org/hooks', ['study.*']), 'FORBIDDEN');
    const res = await y.as(teacher('t-anna'), '{ webhooks { id } }');
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });
});

describe('deliveries', () => {
  let bergen: WebhookReceiver;
  let oslo: WebhookReceiver;
  let osloHook: string;

  it('reach a receiver failing 30 % of the time, every event once after deduplication by webhook-id, signed; only its own organisation’s or public ones', async () => {
    // A fixed cycle of draws, 3 in 10 under 0.3 (the first among them): the failures are the same every run.
    let draw = 0;
    const cycle = [0.1, 0.5, 0.9, 0.2, 0.6, 0.8, 0.4, 0.25, 0.7, 0.95];
    bergen = await receiver({ failRate: 0.3, random: () => cycle[draw++ % cycle.length]! });
    oslo = await receiver();
    const bergenHook = await subscribe(BERGEN, bergen, ['application.*', 'study.published', 'round.opened']);
    osloHook = await subscribe(OSLO, oslo, ['application.*']);

    await y.ok(UDIR, ROUND);
    for (let i = 0; i < 8; i++) await y.ok(UDIR, publishStudy(`K2ENG15${String(i).padStart(2, '0')}`, 5));
    for (const t of ['t-anna', 't-bjorn', 't-carl']) await y.ok(teacher(t), submitApplication('K2ENG1500-2030', true));

    const expected = [
      ...(await outboxIds('catalogue', { type: { $in: ['study.published', 'round.opened'] } })),
      ...(await outboxIds('admissions', { kind: 'application', audience: '4601' })),
    ].sort();
    expect(expected).toHaveLength(11);
    await bergen.waitFor(expected.length);
    await oslo.waitFor(1);
    expect([...bergen.events.keys()].sort()).toEqual(expected);
    expect(bergen.counts.invalid).toBe(0);
    expect(bergen.counts.failed).toBeGreaterThan(0);
    // Another owner's applications never reach Bergen; Oslo gets its own teacher's only.
    expect([...oslo.events.keys()]).toEqual(await outboxIds('admissions', { kind: 'application', audience: '0301' }));
    expect([...bergen.events.values()].filter((p) => p.type === 'application.submitted').map((p) => (p.data as { owner: string }).owner)).toEqual([
      '4601',
      '4601',
    ]);
    const payload = bergen.events.get(expected.find((id) => bergen.events.get(id)!.type === 'round.opened')!)!;
    expect(payload).toMatchObject({ type: 'round.opened', source: 'catalogue', subject: '2030', data: { year: 2030 } });
    expect(payload).not.toHaveProperty('audience');
    // Each job was delivered exactly once as far as the catalogue knows; none is dead.
    const jobs = await y.h.dbs.catalogue.collection('webhook_deliveries').find({ webhook: bergenHook }).toArray();
    expect(jobs.map((j) => j.state)).toEqual(expected.map(() => 'delivered'));
  });

  it('lists a partner’s own webhooks, never a secret', async () => {
    const res = await y.as(OSLO, '{ webhooks { id url eventTypes active } }');
    expect(res).toMatchObject({ data: { webhooks: [{ id: osloHook, url: oslo.url, eventTypes: ['application.*'], active: true }] } });
    expect((await y.as(OSLO, '{ webhooks { secret } }')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await y.as(UIB, '{ webhooks { id } }')).data).toEqual({ webhooks: [] });
  });

  it('stop when removed; another owner cannot remove them', async () => {
    await y.refused(BERGEN, `mutation { removeWebhook(id: "${osloHook}") { id } }`, 'FORBIDDEN', 'id');
    await y.refused(BERGEN, 'mutation { removeWebhook(id: "wh-0000000000000000") { id } }', 'NOT_FOUND', 'id');
    expect(await y.ok(OSLO, `mutation { removeWebhook(id: "${osloHook}") { id active } }`)).toEqual({ removeWebhook: { id: osloHook, active: false } });
    const before = oslo.counts.requests;
    // The mutation's answer waits until every consumer (the webhooks' too) has applied its event.
    await y.ok(teacher('t-dina'), submitApplication('K2ENG1500-2030', true));
    await sleep(700);
    expect(oslo.counts.requests).toBe(before);
    expect(await y.h.dbs.catalogue.collection('webhook_deliveries').countDocuments({ webhook: osloHook })).toBe(0);
    expect((await y.as(OSLO, '{ webhooks { id } }')).data).toEqual({ webhooks: [] });
  });
});

describe('dead letters', () => {
  it('appear after the last attempt, only to their owner, and a replay delivers them', async () => {
    const uib = await receiver({ failRate: 1, lostAnswers: false });
    const hook = await subscribe(UIB, uib, ['study.*']);
    await y.ok(UDIR, publishStudy('K2ENG1590', 5));
    await y.ok(UDIR, publishStudy('K2ENG1591', 5));
    let letters: any;
    for (let i = 0; i < 100 && letters?.totalCount !== 2; i++) {
      await sleep(100);
      letters = (await y.as(UIB, DEAD_LETTERS)).data?.webhookDeadLetters;
    }
    expect(letters.totalCount).toBe(2);
    expect(letters.edges.map((e: any) => e.node)).toEqual(
      expect.arrayContaining([expect.objectContaining({ webhookId: hook, eventType: 'study.published', state: 'DEAD', attempts: 10, lastStatus: 500 })]),
    );
    expect(uib.counts.requests).toBe(20);
    expect(uib.events.size).toBe(0);
    const ids: string[] = letters.edges.map((e: any) => e.node.id);

    // Nobody else sees or replays them.
    expect((await y.as(BERGEN, DEAD_LETTERS)).data).toEqual({ webhookDeadLetters: { totalCount: 0, edges: [] } });
    await y.refused(BERGEN, `mutation { replayDeadLetters(ids: ${JSON.stringify(ids)}) { id } }`, 'FORBIDDEN', 'ids.0');
    await y.refused(UIB, `mutation { replayDeadLetters(ids: ["${ids[0]}", "wh-0_ev-0"]) { id } }`, 'NOT_FOUND', 'ids.1');

    uib.failRate = 0;
    const replayed = await y.ok(UIB, `mutation { replayDeadLetters(ids: ${JSON.stringify(ids)}) { id state attempts } }`);
    expect(replayed).toEqual({ replayDeadLetters: ids.map((id) => ({ id, state: 'PENDING', attempts: 0 })) });
    await uib.waitFor(2);
    expect([...uib.events.keys()].sort()).toEqual(letters.edges.map((e: any) => e.node.eventId).sort());
    expect((await y.as(UIB, DEAD_LETTERS)).data).toEqual({ webhookDeadLetters: { totalCount: 0, edges: [] } });
    const audit = await y.h.dbs.catalogue
      .collection('audit')
      .find({ action: { $in: ['registerWebhook', 'removeWebhook', 'replayDeadLetters'] } })
      .toArray();
    expect(audit.map((a) => a.action).sort()).toEqual(['registerWebhook', 'registerWebhook', 'registerWebhook', 'removeWebhook', 'replayDeadLetters']);
  });
});
