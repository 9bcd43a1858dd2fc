import type { Actor } from '../auth/principal.js';
import { isAllowed, type Subject } from '../auth/rbac.js';
import type { ChangePolicy } from './change-request-schemas.js';

/** Someone acting on a request: who, and what RBAC lets them do. */
export interface Approver {
  actor: Actor;
  subject: Subject;
}

/** True when `who` may approve (or reject) requests in this environment for this flag, author aside. */
export function mayApprove(policy: ChangePolicy, who: Approver, flagTags: readonly string[] | undefined): boolean {
  if (who.subject.kind !== 'user') return false;
  if (policy.approver_user_ids.length > 0) return policy.approver_user_ids.includes(who.actor.id);
  if (policy.approver_role) return who.actor.role === policy.approver_role || who.actor.role === 'admin';
  return isAllowed(who.subject, { resource: 'flag', action: 'write', environment: policy.environment, tags: flagTags });
}

/** Who a policy lets approve, in words for a refusal. */
export function describeApprovers(policy: ChangePolicy): string {
  if (policy.approver_user_ids.length > 0) return 'the users the policy lists';
  if (policy.approver_role) return `users with the role '${policy.approver_role}' (or admins)`;
  return `users who may change flags in '${policy.environment}'`;
}
