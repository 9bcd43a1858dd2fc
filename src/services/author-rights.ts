import { isAllowed } from '../auth/rbac.js';
import { uuidPattern } from '../domain/text.js';
import type { Queryable } from '../stores/database.js';
import { findUser } from '../stores/user-store.js';

/**
 * Why a write made earlier (a scheduled change, an approved change request) may no longer apply as
 * its author, or null: the author must still be an active user whose role and grants allow the
 * action on the flag (its tags) in the environment, as of now. The bootstrap admin
 * (RIPCORD_ADMIN_TOKEN, no user row) is the operator and stays allowed.
 */
export async function authorRightsLost(
  tx: Queryable, author: { id: string; name: string }, flag: { key: string; tags: readonly string[] }, environment: string,
  action: 'write' | 'kill_switch' = 'write',
): Promise<string | null> {
  if (!uuidPattern.test(author.id)) return null;
  const user = await findUser(tx, author.id);
  if (!user || user.deactivatedAt) return `its author ${author.name} is no longer an active user`;
  if (!isAllowed({ kind: 'user', role: user.role, grants: user.grants }, { resource: 'flag', action, environment, tags: flag.tags })) {
    return `its author ${author.name} may no longer ${action === 'kill_switch' ? 'release the kill switch of' : 'change'} '${flag.key}' in '${environment}'`;
  }
  return null;
}

/** Whether a user who approved a request is still active (approvals by deactivated users stop counting). */
export async function isActiveUser(tx: Queryable, userId: string): Promise<boolean> {
  if (!uuidPattern.test(userId)) return true;
  const user = await findUser(tx, userId);
  return Boolean(user && !user.deactivatedAt);
}
