import { type PartnerEvent } from '@partnerskap/kit';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE, loadWebhookConfig, parseDuration } from './webhook-config.js';
import { newWebhookSecret, postOnce, retryDelay, signedHeaders } from './webhook-delivery.js';
import { type WebhookDoc } from './webhook-store.js';
import { checkWebhookUrl, isPrivateAddress, publicOnlyLookup } from './webhook-urls.js';
import { checkEventTypes, deliveryJobs, mayReceive, matchesTypes, webhookPayload } from './webhooks.js';

const event = (over: Partial<PartnerEvent> = {}): PartnerEvent => ({
  id: 'ev-0000000000a-1a2b3c4d',
  type: 'application.submitted',
  source: 'admissions',
  subject: 'app-1',
  time: '2030-02-10T09:00:00.000Z',
  recordedAt: '2030-02-10T09:00:00.000Z',
  version: 1,
  sequence: 7,
  audience: ['4601'],
  public: false,
  data: { id: 'app-1', owner: '4601' },
  ...over,
});

const hook = (over: Partial<WebhookDoc> = {}): WebhookDoc => ({
  _id: 'wh-1',
  org: '4601',
  role: 'school-owner',
  url: 'https://example.org/hooks',
  eventTypes: ['application.*'],
  secret: 'whsec_x',
  createdAt: new Date('2030-02-10T08:00:00.000Z'),
  active: true,
  ...over,
});

describe('signing', () => {
  it('signs as Standard Webhooks describes: the library’s Webhook.verify accepts it, and refuses a changed body or another secret', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const payload = webhookPayload(event());
    const headers = signedHeaders(secret, 'ev-0000000000a-1a2b3c4d', payload, new Date());
    expect(headers['webhook-id']).toBe('ev-0000000000a-1a2b3c4d');
    expect(new Webhook(secret).verify(payload, headers)).toEqual(JSON.parse(payload));
    expect(() => new Webhook(secret).verify(payload.replace('4601', '0301'), headers)).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(payload, headers)).toThrow();
  });

  it('sends type, timestamp and data, and where the event comes from; never the audience', () => {
    expect(JSON.parse(webhookPayload(event()))).toEqual({
      type: 'application.submitted',
      timestamp: '2030-02-10T09:00:00.000Z',
      id: 'ev-0000000000a-1a2b3c4d',
      source: 'admissions',
      subject: 'app-1',
      sequence: 7,
      version: 1,
      data: { id: 'app-1', owner: '4601' },
    });
  });
});

describe('who gets what', () => {
  const owner = { role: 'school-owner', org: '4601' };
  it('an organisation gets the events about it and public ones', () => {
    expect(mayReceive(owner, event())).toBe(true);
    expect(mayReceive(owner, event({ audience: ['0301'] }))).toBe(false);
    expect(mayReceive({ role: 'institution', org: '971035854' }, event({ type: 'study.published', public: true, audience: ['917641404'] }))).toBe(true);
  });

  it('a union never gets an application, even one naming its id', () => {
    expect(mayReceive({ role: 'union', org: 'UDF' }, event({ audience: ['UDF'] }))).toBe(false);
    expect(mayReceive({ role: 'union', org: 'UDF' }, event({ type: 'statement.published', public: true, audience: ['UDF'] }))).toBe(true);
  });

  it('the directorate gets public events and its own kinds (funding decisions), never applications or owners’ decisions', () => {
    const udir = { role: 'directorate', org: null };
    expect(mayReceive(udir, event({ type: 'allocation.decided', audience: ['4601', '971035854'] }))).toBe(true);
    expect(mayReceive(udir, event())).toBe(false);
    expect(mayReceive(udir, event({ type: 'decision.made' }))).toBe(false);
    expect(mayReceive(udir, event({ type: 'round.opened', public: true, audience: [] }))).toBe(true);
  });

  it('matches exact types and whole kinds', () => {
    expect(matchesTypes(['application.*'], 'application.withdrawn')).toBe(true);
    expect(matchesTypes(['study.published'], 'study.cancelled')).toBe(false);
    expect(matchesTypes(['study.published'], 'study.published')).toBe(true);
  });

  it('checks the types asked for against the known ones and the role', () => {
    expect(checkEventTypes(['study.published', 'application.*', 'study.published'], 'school-owner')).toEqual(['application.*', 'study.published']);
    expect(checkEventTypes(['study.exploded'], 'school-owner')).toMatch(/no event type/);
    expect(checkEventTypes(['nothing.*'], 'school-owner')).toMatch(/no event type/);
    expect(checkEventTypes(['decision.*'], 'union')).toMatch(/never go to the role union/);
    expect(checkEventTypes([], 'union')).toMatch(/1 to 30/);
  });

  it('makes one job per subscription that wants and may get an event committed after it was registered', () => {
    const now = new Date('2030-02-10T09:00:01.000Z');
    const events = [event(), event({ id: 'ev-2', audience: ['0301'] }), event({ id: 'ev-3', recordedAt: '2030-02-10T07:00:00.000Z' })];
    const jobs = deliveryJobs(events, [hook(), hook({ _id: 'wh-2', eventTypes: ['study.*'] }), hook({ _id: 'wh-3', active: false })], now);
    expect(jobs.map((j) => [j._id, j.state, j.attempts, j.nextAt])).toEqual([['wh-1_ev-0000000000a-1a2b3c4d', 'pending', 0, now]]);
  });
});

describe('receiver URLs', () => {
  const production = { development: false };
  const development = { development: true };
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      return (err as { extensions?: Record<string, unknown> }).extensions;
    }
    return undefined;
  };

  it('takes https URLs of public hosts in production', () => {
    expect(checkWebhookUrl('https://hooks.example.org/partnerskap?x=1#frag', production)).toBe('https://hooks.example.org/partnerskap?x=1');
  });

  it('refuses in production what would reach this machine or a private network, and plain http', () => {
    for (const url of [
      'http://hooks.example.org/',
      'https://localhost/',
      'https://localhost./',
      'https://127.0.0.1/',
      'https://[::1]/',
      'https://10.1.2.3/',
      'https://169.254.169.254/latest/meta-data',
      'https://192.168.0.10/',
      'https://intranet/',
      'http://127.0.0.1:8080/',
    ]) {
      expect(
        code(() => checkWebhookUrl(url, production)),
        url,
      ).toEqual({ code: 'BAD_USER_INPUT', field: 'input.url' });
    }
  });

  it('takes plain http to localhost in development only, and never credentials or other schemes', () => {
    expect(checkWebhookUrl('http://127.0.0.1:8080/hooks', development)).toBe('http://127.0.0.1:8080/hooks');
    expect(checkWebhookUrl('http://localhost:8080/hooks', development)).toBe('http://localhost:8080/hooks');
    for (const url of ['http://example.org/', 'https://me:pw@example.org/', 'file:///etc/passwd', 'javascript:alert(1)', '']) {
      expect(
        code(() => checkWebhookUrl(url, development)),
        url,
      ).toEqual({ code: 'BAD_USER_INPUT', field: 'input.url' });
    }
  });

  it('knows private addresses, IPv4-mapped and NAT64 ones too', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
      '64:ff9b::a00:1',
      'not-an-ip',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '151.101.1.69', '2606:4700::1111']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('connects in production to public addresses only: a private literal or a name resolving to one fails the attempt', async () => {
    expect(await postOnce('https://10.0.0.1/hooks', {}, '{}', { timeoutMs: 1000, development: false })).toEqual({
      status: null,
      error: 'the receiver is a private address',
    });
    const looked = await new Promise<NodeJS.ErrnoException | null>((resolve) => publicOnlyLookup('localhost', { all: true }, (err) => resolve(err)));
    expect(looked?.code).toBe('EPRIVATEADDRESS');
  });
});

describe('retries', () => {
  it('waits the schedule’s pause, 20 % either way, and gives up after the last', () => {
    expect(retryDelay([1000, 5000], 1, () => 0)).toBe(800);
    expect(retryDelay([1000, 5000], 2, () => 0.999999)).toBe(6000);
    expect(retryDelay([1000, 5000], 3)).toBeNull();
  });

  it('reads the schedule, timeout and concurrency from the environment, listing every malformed one', () => {
    expect(loadWebhookConfig({})).toEqual({ retrySchedule: DEFAULT_RETRY_SCHEDULE, timeoutMs: 5000, concurrency: 8 });
    expect(loadWebhookConfig({ WEBHOOK_RETRY_SCHEDULE: '250ms, 5s,2m,1h', WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_CONCURRENCY: '2' })).toEqual({
      retrySchedule: [250, 5000, 120_000, 3_600_000],
      timeoutMs: 2000,
      concurrency: 2,
    });
    expect(() => loadWebhookConfig({ WEBHOOK_RETRY_SCHEDULE: '5s,soon', WEBHOOK_TIMEOUT_MS: '0', WEBHOOK_CONCURRENCY: 'many' })).toThrow(
      /WEBHOOK_RETRY_SCHEDULE[\s\S]*WEBHOOK_TIMEOUT_MS[\s\S]*WEBHOOK_CONCURRENCY/,
    );
    expect(parseDuration('8d')).toBeUndefined();
    expect(parseDuration('200h')).toBeUndefined();
  });
});
