import type { AuthEvents } from '../auth/auth-events.js';
import { isAllowed, type Grant, type Role } from '../auth/rbac.js';
import { BOOTSTRAP_ACTOR } from '../auth/principal.js';
import { uuidPattern } from '../domain/text.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { withTransaction, type Database, type Queryable } from '../connections/database.js';
import {
  deactivateUserRow, findUser, insertUser, listUsers, replaceGrants, uniqueViolation, updateUserRow, userNames,
  type UserListFilter, type UserRecord,
} from './user-store.js';
import { auditFrom, type RequestMeta } from '../auth/request-meta.js';

export interface NewUserInput {
  email: string;
  name: string;
  role: Role;
  slack_user_id?: string | null;
  grants?: Grant[];
}

export interface UserPatch {
  name?: string;
  role?: Role;
  slack_user_id?: string | null;
}

/** The API shape of a user (snake_case, like the seed). */
export function presentUser(user: UserRecord) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    slack_user_id: user.slackUserId,
    grants: user.grants,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
    deactivated_at: user.deactivatedAt,
  };
}

function takenError(field: 'email' | 'slack_user_id'): ConflictError {
  return new ConflictError(`Another user already has this ${field}`, [{ path: `body.${field}`, message: 'already taken' }]);
}

/** Users, roles and grants. Every change is one transaction with its audit event, then every API process forgets cached credentials. */
export function createUserService(deps: { db: Database; authEvents?: AuthEvents }) {
  const { db } = deps;

  async function requireUser(id: string, forUpdate = false, tx: Parameters<typeof findUser>[0] = db): Promise<UserRecord> {
    const user = await findUser(tx, id, forUpdate);
    if (!user) throw new NotFoundError(`User '${id}' does not exist`);
    return user;
  }

  const announce = (change: Parameters<AuthEvents['changed']>[0]) => deps.authEvents?.changed(change) ?? Promise.resolve();

  return {
    /** People's names for user ids (the bootstrap admin included); ids of no user are left out. */
    async names(ids: readonly string[]): Promise<Array<{ id: string; name: string }>> {
      const found = await userNames(db, ids.filter((id) => uuidPattern.test(id)));
      return [...(ids.includes(BOOTSTRAP_ACTOR.id) ? [{ id: BOOTSTRAP_ACTOR.id, name: BOOTSTRAP_ACTOR.name }] : []), ...found];
    },

    async create(input: NewUserInput, meta: RequestMeta) {
      const user = await withTransaction(db, async (tx) => {
        const inserted = await insertUser(tx, { email: input.email, name: input.name, role: input.role, slackUserId: input.slack_user_id });
        if ('taken' in inserted) throw takenError(inserted.taken);
        if (input.grants?.length) await replaceGrants(tx, inserted.id, input.grants);
        const created = (await findUser(tx, inserted.id))!;
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'user.created', resourceType: 'user', resourceId: created.id, newValue: presentUser(created),
        });
        return created;
      });
      return presentUser(user);
    },

    async get(id: string) {
      return presentUser(await requireUser(id));
    },

    async list(filter: UserListFilter) {
      const users = await listUsers(db, { ...filter, limit: filter.limit + 1 });
      const page = users.slice(0, filter.limit);
      return { users: page.map(presentUser), next_cursor: users.length > filter.limit ? page.at(-1)!.email : null };
    },

    async update(id: string, patch: UserPatch, meta: RequestMeta) {
      const user = await withTransaction(db, async (tx) => {
        const before = await requireUser(id, true, tx);
        if (before.deactivatedAt) throw new ConflictError(`User '${id}' is deactivated`);
        try {
          await updateUserRow(tx, id, { name: patch.name, role: patch.role, slackUserId: patch.slack_user_id });
        } catch (error) {
          const taken = uniqueViolation(error);
          if (taken) throw takenError(taken);
          throw error;
        }
        const after = (await findUser(tx, id))!;
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'user.updated', resourceType: 'user', resourceId: id,
          oldValue: presentUser(before), newValue: presentUser(after),
        });
        return after;
      });
      await announce({ what: `user:${id}`, userIds: [id] });
      return presentUser(user);
    },

    async setGrants(id: string, grants: Grant[], meta: RequestMeta) {
      const user = await withTransaction(db, async (tx) => {
        const before = await requireUser(id, true, tx);
        if (before.deactivatedAt) throw new ConflictError(`User '${id}' is deactivated`);
        await replaceGrants(tx, id, grants);
        const after = (await findUser(tx, id))!;
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'user.grants.updated', resourceType: 'user', resourceId: id,
          oldValue: before.grants, newValue: after.grants,
        });
        return after;
      });
      await announce({ what: `user:${id}`, userIds: [id] });
      return presentUser(user);
    },

    /** Deactivates a user: their tokens, and the client and server tokens they made, are revoked and stop working (streams too) in every API process. */
    async deactivate(id: string, meta: RequestMeta) {
      const { user, revokedTokens } = await withTransaction(db, async (tx) => {
        const before = await requireUser(id, true, tx);
        if (before.deactivatedAt) throw new ConflictError(`User '${id}' is already deactivated`);
        if (before.id === meta.actor.id) throw new ConflictError('You cannot deactivate yourself');
        const revoked = await deactivateUserRow(tx, id);
        const after = (await findUser(tx, id))!;
        await appendAuditEvent(tx, {
          ...auditFrom(meta), action: 'user.deactivated', resourceType: 'user', resourceId: id,
          oldValue: presentUser(before), newValue: presentUser(after), metadata: { actorName: meta.actor.name, revokedTokens: revoked.length, revokedTokenIds: revoked },
        });
        return { user: after, revokedTokens: revoked };
      });
      await announce({ what: `user:${id}`, userIds: [id], tokenIds: revokedTokens });
      return { ...presentUser(user), revoked_tokens: revokedTokens.length };
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;

/**
 * Whether a user may, as of now, read flags in every one of `environments`: an active user whose role
 * and grants allow it (the bootstrap admin, which has no user row, always may). What a stream ticket's
 * holder is checked against when the ticket is redeemed.
 */
export async function userMayRead(db: Queryable, userId: string, environments: readonly string[]): Promise<boolean> {
  if (userId === BOOTSTRAP_ACTOR.id) return true;
  const user = uuidPattern.test(userId) ? await findUser(db, userId) : null;
  if (!user || user.deactivatedAt) return false;
  const subject = { kind: 'user' as const, role: user.role, grants: user.grants };
  return environments.every((environment) => isAllowed(subject, { resource: 'flag', action: 'read', environment }));
}
