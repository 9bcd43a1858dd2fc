import { isAllowed, type AccessRequest } from '../auth/rbac.js';
import { uuidPattern } from '../domain/text.js';
import type { Queryable } from '../connections/database.js';
import { findUser } from '../users/user-store.js';

/**
 * Why a write made earlier (a scheduled change, an approved change request) may no longer apply as
 * its author, or null: the author must still be an active user whose role and grants allow `access`,
 * as of now (else `refusal` says what they may no longer do). The bootstrap admin
 * (RIPCORD_ADMIN_TOKEN, no user row) is the operator and stays allowed.
 */
export async function authorAccessLost(tx: Queryable, author: { id: string; name: string }, access: AccessRequest, refusal: string): Promise<string | null> {
  if (!uuidPattern.test(author.id)) return null;
  const user = await findUser(tx, author.id);
  if (!user || user.deactivatedAt) return `its author ${author.name} is no longer an active user`;
  if (!isAllowed({ kind: 'user', role: user.role, grants: user.grants }, access)) return `its author ${author.name} may no longer ${refusal}`;
  return null;
}

/** authorAccessLost for a flag: the action on the flag (its tags) in the environment. */
export function authorRightsLost(
  tx: Queryable, author: { id: string; name: string }, flag: { key: string; tags: readonly string[] }, environment: string,
  action: 'write' | 'kill_switch' = 'write',
): Promise<string | null> {
  return authorAccessLost(tx, author, { resource: 'flag', action, environment, tags: flag.tags },
    `${action === 'kill_switch' ? 'release the kill switch of' : 'change'} '${flag.key}' in '${environment}'`);
}

/** Why a counted approval no longer counts (its user was deactivated), or null: approvals by deactivated users stop counting. */
export async function approvalsLost(tx: Queryable, approvals: readonly { user_id: string; user_name: string }[]): Promise<string | null> {
  for (const approval of approvals) {
    if (!uuidPattern.test(approval.user_id)) continue;
    const user = await findUser(tx, approval.user_id);
    if (!user || user.deactivatedAt) return `the approval of ${approval.user_name} no longer counts: they are no longer an active user`;
  }
  return null;
}
