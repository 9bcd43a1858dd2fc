import { z } from 'zod';
import { userSchema } from '../protocol/admin-api.js';

/** The answers of the single sign-on routes (api/routes/sso.ts), shared with the admin UI. */

export const ssoInfoSchema = z
  .object({
    enabled: z.boolean().meta({ description: 'whether sign-in with the identity provider is configured (OIDC_ISSUER)' }),
    provider_name: z.string().nullable().meta({ description: 'what the sign-in button calls the provider (OIDC_PROVIDER_NAME)' }),
    login_url: z.string().nullable().meta({ description: 'where the browser starts a sign-in; add ?return_to=/path to come back to a page' }),
    signed_in: z.boolean().meta({ description: 'whether this request carries a live session cookie (then GET /api/v1/sso/session)' }),
  })
  .meta({ id: 'SsoInfo' });

export const ssoSessionSchema = z
  .object({
    user: userSchema,
    csrf_token: z.string().meta({ description: 'send it as X-CSRF-Token with every write this session makes' }),
    idle_timeout_seconds: z.number().int(),
    absolute_timeout_seconds: z.number().int(),
  })
  .meta({ id: 'SsoSession' });

export const ssoLogoutSchema = z
  .object({
    logout_url: z.string().nullable().meta({ description: "the identity provider's logout page to send the browser to (RP-initiated logout), or null" }),
  })
  .meta({ id: 'SsoLogout' });

export const returnToQuerySchema = z.strictObject({
  return_to: z.string().max(2000).optional().meta({ description: 'a path of the admin UI to come back to after sign-in (anything else: /)' }),
});

export type SsoInfo = z.infer<typeof ssoInfoSchema>;
export type SsoSession = z.infer<typeof ssoSessionSchema>;
export type SsoLogout = z.infer<typeof ssoLogoutSchema>;
