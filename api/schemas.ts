import { z } from 'zod';
import { jsonObjectSchema, jsonValueSchema, text } from '../src/domain/text.js';
import { grantSchema, roleSchema } from '../src/auth/rbac.js';

/** Shapes shared by the management routes and the OpenAPI document. */

export const flagKeySchema = text(128).regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, dot, dash or underscore; at most 128');
export const environmentKeySchema = text(63).regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'an environment key such as production');
export const segmentKeySchema = flagKeySchema;
export const tagSchema = text(64).regex(/^[\w.:-]{1,64}$/, 'a tag of letters, digits and . : - _');
export const reasonSchema = text(500).trim();
export const limitSchema = z.coerce.number().int().min(1).max(500);
export const cursorSchema = text(512).regex(/^[A-Za-z0-9_-]{1,512}$/, 'a cursor returned by the previous page');
export const uuidSchema = z.uuid();
/** Query booleans: only the words true and false. */
export const queryBoolean = z.enum(['true', 'false']).transform((v) => v === 'true');

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
export { jsonObjectSchema, jsonValueSchema, text };
