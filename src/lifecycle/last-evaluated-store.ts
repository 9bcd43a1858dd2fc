import type { LifecycleConfig, LifecycleFlagInput } from '../domain/lifecycle.js';
import type { Queryable } from '../connections/database.js';
import { touched } from '../connections/rows.js';

// flag_last_evaluated is written by the API replicas' rollup flush (addEvaluationBuckets, one statement
// with the per-minute rollups); this module reads it with the configs, for the flag lifecycle.

/** A flag with what its lifecycle is derived from, and who owns it (its creator). */
export interface LifecycleRow extends LifecycleFlagInput {
  key: string;
  tags: string[];
  createdBy: string;
  /** Per environment: the config's last change and the last evaluation there (ISO, null: never). */
  lastEvaluated: Record<string, string | null>;
}

/**
 * Flags (the given keys, or all) with their configs and last evaluations, in one query. An evaluation
 * from before the flag's creation belongs to a deleted flag that had the same key and is ignored.
 */
export async function lifecycleRows(db: Queryable, filter: { keys?: readonly string[]; includeArchived: boolean }): Promise<LifecycleRow[]> {
  const result = await db.query<{
    key: string; tags: string[]; created_by: string; created_at: Date; archived_at: Date | null;
    /** Built with jsonb: its timestamps are strings. */
    environments: Array<{ environment: string; changed_at: string; last_evaluated: string | null; config: LifecycleConfig }>;
  }>(
    `SELECT f.key, f.tags, f.created_by, f.created_at, f.archived_at,
            coalesce(jsonb_agg(jsonb_build_object(
              'environment', c.environment, 'changed_at', c.updated_at,
              'last_evaluated', CASE WHEN le.last_evaluated >= f.created_at THEN le.last_evaluated END,
              'config', jsonb_build_object(
                'enabled', c.enabled, 'variants', c.variants, 'on_variant', c.on_variant, 'off_variant', c.off_variant,
                'value', c.value, 'off_value', c.off_value, 'rules', c.rules, 'targeting', c.targeting,
                'rollout', c.rollout, 'split', c.split, 'kill_switch', c.kill_switch))
              ORDER BY c.environment) FILTER (WHERE c.environment IS NOT NULL), '[]') AS environments
       FROM flags f
       LEFT JOIN flag_configs c ON c.flag_id = f.id
       LEFT JOIN flag_last_evaluated le ON le.flag_key = f.key AND le.environment = c.environment
      WHERE ($1::text[] IS NULL OR f.key = ANY($1::text[])) AND ($2::boolean OR f.archived_at IS NULL)
      GROUP BY f.id
      ORDER BY f.key`,
    [filter.keys ? [...filter.keys] : null, filter.includeArchived],
  );
  return result.rows.map((row) => {
    const { environments } = row;
    return {
      key: row.key,
      tags: row.tags,
      createdBy: row.created_by,
      createdAt: row.created_at.getTime(),
      archivedAt: row.archived_at ? row.archived_at.getTime() : null,
      environments: environments.map((env) => ({
        environment: env.environment,
        config: env.config,
        changedAt: Date.parse(env.changed_at),
        lastEvaluatedAt: env.last_evaluated ? Date.parse(env.last_evaluated) : null,
      })),
      lastEvaluated: Object.fromEntries(environments.map((env) => [env.environment, env.last_evaluated ? new Date(env.last_evaluated).toISOString() : null])),
    };
  });
}

/** Files (repository and path) referencing each flag, from `ripcord refs --upload`. */
export async function referencedFileCounts(db: Queryable, keys: readonly string[]): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const result = await db.query<{ flag_key: string; files: number }>(
    `SELECT flag_key, count(DISTINCT (repository, path))::int AS files FROM code_references WHERE flag_key = ANY($1::text[]) GROUP BY flag_key`,
    [[...keys]],
  );
  return new Map(result.rows.map((row) => [row.flag_key, row.files]));
}

/** Owners (flag creators that are users) with their Slack link, by user id. */
export async function ownersByUserId(db: Queryable, ids: readonly string[]): Promise<Map<string, { name: string; slackUserId: string | null }>> {
  const uuids = ids.filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id));
  if (uuids.length === 0) return new Map();
  const result = await db.query<{ id: string; name: string; slack_user_id: string | null }>(
    'SELECT id::text AS id, name, CASE WHEN deactivated_at IS NULL THEN slack_user_id END AS slack_user_id FROM users WHERE id = ANY($1::uuid[])',
    [uuids],
  );
  return new Map(result.rows.map((row) => [row.id, { name: row.name, slackUserId: row.slack_user_id }]));
}

/** Whether a week's digest already went out to a recipient (a retried activity, a second run that week). */
export async function digestAlreadyPosted(db: Queryable, week: string, recipient: string): Promise<boolean> {
  return touched(await db.query('SELECT 1 FROM lifecycle_digest_posts WHERE week = $1 AND recipient = $2', [week, recipient]));
}

/** Records that a week's digest went out to a recipient. */
export async function recordDigestPosted(db: Queryable, week: string, recipient: string, flags: number): Promise<void> {
  await db.query('INSERT INTO lifecycle_digest_posts (week, recipient, flags) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [week, recipient, flags]);
}
