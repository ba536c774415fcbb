import { logFormatFor, prettyLogLine } from '@partnerskap/common';
import { pino } from 'pino';

/** The gateway's structured log: JSON lines, one per event, each with the request's correlation id where there is one. */
export type Logger = Pick<pino.Logger, 'info' | 'warn' | 'error'>;

/**
 * A pino logger on stdout (`LOG_LEVEL`, default `info`; `silent` turns it off): JSON lines, or one
 * readable line an event at a terminal (`LOG_FORMAT`, see the kit's log-format.ts).
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  const options = { level, base: { service: 'gateway' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (logFormatFor(process.stdout) === 'json') return pino(options);
  return pino(options, { write: (line: string) => void process.stdout.write(`${prettyLogLine(JSON.parse(line) as Record<string, unknown>, true)}\n`) });
}

/** A logger that keeps its entries in memory (tests read them). */
export function memoryLogger(): Logger & { entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const push = (level: string) => (obj: unknown) => void entries.push({ level, ...(obj as Record<string, unknown>) });
  return { entries, info: push('info') as never, warn: push('warn') as never, error: push('error') as never };
}
