import type { z } from 'zod';
import { fieldIssues } from '../../src/errors.ts';
import { ApiError } from './api.ts';

/**
 * Checks what a form would send with the zod schema the API parses it with (the same module), so the
 * form refuses it at the field, in the API's words, before anything is sent. `at` is where the value
 * sits in the request body (e.g. `plan`), so the issues land on the form's `body.…` paths.
 * Answers null when the API would take it.
 */
export function refusal(schema: z.ZodType, value: unknown, at = ''): ApiError | null {
  const parsed = schema.safeParse(value);
  if (parsed.success) return null;
  const details = fieldIssues(parsed.error.issues).map((i) => ({
    path: ['body', at, i.path === '(root)' ? '' : i.path].filter(Boolean).join('.'),
    message: i.message,
  }));
  // Status 0: nothing was sent (ErrorBox shows no HTTP status).
  const paths = details.map((d) => d.path.replace(/^body\.?/, '') || '(the whole form)').join(', ');
  return new ApiError(0, 'INVALID', `Not sent: the API would refuse it. Fix the field${details.length === 1 ? '' : 's'} marked (${paths}).`, details);
}

/**
 * A number input's text as the number the form sends. Empty (also what the browser could not read,
 * e.g. `1e`) is NaN rather than 0, so the API's schema refuses it at the field instead of the form
 * silently sending 0. Forms carry `noValidate`: the browser's own min/max/step/required bubbles would
 * block the submit before this check and speak other words than the API's.
 */
export function numberFrom(raw: string): number {
  return raw.trim() === '' ? Number.NaN : Number(raw);
}

/** What a number input shows for a number: NaN (not a number yet) shows as empty. */
export function numberShown(value: number | undefined): number | '' {
  return value === undefined || !Number.isFinite(value) ? '' : value;
}

/** JSON typed into a form field, or a refusal at that field (path as in the request body) when it does not parse. */
export function jsonFrom(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(0, 'INVALID', `Not sent: ${path} is not JSON.`, [{ path: `body.${path}`, message: `not JSON: ${(error as Error).message}` }]);
  }
}
