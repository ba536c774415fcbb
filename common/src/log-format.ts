/**
 * How the services' log lines look: JSON, one object a line, for machines (a log shipper, a file,
 * CI), or one short readable line each for a person at a terminal. `LOG_FORMAT` picks (`json` or
 * `pretty`); by default a terminal (a TTY, outside production) gets pretty lines and anything else
 * JSON.
 */
export type LogFormat = 'json' | 'pretty';

/** The format for a stream, from `LOG_FORMAT`, `NODE_ENV` and whether the stream is a terminal. */
export function logFormatFor(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): LogFormat {
  if (env.LOG_FORMAT === 'json' || env.LOG_FORMAT === 'pretty') return env.LOG_FORMAT;
  return stream.isTTY === true && env.NODE_ENV !== 'production' ? 'pretty' : 'json';
}

/** Pino's numeric levels, and ours by name. */
const LEVELS: Record<string, string> = { '10': 'trace', '20': 'debug', '30': 'info', '40': 'warn', '50': 'error', '60': 'fatal' };
const COLOURS: Record<string, string> = { warn: '\x1b[33m', error: '\x1b[31m', fatal: '\x1b[31m' };
/** Fields that say where a line comes from or are printed in the line's head; the rest follow as key=value. */
const HEAD = new Set(['time', 'level', 'service', 'msg', 'pid', 'hostname', 'stack', 'stacktrace', 'extensions']);

/**
 * One log entry as a line for a person: `12:04:31 gateway warn rate limited code=RATE_LIMITED
 * caller=public`, in colour when `colour`. Stacks are left out (they are in the JSON log and in
 * `LOG_FORMAT=json`); an error's first stack line is kept, since it says where.
 */
export function prettyLogLine(entry: Record<string, unknown>, colour = false): string {
  // A log entry's values are whatever a caller logged: `String()` of each, as given.
  const text = (value: unknown): string => String(value);
  const level = LEVELS[String(entry.level)] ?? text(entry.level ?? 'info');
  const time =
    typeof entry.time === 'string'
      ? entry.time.slice(11, 19)
      : typeof entry.time === 'number'
        ? new Date(entry.time).toISOString().slice(11, 19)
        : new Date().toISOString().slice(11, 19);
  const rest = Object.entries(entry)
    .filter(([key, value]) => !HEAD.has(key) && value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const stack = typeof entry.stack === 'string' ? entry.stack.split('\n')[1]?.trim() : undefined;
  const head = `${time} ${text(entry.service ?? '').padEnd(10)} ${level === 'info' ? '' : `${level} `}${text(entry.msg ?? '')}`;
  const line = [head, ...rest, ...(stack ? [`(${stack})`] : [])].join(' ');
  const tint = colour ? COLOURS[level] : undefined;
  return tint ? `${tint}${line}\x1b[0m` : line;
}
