import { z } from 'zod';
import { text } from '../domain/text.js';

/**
 * The shapes single sign-on reads from outside: the claims an identity provider sends about a person.
 * Its settings (environment variables) are checked at start-up by src/config.ts, with the schemas of
 * src/config-parsers.ts (re-exported here).
 */
export { groupRuleSchema, isLoopbackUrl, type GroupRule } from '../config-parsers.js';

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
