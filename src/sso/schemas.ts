import { z } from 'zod';
import { grantSchema, roleSchema } from '../auth/rbac.js';
import { text } from '../domain/text.js';

/**
 * The shapes single sign-on reads from outside: its settings (environment variables, checked at
 * start-up by src/config.ts) and the claims an identity provider sends about a person.
 */

/** One rule of OIDC_ROLE_MAPPING: members of `group` get `role` (the first matching rule with a role wins) and `grants` (all matching rules add theirs). */
export const groupRuleSchema = z
  .strictObject({
    group: text(256).min(1),
    role: roleSchema.optional(),
    grants: z.array(grantSchema).max(100).optional(),
  })
  .refine((rule) => rule.role !== undefined || (rule.grants?.length ?? 0) > 0, 'a rule gives a role, grants, or both');
export type GroupRule = z.infer<typeof groupRuleSchema>;

/** OIDC_ROLE_MAPPING: a JSON array of group rules, in order. */
export const roleMappingSchema = z
  .string()
  .transform((value, ctx) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array such as [{"group":"ripcord-admins","role":"admin"}]' });
      return z.NEVER;
    }
  })
  .pipe(z.array(groupRuleSchema).max(500));

/** OIDC_DEFAULT_ROLE: the role of someone in none of the mapped groups, or `none` to refuse them. */
export const defaultRoleSchema = z.union([roleSchema, z.literal('none')], {
  error: 'must be viewer, editor, admin, emergency_responder, or none (refuse people in no mapped group)',
});

/** OIDC_SCOPES: space-separated, and OpenID Connect needs `openid`. */
export const scopesSchema = z
  .string()
  .regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 'space-separated scopes such as "openid email profile"')
  .refine((value) => value.split(' ').includes('openid'), 'must include openid');

/** OIDC_ALLOWED_EMAIL_DOMAINS: comma-separated domains, lower-cased; empty allows any. */
export const emailDomainsSchema = z
  .string()
  .transform((value) => value.split(',').map((d) => d.trim().toLowerCase().replace(/^@/, '')).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/, 'each must be a domain such as example.com')));

/** http is only for an identity provider or Ripcord on this machine (development, tests). */
export function isLoopbackUrl(url: URL): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.endsWith('.localhost');
}

export const httpsUnlessLoopback = (what: string) =>
  z.url({ protocol: /^https?$/ }).refine((value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || isLoopbackUrl(url);
  }, `${what} must use https (http only on localhost or 127.0.0.1)`);

/**
 * What Ripcord reads from the claims of the ID token and the userinfo answer. Anything else is
 * ignored; a value of the wrong type counts as absent, except what sign-in cannot do without.
 */
export const identityClaimsSchema = z.object({
  sub: text(255).min(1),
  email: z.email({ error: 'the identity provider sent no valid email claim (add the email scope)' }).max(254),
  email_verified: z.unknown().optional(),
  name: text(200).optional().catch(undefined),
  preferred_username: text(200).optional().catch(undefined),
});
export type IdentityClaims = z.infer<typeof identityClaimsSchema>;

/** The groups claim: an array of names (or one name); anything unreadable counts as no groups. */
export const groupsClaimSchema = z
  .union([z.array(text(256)), text(256).transform((group) => [group])])
  .catch([])
  .transform((groups) => groups.slice(0, 1000));
