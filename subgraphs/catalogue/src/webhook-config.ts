/**
 * The webhooks' settings, read once from the environment (`WEBHOOK_*`): the retry schedule, the
 * timeout and how many deliveries run at once. Every malformed variable is reported in one error.
 */

/** How the delivery worker behaves. */
export interface WebhookConfig {
  /** The pause before each retry (ms): the first attempt plus one retry per entry, then the dead-letter list (`WEBHOOK_RETRY_SCHEDULE`). */
  readonly retrySchedule: readonly number[];
  /** How long one delivery may take, connection to response headers (`WEBHOOK_TIMEOUT_MS`, default 5000). */
  readonly timeoutMs: number;
  /** Deliveries in flight at once, per catalogue process (`WEBHOOK_CONCURRENCY`, default 8). */
  readonly concurrency: number;
}

/** Retries after 5 s, 30 s, 2 min, 10 min, 1 h, 6 h and 24 h: eight attempts over about 31 hours. */
export const DEFAULT_RETRY_SCHEDULE = Object.freeze([5_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000, 86_400_000]);

/** The settings when the environment names none. */
export const DEFAULT_WEBHOOK_CONFIG: WebhookConfig = Object.freeze({ retrySchedule: DEFAULT_RETRY_SCHEDULE, timeoutMs: 5000, concurrency: 8 });

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `250ms`, `5s`, `2m`, `6h` as milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return ms <= 7 * 86_400_000 ? ms : undefined;
}

/** Reads `WEBHOOK_RETRY_SCHEDULE`, `WEBHOOK_TIMEOUT_MS` and `WEBHOOK_CONCURRENCY`; throws listing every malformed one. */
export function loadWebhookConfig(env: Record<string, string | undefined>): WebhookConfig {
  const problems: string[] = [];
  let retrySchedule: readonly number[] = DEFAULT_RETRY_SCHEDULE;
  const schedule = env.WEBHOOK_RETRY_SCHEDULE;
  if (schedule !== undefined && schedule !== '') {
    const parts = schedule.split(',').map(parseDuration);
    if (parts.length > 20 || parts.some((p) => p === undefined)) {
      problems.push(
        `WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated pauses such as 5s,30s,2m,10m,1h (ms, s, m or h; each at most 7 days), got "${schedule}"`,
      );
    } else retrySchedule = Object.freeze(parts as number[]);
  }
  const whole = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  const timeoutMs = whole('WEBHOOK_TIMEOUT_MS', env.WEBHOOK_TIMEOUT_MS, DEFAULT_WEBHOOK_CONFIG.timeoutMs, 100, 30_000);
  const concurrency = whole('WEBHOOK_CONCURRENCY', env.WEBHOOK_CONCURRENCY, DEFAULT_WEBHOOK_CONFIG.concurrency, 1, 100);
  if (problems.length > 0) throw new Error(`Invalid configuration of the catalogue's webhooks:\n- ${problems.join('\n- ')}`);
  return Object.freeze({ retrySchedule, timeoutMs, concurrency });
}
