import type { Grant, Role } from '../auth/rbac.js';
import type { Queryable } from '../connections/database.js';
import { iso, onlyRow } from '../connections/rows.js';

/** A person who uses Ripcord, with their role and extra grants. */
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  role: Role;
  slackUserId: string | null;
  grants: Grant[];
  createdAt: string;
  updatedAt: string;
  deactivatedAt: string | null;
}

const USER_SELECT = `
  SELECT u.id, u.email, u.name, u.role, u.slack_user_id, u.created_at, u.updated_at, u.deactivated_at,
         coalesce((SELECT jsonb_agg(jsonb_build_object('resource', p.resource, 'action', p.action, 'conditions', p.conditions)
                                    ORDER BY p.position, p.created_at, p.id)
                     FROM user_permissions p WHERE p.user_id = u.id), '[]') AS grants
    FROM users u`;

/** A row of USER_SELECT. */
interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  slack_user_id: string | null;
  grants: Grant[];
  created_at: Date;
  updated_at: Date;
  deactivated_at: Date | null;
}

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    slackUserId: row.slack_user_id,
    grants: row.grants,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    deactivatedAt: iso(row.deactivated_at),
  };
}

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  slackUserId?: string | null;
}

/** Inserts a user; returns the name of the unique field that is taken instead when one is. */
export async function insertUser(tx: Queryable, user: NewUser): Promise<{ id: string } | { taken: 'email' | 'slack_user_id' }> {
  try {
    const result = await tx.query<{ id: string }>('INSERT INTO users (email, name, role, slack_user_id) VALUES ($1, $2, $3, $4) RETURNING id', [
      user.email, user.name, user.role, user.slackUserId ?? null,
    ]);
    return { id: onlyRow(result).id };
  } catch (error) {
    const taken = uniqueViolation(error);
    if (taken) return { taken };
    throw error;
  }
}

/** Which unique user field a Postgres error is about, if it is a unique violation. */
export function uniqueViolation(error: unknown): 'email' | 'slack_user_id' | null {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string };
  if (code !== '23505') return null;
  return constraint?.includes('slack') ? 'slack_user_id' : 'email';
}

/** The names of these users (ids that are not users are left out). */
export async function userNames(db: Queryable, ids: readonly string[]): Promise<Array<{ id: string; name: string }>> {
  const result = await db.query<{ id: string; name: string }>('SELECT id::text AS id, name FROM users WHERE id::text = ANY($1::text[])', [ids]);
  return result.rows;
}

export async function findUser(db: Queryable, id: string, forUpdate = false): Promise<UserRecord | null> {
  const result = await db.query<UserRow>(`${USER_SELECT} WHERE u.id = $1${forUpdate ? ' FOR UPDATE OF u' : ''}`, [id]);
  return result.rows[0] ? toUser(result.rows[0]) : null;
}

export interface UserListFilter {
  role?: Role;
  slackUserId?: string;
  includeDeactivated?: boolean;
  afterEmail?: string;
  limit: number;
}

/** Lists users by email (keyset pagination). */
export async function listUsers(db: Queryable, filter: UserListFilter): Promise<UserRecord[]> {
  const result = await db.query<UserRow>(
    `${USER_SELECT}
      WHERE ($1::text IS NULL OR u.role = $1) AND ($2::text IS NULL OR u.slack_user_id = $2)
        AND ($3 OR u.deactivated_at IS NULL) AND ($4::text IS NULL OR u.email > $4)
      ORDER BY u.email LIMIT $5`,
    [filter.role ?? null, filter.slackUserId ?? null, filter.includeDeactivated ?? false, filter.afterEmail ?? null, filter.limit],
  );
  return result.rows.map(toUser);
}

/** Changes a user's profile; throws the unique violation for the caller to map. */
export async function updateUserRow(
  tx: Queryable,
  id: string,
  patch: { name?: string; role?: Role; slackUserId?: string | null },
): Promise<void> {
  await tx.query(
    `UPDATE users SET name = coalesce($2, name), role = coalesce($3, role),
                      slack_user_id = CASE WHEN $4 THEN $5 ELSE slack_user_id END, updated_at = now()
      WHERE id = $1`,
    [id, patch.name ?? null, patch.role ?? null, patch.slackUserId !== undefined, patch.slackUserId ?? null],
  );
}

/** Replaces a user's grants. */
export async function replaceGrants(tx: Queryable, userId: string, grants: readonly Grant[]): Promise<void> {
  await tx.query('DELETE FROM user_permissions WHERE user_id = $1', [userId]);
  for (const [position, grant] of grants.entries()) {
    await tx.query('INSERT INTO user_permissions (user_id, resource, action, conditions, position) VALUES ($1, $2, $3, $4, $5)', [
      userId, grant.resource, grant.action, JSON.stringify(grant.conditions ?? {}), position,
    ]);
  }
  await tx.query('UPDATE users SET updated_at = now() WHERE id = $1', [userId]);
}

/** Deactivates a user and revokes their tokens and every token they made; returns the revoked tokens' ids. */
export async function deactivateUserRow(tx: Queryable, id: string): Promise<string[]> {
  await tx.query('UPDATE users SET deactivated_at = now(), updated_at = now() WHERE id = $1', [id]);
  const revoked = await tx.query<{ id: string }>(
    'UPDATE api_tokens SET revoked_at = now() WHERE (user_id = $1 OR created_by = $1::text) AND revoked_at IS NULL RETURNING id',
    [id],
  );
  return revoked.rows.map((row) => row.id);
}
