import { z } from 'zod';
import { environmentKeySchema, jsonObjectSchema, jsonValueSchema, nonBlankText, oneLineText, text, textMatching, visibleText } from '../src/domain/text.js';
import { grantSchema, roleSchema } from '../src/auth/rbac.js';

/** Shapes shared by the management routes and the OpenAPI document. */

export const flagKeySchema = textMatching(128, /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, dot, dash or underscore; at most 128');
export const segmentKeySchema = flagKeySchema;
export const tagSchema = textMatching(64, /^[\w.:-]{1,64}$/, 'a tag of letters, digits and . : - _');
export const reasonSchema = text(500).trim();
/** A reason where one is required (a kill, a pause, an abort): something visible, not only white space or zero-width characters. */
export const requiredReasonSchema = visibleText(500);
export const limitSchema = z.coerce.number().int().min(1).max(500);
export const cursorSchema = textMatching(512, /^[A-Za-z0-9_-]{1,512}$/, 'a cursor returned by the previous page');
export const uuidSchema = z.uuid();
/** `If-Match`: the version a write expects (an ETag's quotes and W/ allowed); a stale one answers 412. */
export const versionHeaderSchema = textMatching(32, /^(W\/)?"?\d{1,15}"?$/, 'must be a version number');
export const VERSION_HEADER = { name: 'If-Match', description: 'the version you read; a stale one answers 412', schema: versionHeaderSchema };
/** Query booleans: only the words true and false. */
export const queryBoolean = z.enum(['true', 'false']).transform((v) => v === 'true');

/**
 * A PATCH body that must change something: at least one of `fields`. The refinement enforces it;
 * the document says the same with anyOf, so that a generated client (or fuzzer) can satisfy it.
 */
export function atLeastOneOf<S extends z.ZodObject>(schema: S, fields: Array<keyof z.infer<S> & string>) {
  return schema
    .refine((value) => fields.some((field) => (value as Record<string, unknown>)[field] !== undefined), `give at least one of ${fields.join(', ')}`)
    .meta({ anyOf: fields.map((field) => ({ required: [field] })) });
}

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'a stable code: VALIDATION_FAILED, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, VERSION_CONFLICT, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, UNAVAILABLE, INTERNAL' }),
      message: z.string(),
      details: z.unknown().optional().meta({ description: 'for validation errors, [{path, message}] naming each bad field (body.x, query.y, params.z, headers.w)' }),
    }),
  })
  .meta({ id: 'Error' });

// The answers' shapes live in the protocol module, which the admin UI takes its types from.
export { grantOutputSchema, tokenSchema, userSchema } from '../src/protocol/admin-api.js';
export { grantSchema, roleSchema };
export { environmentKeySchema, jsonObjectSchema, jsonValueSchema, nonBlankText, oneLineText, text, textMatching };
