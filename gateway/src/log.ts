import { type Logger, createLogger as createServiceLogger } from '@partnerskap/common';

export { type Logger, memoryLogger } from '@partnerskap/common';

/**
 * The gateway's log: the services' one pino configuration (common's log.ts: `LOG_LEVEL`, default
 * `info`, `silent` turns it off; `LOG_FORMAT`) on stdout, every line with `service: gateway`.
 */
export function createLogger(level?: string): Logger {
  return createServiceLogger({ service: 'gateway', ...(level !== undefined ? { level } : {}) });
}
