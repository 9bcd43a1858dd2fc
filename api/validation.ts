import type { z } from 'zod';
import { fieldIssues, ValidationError } from '../src/errors.js';

/** Parses a request part with a zod schema; a failure is a 400 naming every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, part: 'body' | 'query' | 'params' | 'headers'): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const details = fieldIssues(parsed.error.issues).map((issue) => ({ ...issue, path: issue.path === '(root)' ? part : `${part}.${issue.path}` }));
    throw new ValidationError(`Invalid request ${part}`, details);
  }
  return parsed.data;
}
