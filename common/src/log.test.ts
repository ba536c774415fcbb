import { describe, expect, it } from 'vitest';
import { createLogger, entryLog, loggerOptions, memoryLogger } from './log.js';

/** A stream that keeps what is written to it. */
const capture = (isTTY = false) => {
  const lines: string[] = [];
  return { lines, isTTY, write: (line: string) => lines.push(line) };
};

describe('the logger configuration', () => {
  it('takes the level from LOG_LEVEL (default info), names the service instead of pid and hostname', () => {
    expect(loggerOptions({ env: {} })).toMatchObject({ level: 'info', base: null });
    expect(loggerOptions({ service: 'plans', env: { LOG_LEVEL: 'warn' } })).toMatchObject({ level: 'warn', base: { service: 'plans' } });
    expect(loggerOptions({ level: 'error', env: { LOG_LEVEL: 'warn' } }).level).toBe('error');
  });

  it('writes one JSON object a line: pino level, ISO time, service, the fields and msg', () => {
    const out = capture();
    createLogger({ service: 'gateway', stream: out, env: {} }).warn({ requestId: 'req-1', code: 'RATE_LIMITED', msg: 'rate limited' });
    expect(out.lines).toHaveLength(1);
    const line = JSON.parse(out.lines[0]!) as Record<string, unknown>;
    expect(line).toEqual({
      level: 40,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      service: 'gateway',
      requestId: 'req-1',
      code: 'RATE_LIMITED',
      msg: 'rate limited',
    });
  });

  it('writes readable lines at a terminal (or LOG_FORMAT=pretty), none when silent', () => {
    const tty = capture(true);
    createLogger({ service: 'plans', stream: tty, env: {} }).info({ msg: 'ok', n: 3 });
    expect(tty.lines).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d plans {6}ok n=3\n$/)]);
    const forced = capture();
    createLogger({ service: 'plans', stream: forced, env: { LOG_FORMAT: 'pretty' } }).info({ msg: 'ok' });
    expect(forced.lines).toEqual([expect.stringMatching(/plans {6}ok\n$/)]);
    const silent = capture();
    createLogger({ stream: silent, env: { LOG_LEVEL: 'silent' } }).error({ msg: 'boom' });
    expect(silent.lines).toEqual([]);
  });
});

describe('entryLog', () => {
  it('writes an entry at its level, with its fields and msg', () => {
    const logger = memoryLogger();
    const log = entryLog(logger);
    log({ level: 'error', service: 'catalogue', requestId: 'req-1', msg: 'boom' });
    log({ level: 'warn', msg: 'slow' });
    log({ msg: 'plain' });
    expect(logger.entries).toEqual([
      { level: 'error', service: 'catalogue', requestId: 'req-1', msg: 'boom' },
      { level: 'warn', msg: 'slow' },
      { level: 'info', msg: 'plain' },
    ]);
  });

  it('through pino: the subgraph line a masked error gives', () => {
    const out = capture();
    entryLog(createLogger({ stream: out, env: {} }))({
      level: 'error',
      service: 'catalogue',
      operationName: 'Boom__catalogue__0',
      requestId: 'req-1',
      msg: 'boom',
      path: ['boom'],
    });
    expect(JSON.parse(out.lines[0]!)).toEqual({
      level: 50,
      time: expect.any(String),
      service: 'catalogue',
      operationName: 'Boom__catalogue__0',
      requestId: 'req-1',
      msg: 'boom',
      path: ['boom'],
    });
  });
});
