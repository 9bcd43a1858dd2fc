import type { Grant, Role } from '../auth/rbac.js';
import type { Queryable } from '../connections/database.js';
import { onlyRow } from '../connections/rows.js';

/** The SQL of single sign-on: users by their identity-provider subject, and the admin UI's sessions. */

/** A live session as authentication needs it, with its (active) user's role and grants. */
export interface LiveSessionRow {
  id: string;
  userId: string;
  userName: string;
  userEmail: string;
  role: Role;
  grants: Grant[];
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

export interface NewSessionRow {
  secretHash: string;
  userId: string;
  expiresAt: Date;
  idTokenSealed: string | null;
  ipAddress: string | null;
  userAgent: string | null;
}

/** A user as sign-in matches them: by subject first, else by email. */
export interface SsoUserRow {
  id: string;
  email: string;
  oidcIssuer: string | null;
  oidcSubject: string | null;
  deactivatedAt: Date | null;
}

/** The columns of `users` sign-in reads, as pg returns them. */
interface UserIdentityColumns {
  id: string;
  email: string;
  oidc_issuer: string | null;
  oidc_subject: string | null;
  deactivated_at: Date | null;
}

function toSsoUser(row: UserIdentityColumns): SsoUserRow {
  return { id: row.id, email: row.email, oidcIssuer: row.oidc_issuer, oidcSubject: row.oidc_subject, deactivatedAt: row.deactivated_at };
}

/** The user this identity signed in as before, locked for the sign-in's changes. */
export async function findUserBySubject(tx: Queryable, issuer: string, subject: string): Promise<SsoUserRow | null> {
  const result = await tx.query<UserIdentityColumns>(
    'SELECT id, email, oidc_issuer, oidc_subject, deactivated_at FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2 FOR UPDATE',
    [issuer, subject],
  );
  return result.rows[0] ? toSsoUser(result.rows[0]) : null;
}

/** Users whose email matches (case-insensitively), locked; more than one means the match is ambiguous. */
export async function findUsersByEmail(tx: Queryable, email: string): Promise<SsoUserRow[]> {
  const result = await tx.query<UserIdentityColumns>(
    'SELECT id, email, oidc_issuer, oidc_subject, deactivated_at FROM users WHERE lower(email) = lower($1) ORDER BY created_at LIMIT 2 FOR UPDATE',
    [email],
  );
  return result.rows.map(toSsoUser);
}

/** Records the identity a user signs in with, their profile as the identity provider says it, and their mapped role. */
export async function updateUserFromIdentity(
  tx: Queryable,
  id: string,
  identity: { issuer: string; subject: string; email: string; name: string; role: Role; emailVerified: boolean },
): Promise<void> {
  await tx.query(
    `UPDATE users SET oidc_issuer = $2, oidc_subject = $3, email = $4, name = $5, role = $6,
                      email_verified_at = CASE WHEN $7 THEN now() ELSE NULL END, updated_at = now()
      WHERE id = $1`,
    [id, identity.issuer, identity.subject, identity.email, identity.name, identity.role, identity.emailVerified],
  );
}

/** Creates the user of a first sign-in. */
export async function insertUserFromIdentity(
  tx: Queryable,
  identity: { issuer: string; subject: string; email: string; name: string; role: Role; emailVerified: boolean },
): Promise<string> {
  const result = await tx.query<{ id: string }>(
    `INSERT INTO users (email, name, role, oidc_issuer, oidc_subject, email_verified_at)
     VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END) RETURNING id`,
    [identity.email, identity.name, identity.role, identity.issuer, identity.subject, identity.emailVerified],
  );
  return onlyRow(result).id;
}

export async function insertSession(tx: Queryable, session: NewSessionRow): Promise<{ id: string; createdAt: Date }> {
  const result = await tx.query<{ id: string; created_at: Date }>(
    `INSERT INTO sso_sessions (secret_hash, user_id, expires_at, id_token_sealed, ip_address, user_agent)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at`,
    [session.secretHash, session.userId, session.expiresAt, session.idTokenSealed, session.ipAddress, session.userAgent],
  );
  const row = onlyRow(result);
  return { id: row.id, createdAt: row.created_at };
}

/**
 * The session with this digest while it lives: not ended, within its absolute and idle timeouts,
 * and its user active. Role and grants are read afresh, so a change applies to the next request.
 */
export async function findLiveSession(db: Queryable, secretHash: string, idleSeconds: number): Promise<LiveSessionRow | null> {
  const result = await db.query<{
    id: string; user_id: string; created_at: Date; last_seen_at: Date; expires_at: Date;
    name: string; email: string; role: Role; grants: Grant[];
  }>(
    `SELECT s.id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, u.name, u.email, u.role,
            coalesce((SELECT jsonb_agg(jsonb_build_object('resource', p.resource, 'action', p.action, 'conditions', p.conditions)
                                       ORDER BY p.position, p.created_at, p.id)
                        FROM user_permissions p WHERE p.user_id = u.id), '[]') AS grants
       FROM sso_sessions s JOIN users u ON u.id = s.user_id
      WHERE s.secret_hash = $1 AND s.ended_at IS NULL AND u.deactivated_at IS NULL
        AND s.expires_at > now() AND s.last_seen_at > now() - $2 * interval '1 second'`,
    [secretHash, idleSeconds],
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    id: row.id, userId: row.user_id, userName: row.name, userEmail: row.email, role: row.role, grants: row.grants,
    createdAt: row.created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at,
  };
}

/** Moves a session's idle deadline on (never backwards). */
export async function touchSession(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE sso_sessions SET last_seen_at = greatest(last_seen_at, now()) WHERE id = $1 AND ended_at IS NULL', [id]);
}

/** Ends a live session; returns its sealed ID token, or undefined when it had already ended. */
export async function endSession(tx: Queryable, id: string): Promise<{ idTokenSealed: string | null } | undefined> {
  const result = await tx.query<{ id_token_sealed: string | null }>(
    `UPDATE sso_sessions SET ended_at = now(), end_reason = 'signed_out' WHERE id = $1 AND ended_at IS NULL RETURNING id_token_sealed`,
    [id],
  );
  const row = result.rows[0];
  return row ? { idTokenSealed: row.id_token_sealed } : undefined;
}

/** Deletes sessions that ended or expired more than a day ago (the audit log keeps the sign-ins and sign-outs). */
export async function deleteOldSessions(db: Queryable): Promise<number> {
  const result = await db.query(
    `DELETE FROM sso_sessions WHERE expires_at < now() - interval '1 day' OR ended_at < now() - interval '1 day'`,
  );
  return result.rowCount ?? 0;
}

/**
 * Sets the Slack id of the one active single-sign-on user whose email matches and was verified by the
 * identity provider, if that user has no Slack id yet and no other user has this one; returns their id.
 */
export async function linkSlackUserByVerifiedEmail(tx: Queryable, email: string, slackUserId: string): Promise<string | null> {
  const candidates = await tx.query<{ id: string }>(
    `SELECT id FROM users
      WHERE lower(email) = lower($1) AND email_verified_at IS NOT NULL AND oidc_subject IS NOT NULL
        AND deactivated_at IS NULL AND slack_user_id IS NULL
      LIMIT 2 FOR UPDATE`,
    [email],
  );
  const candidate = candidates.rows[0];
  if (!candidate || candidates.rows.length !== 1) return null;
  const result = await tx.query<{ id: string }>(
    `UPDATE users SET slack_user_id = $2, updated_at = now()
      WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM users WHERE slack_user_id = $2) RETURNING id`,
    [candidate.id, slackUserId],
  );
  return result.rows[0]?.id ?? null;
}
