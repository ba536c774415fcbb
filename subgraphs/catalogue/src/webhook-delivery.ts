/**
 * Delivering webhooks: one signed POST per attempt (Standard Webhooks, with the `standardwebhooks`
 * package), and the worker that claims due jobs, retries them with backoff and jitter, and moves a
 * job to the dead-letter list after its last attempt.
 */
import { type LookupFunction } from 'node:net';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import { type WebhookConfig } from './webhook-config.js';
import { type ClaimedDelivery, type WebhookStore } from './webhook-store.js';
import { literalAllowed, publicOnlyLookup } from './webhook-urls.js';

/** A new subscription's signing secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks has them. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The headers of one attempt: `webhook-id` (the event's id: the same on every retry, what receivers deduplicate on), its time and signature. */
export function signedHeaders(secret: string, id: string, payload: string, at: Date): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'Partnerskap-Webhooks/1',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, payload),
  };
}

/** What one attempt came to: the receiver's status, or why there was none. */
export interface AttemptOutcome {
  status: number | null;
  error: string | null;
}

/**
 * POSTs a payload once: no redirect followed (a 3xx is a failure), the response body never read
 * (the socket is closed once the status is in), the whole attempt cut off after `timeoutMs`. In
 * production the socket connects to public addresses only.
 */
export function postOnce(
  url: string,
  headers: Record<string, string>,
  payload: string,
  options: { timeoutMs: number; development: boolean },
): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    const target = new URL(url);
    if (!literalAllowed(target, options.development)) return resolve({ status: null, error: 'the receiver is a private address' });
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const body = Buffer.from(payload);
    let settled = false;
    const done = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(body.length) },
        agent: false,
        signal: AbortSignal.timeout(options.timeoutMs),
        ...(options.development ? {} : { lookup: publicOnlyLookup as LookupFunction }),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        // The body is ignored: close at once rather than let a receiver stream into us.
        res.destroy();
        done(status >= 200 && status < 300 ? { status, error: null } : { status, error: `the receiver answered HTTP ${status}` });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      const timedOut = err.name === 'AbortError' || err.name === 'TimeoutError';
      done({ status: null, error: timedOut ? `no answer within ${options.timeoutMs} ms` : `${err.code ?? 'ERROR'}: ${err.message}`.slice(0, 300) });
    });
    req.end(body);
  });
}

/** The pause before retry number `attempt` (1 for the first retry): the schedule's, 20 % either way at random; null after the last. */
export function retryDelay(schedule: readonly number[], attempt: number, random: () => number = Math.random): number | null {
  const base = schedule[attempt - 1];
  if (base === undefined) return null;
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Options of {@link startDeliveryWorker}. */
export interface DeliveryWorkerOptions {
  store: WebhookStore;
  config: WebhookConfig;
  development: boolean;
  log: (entry: Record<string, unknown>) => void;
  /**
   * The longest pause between looks for due jobs when none is pending (ms; default 30 s). New jobs
   * and replays wake the worker of their process; this catches those of another replica.
   */
  idleMs?: number;
}

/** The delivery worker, running. */
export interface DeliveryWorker {
  /** Looks for due jobs now (new jobs were just committed, or replayed). */
  nudge(): void;
  status(): { inFlight: number; delivered: number; failedAttempts: number; deadLettered: number; lastError: string | null };
  stop(): Promise<void>;
}

/**
 * Claims due jobs (up to `concurrency` at once), delivers each, and records the outcome. A job's
 * claim is a lease (its `nextAt` moved past the attempt's timeout): a process that dies mid-attempt
 * leaves it due again, and another catalogue replica may take it. Delivery is at least once; the
 * receiver deduplicates by `webhook-id`.
 */
export function startDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { store, config, log } = options;
  const idleMs = options.idleMs ?? 30_000;
  const leaseMs = config.timeoutMs + 10_000;
  const running = new Set<Promise<void>>();
  const counts = { delivered: 0, failedAttempts: 0, deadLettered: 0, lastError: null as string | null };
  let stopped = false;
  let pumping = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const attempt = async ({ job, url, secret }: ClaimedDelivery) => {
    const at = new Date();
    const outcome = await postOnce(url, signedHeaders(secret, job.eventId, job.payload, at), job.payload, {
      timeoutMs: config.timeoutMs,
      development: options.development,
    });
    const delivered = outcome.error === null;
    const delay = delivered ? null : retryDelay(config.retrySchedule, job.attempts + 1);
    const now = new Date();
    await store.settle(job, { ...outcome, at: now, delivered, next: delay === null ? null : new Date(now.getTime() + delay) });
    if (delivered) counts.delivered++;
    else {
      counts.failedAttempts++;
      counts.lastError = outcome.error;
      if (delay === null) {
        counts.deadLettered++;
        log({
          level: 'warn',
          msg: 'a webhook delivery failed its last attempt: moved to the dead-letter list',
          webhook: job.webhook,
          event: job.eventId,
          attempts: job.attempts + 1,
          error: outcome.error,
        });
      }
    }
  };

  const schedule = async () => {
    clearTimeout(timer);
    if (stopped) return;
    // A quiet store is not polled: the idle catalogue sends next to no commands.
    const due = await store.nextDue().catch(() => new Date(Date.now() + 1000));
    const wait = due ? Math.max(0, Math.min(idleMs, due.getTime() - Date.now())) : idleMs;
    timer = setTimeout(() => void pump(), wait).unref();
  };

  /** Fills the free slots with due jobs; runs again when woken meanwhile. */
  const pump = async (): Promise<void> => {
    if (stopped) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        while (!stopped && running.size < config.concurrency) {
          const claimed = await store.claim(new Date(), leaseMs);
          if (!claimed) break;
          const work = attempt(claimed)
            .catch((err: unknown) => {
              counts.lastError = String((err as Error)?.message ?? err);
              log({ level: 'warn', msg: 'a webhook delivery could not be recorded; it is retried when its lease runs out', error: counts.lastError });
            })
            .finally(() => {
              running.delete(work);
              void pump();
            });
          running.add(work);
        }
      } while (again && !stopped);
    } catch (err) {
      // The store is down or going away: the next look tries again.
      counts.lastError = String((err as Error)?.message ?? err);
    } finally {
      pumping = false;
    }
    await schedule();
  };

  void pump();
  return {
    nudge: () => {
      setImmediate(() => void pump());
    },
    status: () => ({ inFlight: running.size, ...counts }),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await Promise.allSettled([...running]);
    },
  };
}
