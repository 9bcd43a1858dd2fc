import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** An opaque pagination cursor: base64url of JSON, so clients pass it back unchanged. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Reads a cursor made by encodeCursor; a bad one is a 400 naming `query.cursor`. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, schema: S): z.infer<S> | undefined {
  if (cursor === undefined) return undefined;
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new ValidationError('Invalid request query', [{ path: 'query.cursor', message: 'not a cursor this API returned' }]);
  }
}
