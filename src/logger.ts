import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

// A PostgreSQL error's `detail` (and `where`, `internalQuery`) carries the failing row or values:
// secrets and personal data. Logs keep the code, constraint and message, never those.
const ROW_FIELDS = ['detail', 'where', 'internalQuery', 'parameters'] as const;

/** Serializes an error for the log without the row data a database error carries (also in causes). */
export function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown> | undefined;
  let current: Record<string, unknown> | undefined = serialized;
  for (let depth = 0; current && typeof current === 'object' && depth < 10; depth++) {
    for (const field of ROW_FIELDS) delete current[field];
    current = current.cause as Record<string, unknown> | undefined;
  }
  return serialized;
}

/** Structured JSON logger (to stdout unless `destination` is given); entry points create one and hand it down. */
export function createLogger(level = 'info', name = 'ripcord', destination?: DestinationStream): Logger {
  const options = { name, level, serializers: { err: serializeError, error: serializeError } };
  return destination ? pino(options, destination) : pino(options);
}
