import type { Queryable } from '../connections/database.js';
import { iso, onlyRow } from '../connections/rows.js';
import { escapeLike, flagStatePredicates, type FlagListState } from '../flags/flag-store.js';

export type DashboardState = FlagListState;
export type DashboardSortKey = 'key' | '-key' | 'updated' | '-updated';

export interface DashboardFilter {
  text?: string;
  tags?: string[];
  environment?: string;
  state: DashboardState;
  sort: DashboardSortKey;
  /** Keyset position: the last row of the previous page (its sort value and key). */
  after?: { value: string; key: string };
  limit: number;
}

export interface DashboardRow {
  id: string;
  key: string;
  name: string;
  tags: string[];
  archived: boolean;
  updatedAt: string;
  /** The row's sort value, for the next cursor. */
  sortValue: string;
  revision: number;
  environments: Record<string, { enabled: boolean; killed: boolean; percentage: number | null; version: number }>;
}


/** The WHERE clause shared by the page and its count ($1 tags, $2 environment, $3 text). */
function where(state: DashboardState): string {
  const { archived, config: configState } = flagStatePredicates(state);
  return `${archived}
        AND ($1::text[] IS NULL OR f.tags @> $1::text[])
        AND ($3::text IS NULL OR f.key ILIKE $3 OR f.name ILIKE $3 OR f.description ILIKE $3)
        AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM flag_configs e WHERE e.flag_id = f.id AND e.environment = $2))
        ${configState ? `AND EXISTS (SELECT 1 FROM flag_configs c WHERE c.flag_id = f.id AND ($2::text IS NULL OR c.environment = $2) AND ${configState})` : ''}`;
}

/**
 * One page of flags for the dashboard with their state in every environment and a per-flag
 * revision (its recorded changes), in one statement; keyset-paged on the sort column and the key.
 */
export async function listDashboardFlags(db: Queryable, filter: DashboardFilter): Promise<{ rows: DashboardRow[]; total: number }> {
  const descending = filter.sort.startsWith('-');
  const column = filter.sort.endsWith('updated') ? `to_char(f.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')` : 'f.key';
  const op = descending ? '<' : '>';
  const dir = descending ? 'DESC' : 'ASC';
  const params = [
    filter.tags?.length ? filter.tags : null, filter.environment ?? null, filter.text ? `%${escapeLike(filter.text)}%` : null,
  ];
  const page = await db.query<{
    id: string; key: string; name: string; tags: string[]; archived_at: Date | null; updated_at: Date; sort_value: string; revision: number;
    environments: DashboardRow['environments'];
  }>(
    `SELECT f.id, f.key, f.name, f.tags, f.archived_at, f.updated_at, ${column} AS sort_value,
            (SELECT count(*) FROM audit_events a WHERE a.resource_type = 'flag' AND a.resource_id = f.key)::int AS revision,
            coalesce((SELECT jsonb_object_agg(c.environment, jsonb_build_object(
                        'enabled', c.enabled, 'killed', (c.kill_switch->>'enabled')::boolean,
                        'percentage', (c.rollout->>'percentage')::float8, 'version', c.version))
                        FROM flag_configs c WHERE c.flag_id = f.id), '{}') AS environments
       FROM flags f
      WHERE ${where(filter.state)}
        AND ($4::text IS NULL OR (${column}, f.key) ${op} ($4, $5))
      ORDER BY ${column} ${dir}, f.key ${dir}
      LIMIT $6`,
    [...params, filter.after?.value ?? null, filter.after?.key ?? null, filter.limit],
  );
  const count = await db.query<{ total: number }>(`SELECT count(*)::int AS total FROM flags f WHERE ${where(filter.state)}`, params);
  return {
    total: onlyRow(count).total,
    rows: page.rows.map((row) => ({
      id: row.id, key: row.key, name: row.name, tags: row.tags, archived: row.archived_at !== null,
      updatedAt: iso(row.updated_at), sortValue: row.sort_value, revision: row.revision, environments: row.environments,
    })),
  };
}

export interface RunningRolloutRow {
  id: string;
  flagKey: string;
  environment: string;
  workflowId: string;
  status: 'running' | 'paused' | 'waiting_approval';
  progress: Record<string, unknown>;
  createdBy: string;
  startedBy: string | null;
  updatedAt: string;
}

/** Rollouts not finished, across all flags (or the given ones), newest activity first. */
export async function listRunningRollouts(db: Queryable, flagKeys?: string[], limit = 200): Promise<RunningRolloutRow[]> {
  const result = await db.query<{
    id: string; flag_key: string; environment: string; workflow_id: string; status: RunningRolloutRow['status'];
    progress: Record<string, unknown> | null; created_by: string; updated_at: Date; started_by: string | null;
  }>(
    `SELECT r.id, f.key AS flag_key, r.environment, r.workflow_id, r.status, r.progress, r.created_by, r.updated_at, u.name AS started_by
       FROM rollouts r JOIN flags f ON f.id = r.flag_id
       LEFT JOIN users u ON u.id::text = r.created_by
      WHERE r.status IN ('running', 'paused', 'waiting_approval') AND ($1::text[] IS NULL OR f.key = ANY($1))
      ORDER BY r.updated_at DESC LIMIT $2`,
    [flagKeys ?? null, limit],
  );
  return result.rows.map((row) => ({
    id: row.id, flagKey: row.flag_key, environment: row.environment, workflowId: row.workflow_id, status: row.status,
    progress: row.progress ?? {}, createdBy: row.created_by, startedBy: row.started_by, updatedAt: iso(row.updated_at),
  }));
}
