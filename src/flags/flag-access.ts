import { requireAccess, type Caller } from '../auth/caller.js';
import { decide, type Action, type AccessRequest } from '../auth/rbac.js';
import type { Queryable } from '../connections/database.js';
import { findFlag } from './flag-store.js';

/**
 * The caller's right to `action` on one flag in one environment, decided with the flag's tags (grants
 * may be limited to tags). An unknown flag is decided without tags, so a caller without the right
 * learns nothing; one with it then gets the write's own 404. Throws 403 naming what is missing.
 */
export async function requireFlagAccess(db: Queryable, caller: Caller, flagKey: string, environment: string | undefined, action: Action): Promise<void> {
  const tags = (await findFlag(db, flagKey))?.tags;
  requireAccess(caller, { resource: 'flag', action, environment, tags });
}

/** A read check for a flag service's `guard`: the caller's RBAC, 403 naming what is missing. */
export const readGuardOf = (caller: Pick<Caller, 'subject'>) => (request: AccessRequest): void => requireAccess(caller, request);

/** Whether the caller may read a flag (its tags) in one environment: what a read shows of each environment. */
export function mayReadIn(caller: Pick<Caller, 'subject'>, environment: string, tags: readonly string[]): boolean {
  return decide(caller.subject, { resource: 'flag', action: 'read', environment, tags }).allowed;
}
