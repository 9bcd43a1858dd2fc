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
