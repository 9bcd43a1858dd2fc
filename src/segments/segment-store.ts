import type { Condition } from '../domain/flag.js';
import type { Segment } from '../domain/segment.js';
import type { Queryable } from '../connections/database.js';
import { iso, onlyRow, touched } from '../connections/rows.js';

/** A segment as stored; list members live in segment_members. */
export interface SegmentRecord {
  id: string;
  key: string;
  name: string;
  description: string;
  kind: 'rule' | 'list';
  conditions: Condition[];
  userCount: number | null;
  version: number;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
}

const SEGMENT_COLUMNS = 'id, key, name, description, kind, conditions, user_count, version, created_by, created_at, updated_by, updated_at';

/** A row of SEGMENT_COLUMNS. */
interface SegmentRow {
  id: string;
  key: string;
  name: string;
  description: string;
  kind: 'rule' | 'list';
  conditions: Condition[];
  user_count: number | null;
  version: number;
  created_by: string;
  created_at: Date;
  updated_by: string;
  updated_at: Date;
}

function toSegment(row: SegmentRow): SegmentRecord {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    description: row.description,
    kind: row.kind,
    conditions: row.conditions,
    userCount: row.user_count,
    version: row.version,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    updatedBy: row.updated_by,
    updatedAt: iso(row.updated_at),
  };
}

/** Takes the next segment revision (serialises segment writes; the projection compares it in one number). */
export async function nextSegmentRevision(tx: Queryable): Promise<number> {
  const result = await tx.query<{ revision: number }>('UPDATE segment_revision SET revision = revision + 1 RETURNING revision');
  return onlyRow(result).revision;
}

export async function segmentRevision(db: Queryable): Promise<number> {
  const result = await db.query<{ revision: number }>('SELECT revision FROM segment_revision');
  return result.rows[0]?.revision ?? 0;
}

export interface NewSegmentRow {
  key: string;
  name: string;
  description: string;
  kind: 'rule' | 'list';
  conditions: Condition[];
  version: number;
  actor: string;
}

/** Inserts a segment; null when the key is taken. */
export async function insertSegment(tx: Queryable, segment: NewSegmentRow): Promise<SegmentRecord | null> {
  const result = await tx.query<SegmentRow>(
    `INSERT INTO segments (key, name, description, kind, conditions, user_count, version, created_by, updated_by)
     VALUES ($1, $2, $3, $4, $5, CASE WHEN $4 = 'list' THEN 0 END, $6, $7, $7)
     ON CONFLICT (key) DO NOTHING RETURNING ${SEGMENT_COLUMNS}`,
    [segment.key, segment.name, segment.description, segment.kind, JSON.stringify(segment.conditions), segment.version, segment.actor],
  );
  return result.rows[0] ? toSegment(result.rows[0]) : null;
}

export async function findSegment(db: Queryable, key: string, forUpdate = false): Promise<SegmentRecord | null> {
  const result = await db.query<SegmentRow>(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE key = $1${forUpdate ? ' FOR UPDATE' : ''}`, [key]);
  return result.rows[0] ? toSegment(result.rows[0]) : null;
}

/** Lists segments by key (keyset pagination). */
export async function listSegments(db: Queryable, filter: { kind?: 'rule' | 'list'; text?: string; after?: string; limit: number }): Promise<SegmentRecord[]> {
  const like = filter.text ? `%${filter.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const result = await db.query<SegmentRow>(
    `SELECT ${SEGMENT_COLUMNS} FROM segments
      WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR key ILIKE $2 OR name ILIKE $2 OR description ILIKE $2)
        AND ($3::text IS NULL OR key > $3)
      ORDER BY key LIMIT $4`,
    [filter.kind ?? null, like, filter.after ?? null, filter.limit],
  );
  return result.rows.map(toSegment);
}

/** Rewrites a segment's fields at a new version, recounting list members. */
export async function updateSegmentRow(
  tx: Queryable,
  id: string,
  patch: { name?: string; description?: string; conditions?: Condition[] },
  version: number,
  actor: string,
): Promise<SegmentRecord> {
  const result = await tx.query<SegmentRow>(
    `UPDATE segments SET name = coalesce($2, name), description = coalesce($3, description), conditions = coalesce($4, conditions),
            user_count = CASE WHEN kind = 'list' THEN (SELECT count(*) FROM segment_members WHERE segment_id = $1) END,
            version = $5, updated_by = $6, updated_at = now()
      WHERE id = $1 RETURNING ${SEGMENT_COLUMNS}`,
    [id, patch.name ?? null, patch.description ?? null, patch.conditions ? JSON.stringify(patch.conditions) : null, version, actor],
  );
  return toSegment(onlyRow(result));
}

const CHUNK = 10_000;

/** Adds members (duplicates are ignored); returns how many were new. */
export async function addMembers(tx: Queryable, segmentId: string, members: readonly string[]): Promise<number> {
  let added = 0;
  for (let i = 0; i < members.length; i += CHUNK) {
    const result = await tx.query(
      'INSERT INTO segment_members (segment_id, member) SELECT $1, m FROM unnest($2::text[]) AS m ON CONFLICT DO NOTHING',
      [segmentId, members.slice(i, i + CHUNK)],
    );
    added += result.rowCount ?? 0;
  }
  return added;
}

/** Removes members; returns how many were there. */
export async function removeMembers(tx: Queryable, segmentId: string, members: readonly string[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < members.length; i += CHUNK) {
    const result = await tx.query('DELETE FROM segment_members WHERE segment_id = $1 AND member = ANY($2::text[])', [segmentId, members.slice(i, i + CHUNK)]);
    removed += result.rowCount ?? 0;
  }
  return removed;
}

export async function clearMembers(tx: Queryable, segmentId: string): Promise<void> {
  await tx.query('DELETE FROM segment_members WHERE segment_id = $1', [segmentId]);
}

/** A page of members in order. */
export async function listMembers(db: Queryable, segmentId: string, after: string | undefined, limit: number): Promise<string[]> {
  const result = await db.query<{ member: string }>(
    'SELECT member FROM segment_members WHERE segment_id = $1 AND ($2::text IS NULL OR member > $2) ORDER BY member LIMIT $3',
    [segmentId, after ?? null, limit],
  );
  return result.rows.map((row) => row.member);
}

/** Whether a targeting key is a member (Postgres; the Redis set answers the same in one SISMEMBER). */
export async function hasMember(db: Queryable, segmentId: string, member: string): Promise<boolean> {
  return touched(await db.query('SELECT 1 FROM segment_members WHERE segment_id = $1 AND member = $2', [segmentId, member]));
}

export async function allMembers(db: Queryable, segmentId: string): Promise<string[]> {
  const result = await db.query<{ member: string }>('SELECT member FROM segment_members WHERE segment_id = $1', [segmentId]);
  return result.rows.map((row) => row.member);
}

export async function deleteSegmentRow(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM segments WHERE id = $1', [id]);
}

/** Flag configs whose targeting names the segment (archived flags too: they may come back). */
export async function segmentUsage(db: Queryable, key: string): Promise<Array<{ flag: string; environment: string; archived: boolean }>> {
  const result = await db.query<{ flag: string; environment: string; archived: boolean }>(
    `SELECT f.key AS flag, c.environment, f.archived_at IS NOT NULL AS archived
       FROM flag_configs c JOIN flags f ON f.id = c.flag_id
      WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(c.targeting) t WHERE t->'segments' ? $1)
      ORDER BY f.key, c.environment`,
    [key],
  );
  return result.rows;
}

/**
 * Locks every flag config whose targeting names the segment, in (flag key, environment) order, until
 * the transaction ends. A segment write takes these before the segment's row (and the environment
 * rows after it), as a config write takes its config row before the segments it names: the lock order
 * of docs/architecture.md §6, so an edit of a segment and a write of a config using it never deadlock.
 */
export async function lockSegmentUsers(tx: Queryable, key: string): Promise<void> {
  await tx.query(
    `SELECT 1 FROM flag_configs c JOIN flags f ON f.id = c.flag_id
      WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(c.targeting) t WHERE t->'segments' ? $1)
      ORDER BY f.key, c.environment FOR UPDATE OF c`,
    [key],
  );
}

/**
 * Which of these keys name existing segments. `lock` holds them (FOR SHARE) until the transaction ends,
 * so a segment can't be deleted between this check and the commit of a config that targets it.
 */
export async function existingSegmentKeys(db: Queryable, keys: readonly string[], lock = false): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const result = await db.query<{ key: string }>(`SELECT key FROM segments WHERE key = ANY($1::text[])${lock ? ' FOR SHARE' : ''}`, [keys]);
  return new Set(result.rows.map((row) => row.key));
}

/** The engine's shape of a segment. */
export function toEngineSegment(record: SegmentRecord, members: string[] = []): Segment {
  const base = { key: record.key, ...(record.name ? { name: record.name } : {}), ...(record.description ? { description: record.description } : {}) };
  return record.kind === 'rule' ? { ...base, kind: 'rule', conditions: record.conditions } : { ...base, kind: 'list', members };
}

/** Every segment with its members, for rebuilding the projection. */
export async function loadAllSegments(db: Queryable): Promise<Array<{ record: SegmentRecord; members: string[] }>> {
  const result = await db.query<SegmentRow>(`SELECT ${SEGMENT_COLUMNS} FROM segments ORDER BY key`);
  const segments: Array<{ record: SegmentRecord; members: string[] }> = [];
  for (const row of result.rows) {
    const record = toSegment(row);
    segments.push({ record, members: record.kind === 'list' ? await allMembers(db, record.id) : [] });
  }
  return segments;
}
