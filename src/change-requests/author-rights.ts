import { findAlertTrigger } from '../alert-triggers/alert-trigger-store.js';
import { isAllowed, type AccessRequest } from '../auth/rbac.js';
import { uuidPattern } from '../domain/text.js';
import type { Queryable } from '../connections/database.js';
import { findUser } from '../users/user-store.js';
import type { Approver } from './approvers.js';

/** The id an alert trigger acts under (alert-trigger-service.ts triggerActor). */
const TRIGGER_ACTOR = /^trigger:([0-9a-f-]{36})$/i;

/**
 * Why a write made earlier (a scheduled change, an approved change request) may no longer apply as
 * its author, or null: the author must still be an active user whose role and grants allow `access`,
 * as of now (else `refusal` says what they may no longer do). An alert trigger (the author of the
 * release its resolve asked for) must still exist and be enabled. The bootstrap admin
 * (RIPCORD_ADMIN_TOKEN, no user row) is the operator and stays allowed.
 */
export async function authorAccessLost(
  tx: Queryable, author: { id: string; name: string }, access: AccessRequest, refusal: string, role = 'author',
): Promise<string | null> {
  const trigger = TRIGGER_ACTOR.exec(author.id);
  if (trigger) {
    const found = await findAlertTrigger(tx, trigger[1]!);
    return found?.enabled ? null : `its ${role} ${author.name} was deleted or disabled`;
  }
  if (!uuidPattern.test(author.id)) return null;
  const user = await findUser(tx, author.id);
  if (!user || user.deactivatedAt) return `its ${role} ${author.name} is no longer an active user`;
  if (!isAllowed({ kind: 'user', role: user.role, grants: user.grants }, access)) return `its ${role} ${author.name} may no longer ${refusal}`;
  return null;
}

/** authorAccessLost for a flag: the action on the flag (its tags) in the environment; `role` names the author in the answer (author, starter). */
export function authorRightsLost(
  tx: Queryable, author: { id: string; name: string }, flag: { key: string; tags: readonly string[] }, environment: string,
  action: 'write' | 'kill_switch' = 'write', role = 'author',
): Promise<string | null> {
  return authorAccessLost(tx, author, { resource: 'flag', action, environment, tags: flag.tags },
    `${action === 'kill_switch' ? 'release the kill switch of' : 'change'} '${flag.key}' in '${environment}'`, role);
}

/**
 * Why a counted approval no longer counts, or null: each approver must still be an active user who,
 * with their role and grants as of now, may approve the request under the policies as of now
 * (`mayStillApprove` answers why not, or null). A demoted approver's approval stops counting as a
 * deactivated one's does. The bootstrap admin (no user row) stays allowed.
 */
export async function approvalsLost(
  tx: Queryable, approvals: readonly { user_id: string; user_name: string }[], mayStillApprove: (approver: Approver) => Promise<string | null>,
): Promise<string | null> {
  for (const approval of approvals) {
    if (!uuidPattern.test(approval.user_id)) continue;
    const user = await findUser(tx, approval.user_id);
    if (!user || user.deactivatedAt) return `the approval of ${approval.user_name} no longer counts: they are no longer an active user`;
    const approver: Approver = { actor: { id: user.id, name: user.name, role: user.role }, subject: { kind: 'user', role: user.role, grants: user.grants } };
    const refused = await mayStillApprove(approver);
    if (refused) return `the approval of ${approval.user_name} no longer counts: ${refused}`;
  }
  return null;
}
