import type { Grant, Role } from '../auth/rbac.js';
import type { GroupRule } from './schemas.js';

/** What a person's groups give them in Ripcord. */
export interface MappedAccess {
  role: Role;
  grants: Grant[];
  /** The groups that matched a rule, for the audit log. */
  matched: string[];
}

/**
 * Maps identity-provider groups to a role and grants: the first rule (in configured order) whose
 * group the person is in and that names a role gives the role; every matching rule adds its grants.
 * Someone in no matching group with a role gets `defaultRole`; null (refuse) when that is `none`.
 * Group names compare exactly, as identity providers send them (Entra ID sends object ids).
 */
export function mapGroups(groups: readonly string[], rules: readonly GroupRule[], defaultRole: Role | 'none'): MappedAccess | null {
  const member = new Set(groups);
  const matching = rules.filter((rule) => member.has(rule.group));
  const role = matching.find((rule) => rule.role !== undefined)?.role ?? (defaultRole === 'none' ? undefined : defaultRole);
  if (role === undefined) return null;
  const grants: Grant[] = [];
  const seen = new Set<string>();
  for (const grant of matching.flatMap((rule) => rule.grants ?? [])) {
    const key = JSON.stringify([grant.resource, grant.action, grant.conditions.environments ?? null, grant.conditions.flag_tags ?? null]);
    if (!seen.has(key)) {
      seen.add(key);
      grants.push(grant);
    }
  }
  return { role, grants, matched: [...new Set(matching.map((rule) => rule.group))] };
}

/** Whether an email's domain is one of `domains` (any, when none are given). Subdomains must be listed themselves. */
export function emailDomainAllowed(email: string, domains: readonly string[]): boolean {
  if (domains.length === 0) return true;
  const at = email.lastIndexOf('@');
  return at > 0 && domains.includes(email.slice(at + 1).toLowerCase());
}

/** The email_verified claim as a fact: true, false, or unknown (absent; some providers never send it). */
export function emailVerified(claim: unknown): boolean | undefined {
  if (claim === true || claim === 'true') return true;
  if (claim === false || claim === 'false') return false;
  return undefined;
}
