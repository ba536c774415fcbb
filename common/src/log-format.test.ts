import { describe, expect, it } from 'vitest';
import { logFormatFor, prettyLogLine } from './log-format.js';

describe('log format', () => {
  it('is pretty at a terminal outside production, JSON elsewhere, as LOG_FORMAT says when set', () => {
    expect(logFormatFor({ isTTY: true }, {})).toBe('pretty');
    expect(logFormatFor({ isTTY: false }, {})).toBe('json');
    expect(logFormatFor({}, {})).toBe('json');
    expect(logFormatFor({ isTTY: true }, { NODE_ENV: 'production' })).toBe('json');
    expect(logFormatFor({ isTTY: true }, { LOG_FORMAT: 'json' })).toBe('json');
    expect(logFormatFor({ isTTY: false }, { LOG_FORMAT: 'pretty' })).toBe('pretty');
  });

  it('writes one short line: time, service, level unless info, message, the rest as key=value, no stack', () => {
    const entry = {
      level: 40,
      time: '2026-12-05T12:04:31.123Z',
      service: 'gateway',
      msg: 'rate limited',
      code: 'RATE_LIMITED',
      caller: 'public',
      path: ['a', 0],
      stacktrace: ['x'],
      pid: 1,
    };
    expect(prettyLogLine(entry)).toBe('12:04:31 gateway    warn rate limited code=RATE_LIMITED caller=public path=["a",0]');
    expect(prettyLogLine({ level: 'info', time: '2026-12-05T12:04:31.123Z', service: 'plans', msg: 'ok' })).toBe('12:04:31 plans      ok');
    expect(
      prettyLogLine({ level: 'error', time: '2026-12-05T12:04:31.123Z', service: 'plans', msg: 'boom', stack: 'Error: boom\n    at f (x.ts:1:1)\n    at g' }),
    ).toBe('12:04:31 plans      error boom (at f (x.ts:1:1))');
    expect(prettyLogLine({ level: 50, time: '2026-12-05T12:04:31.123Z', service: 'gateway', msg: 'boom' }, true)).toBe(
      '\x1b[31m12:04:31 gateway    error boom\x1b[0m',
    );
  });
});
