import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logger; entry points create one and hand it down. */
export function createLogger(level = 'info', name = 'ripcord'): Logger {
  return pino({ name, level });
}
