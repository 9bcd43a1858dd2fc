import type { TokenIdentity, TokenKind, TokenLookup } from '../auth/principal.js';
import type { Queryable } from '../connections/database.js';
import type { Grant, Role } from '../auth/rbac.js';
import { iso, onlyRow, touched } from '../connections/rows.js';

export type { TokenKind } from '../auth/principal.js';

/** An API token as stored: never its secret, only the secret's hash (not returned either). */
export interface TokenRecord {
  id: string;
  name: string;
  kind: TokenKind;
  environment: string | null;
  userId: string | null;
  createdBy: string | null;
  prefix: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** Creation time in epoch microseconds: an exact pagination cursor. */
  createdMicros: number;
}

const TOKEN_COLUMNS = `id, name, kind, environment, user_id, created_by, display_prefix, created_at, last_used_at, revoked_at,
  (extract(epoch FROM created_at) * 1000000)::bigint AS created_us`;
/** A row of TOKEN_COLUMNS. */
interface TokenRow {
  id: string;
  name: string;
  kind: TokenKind;
  environment: string | null;
  user_id: string | null;
  created_by: string | null;
  display_prefix: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  created_us: number;
}

/** A live token joined with its user (the user's columns are null for client and server tokens). */
interface LiveTokenRow {
  id: string;
  kind: TokenKind;
  environment: string | null;
  user_id: string | null;
  name: string | null;
  role: Role | null;
  grants: Grant[];
}

function toToken(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    environment: row.environment,
    userId: row.user_id,
    createdBy: row.created_by,
    prefix: row.display_prefix,
    createdAt: iso(row.created_at),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
    createdMicros: row.created_us,
  };
}

export interface NewToken {
  name: string;
  kind: TokenKind;
  environment: string | null;
  userId: string | null;
  tokenHash: string;
  prefix: string;
  createdBy: string;
}

export async function insertToken(tx: Queryable, token: NewToken): Promise<TokenRecord> {
  const result = await tx.query<TokenRow>(
    `INSERT INTO api_tokens (name, kind, environment, user_id, token_hash, display_prefix, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${TOKEN_COLUMNS}`,
    [token.name, token.kind, token.environment, token.userId, token.tokenHash, token.prefix, token.createdBy],
  );
  return toToken(onlyRow(result));
}

export async function findToken(db: Queryable, id: string, forUpdate = false): Promise<TokenRecord | null> {
  const result = await db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return result.rows[0] ? toToken(result.rows[0]) : null;
}

/** The name and kind of these tokens, revoked ones included (tokens are never deleted). */
export async function tokenNames(db: Queryable, ids: readonly string[]): Promise<Array<{ id: string; name: string; kind: TokenKind; revoked: boolean }>> {
  if (ids.length === 0) return [];
  const result = await db.query<{ id: string; name: string; kind: TokenKind; revoked: boolean }>(
    'SELECT id::text AS id, name, kind, revoked_at IS NOT NULL AS revoked FROM api_tokens WHERE id::text = ANY($1::text[])',
    [ids],
  );
  return result.rows;
}

export interface TokenListFilter {
  /** Only tokens owned or created by this user (non-admin callers). */
  visibleTo?: string;
  kind?: TokenKind;
  environment?: string;
  userId?: string;
  includeRevoked?: boolean;
  /** Tokens created before this (created_at, id) cursor, newest first. */
  before?: { createdMicros: number; id: string };
  limit: number;
}

/** Lists tokens newest first. */
export async function listTokens(db: Queryable, filter: TokenListFilter): Promise<TokenRecord[]> {
  const result = await db.query<TokenRow>(
    `SELECT ${TOKEN_COLUMNS} FROM api_tokens
      WHERE ($1::text IS NULL OR user_id::text = $1 OR created_by = $1)
        AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR environment = $3)
        AND ($4::uuid IS NULL OR user_id = $4) AND ($5 OR revoked_at IS NULL)
        AND ($6::bigint IS NULL OR (created_at, id) < (timestamptz 'epoch' + $6::bigint * interval '1 microsecond', $7::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $8`,
    [
      filter.visibleTo ?? null, filter.kind ?? null, filter.environment ?? null, filter.userId ?? null,
      filter.includeRevoked ?? false, filter.before?.createdMicros ?? null, filter.before?.id ?? null, filter.limit,
    ],
  );
  return result.rows.map(toToken);
}

/** Marks a token revoked; returns the updated record. */
export async function revokeTokenRow(tx: Queryable, id: string): Promise<TokenRecord> {
  const result = await tx.query<TokenRow>(`UPDATE api_tokens SET revoked_at = now() WHERE id = $1 RETURNING ${TOKEN_COLUMNS}`, [id]);
  return toToken(onlyRow(result));
}

export async function environmentExists(db: Queryable, key: string): Promise<boolean> {
  return touched(await db.query('SELECT 1 FROM environments WHERE key = $1', [key]));
}

/** The unrevoked token with this digest (an admin token only while its user is active), or null. */
export async function findLiveTokenByHash(db: Queryable, tokenHash: string): Promise<TokenIdentity | null> {
  return findLiveToken(db, 't.token_hash', tokenHash);
}

/** A live token by id (for credentials derived from a token, such as an OFREP event-stream channel). */
export async function findLiveTokenById(db: Queryable, id: string): Promise<TokenIdentity | null> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
  return findLiveToken(db, 't.id', id);
}

async function findLiveToken(db: Queryable, column: 't.token_hash' | 't.id', value: string): Promise<TokenIdentity | null> {
  const result = await db.query<LiveTokenRow>(
    `SELECT t.id, t.kind, t.environment, u.id AS user_id, u.name, u.role,
            coalesce((SELECT jsonb_agg(jsonb_build_object('resource', p.resource, 'action', p.action, 'conditions', p.conditions))
                        FROM user_permissions p WHERE p.user_id = u.id), '[]') AS grants
       FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
      WHERE ${column} = $1 AND t.revoked_at IS NULL AND (t.user_id IS NULL OR u.deactivated_at IS NULL)`,
    [value],
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    id: row.id,
    kind: row.kind,
    environment: row.environment,
    user: row.user_id !== null && row.name !== null && row.role !== null ? { id: row.user_id, name: row.name, role: row.role, grants: row.grants } : null,
  };
}

/** Records when tokens were last used, in one statement; a time never moves backwards. */
export async function recordTokenUsage(db: Queryable, usage: ReadonlyArray<readonly [id: string, atMs: number]>): Promise<void> {
  await db.query(
    `UPDATE api_tokens t SET last_used_at = greatest(coalesce(t.last_used_at, u.at), u.at)
       FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at) WHERE t.id = u.id`,
    [usage.map(([id]) => id), usage.map(([, at]) => new Date(at).toISOString())],
  );
}

/** The stored tokens as src/auth/ reads them (authentication, OFREP channel credentials). */
export function tokenLookup(db: Queryable): TokenLookup {
  return {
    findLiveByHash: (digest) => findLiveTokenByHash(db, digest),
    findLiveById: (id) => findLiveTokenById(db, id),
    recordUsage: (usage) => recordTokenUsage(db, usage),
  };
}
