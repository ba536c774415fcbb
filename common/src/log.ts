/**
 * The one logger configuration of the gateway and the subgraphs: pino, one JSON object a line
 * (`level` as pino's number, `time` ISO, `service`, `msg` and the entry's fields), or one readable
 * line an event at a terminal (log-format.ts). `LOG_LEVEL` sets the level (`silent` in the test runs).
 */
import { pino } from 'pino';
import { logFormatFor, prettyLogLine } from './log-format.js';

/** A structured log as the services call it: an object of fields with its `msg`. */
export type Logger = Pick<pino.Logger, 'info' | 'warn' | 'error'>;

/** One entry of the entry-style log the kit and the HTTP layer write: `level` (`info`, `warn`, `error`) and `msg` beside its fields. */
export type LogEntry = Record<string, unknown>;

/** Writes one {@link LogEntry}. */
export type Log = (entry: LogEntry) => void;

/** Where log lines go: a stream (stdout, stderr, or a test's). */
export interface LogStream {
  write(line: string): unknown;
  isTTY?: boolean;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The service on every line (`service`); default none (each entry names its own). */
  service?: string;
  /** pino's level (`trace` … `fatal`, or `silent`); default `LOG_LEVEL`, else `info`. */
  level?: string;
  /** Where the lines go; default stdout. */
  stream?: LogStream;
  /** Where `LOG_LEVEL` and `LOG_FORMAT` are read; default `process.env`. */
  env?: Record<string, string | undefined>;
}

/** The pino options every service logs with: the level, `service` instead of pino's pid and hostname, ISO times. */
export function loggerOptions(options: Pick<LoggerOptions, 'service' | 'level' | 'env'> = {}): pino.LoggerOptions {
  const level = options.level ?? (options.env ?? process.env).LOG_LEVEL ?? 'info';
  return { level, base: options.service ? { service: options.service } : null, timestamp: pino.stdTimeFunctions.isoTime };
}

/**
 * A pino logger with {@link loggerOptions}: JSON lines, or readable ones when `LOG_FORMAT` (or a
 * terminal, outside production) says so.
 */
export function createLogger(options: LoggerOptions = {}): pino.Logger {
  const stream = options.stream ?? process.stdout;
  const settings = loggerOptions(options);
  if (logFormatFor(stream, options.env ?? process.env) === 'pretty') {
    return pino(settings, { write: (line: string) => void stream.write(`${prettyLogLine(JSON.parse(line) as LogEntry, true)}\n`) });
  }
  // pino's own writer on the standard streams (as fast as it gets); any other stream is written to as it is.
  if (stream === process.stdout) return pino(settings);
  if (stream === process.stderr) return pino(settings, pino.destination(2));
  return pino(settings, { write: (line: string) => void stream.write(line) });
}

/** The entry-style log over a logger: `{ level, msg, ...fields }` becomes one line at that level (`info` unless `warn` or `error`). */
export function entryLog(logger: Logger): Log {
  return ({ level, ...fields }) => {
    if (level === 'error') logger.error(fields);
    else if (level === 'warn') logger.warn(fields);
    else logger.info(fields);
  };
}

/** A logger that keeps its entries in memory, each with its level by name (tests read them). */
export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) =>
    ((fields: unknown, msg?: unknown) => {
      entries.push({ level, ...(typeof fields === 'object' && fields !== null ? fields : { msg: fields }), ...(typeof msg === 'string' ? { msg } : {}) });
    }) as pino.LogFn;
  return { entries, info: at('info'), warn: at('warn'), error: at('error') };
}
