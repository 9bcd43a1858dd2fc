import type { FlagConfig, FlagDefinition, FlagType } from '../domain/flag.js';
import { withVariants } from '../domain/variants.js';
import type { Queryable } from '../connections/database.js';
import { iso, onlyRow } from '../connections/rows.js';

/** A flag's identity, shared by all environments. */
export interface FlagRecord {
  id: string;
  key: string;
  name: string;
  description: string;
  type: FlagType;
  tags: string[];
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  archivedAt: string | null;
  /** Bumped by every change to the flag's identity (name, description, tags, archived). */
  version: number;
}

/** A flag's configuration in one environment, with its version. */
export interface ConfigRecord {
  environment: string;
  config: FlagConfig;
  version: number;
  updatedBy: string;
  updatedAt: string;
}

const FLAG_COLUMNS = 'id, key, name, description, type, tags, created_by, created_at, updated_by, updated_at, archived_at, version';
/** The columns of a config row (ConfigRow), for statements of other stores that read one. */
export const CONFIG_COLUMNS = 'environment, enabled, variants, on_variant, off_variant, value, off_value, rules, targeting, rollout, split, bucketing, kill_switch, version, updated_by, updated_at';

/** A row of FLAG_COLUMNS. */
interface FlagRow {
  id: string;
  key: string;
  name: string;
  description: string;
  type: FlagType;
  tags: string[];
  created_by: string;
  created_at: Date;
  updated_by: string;
  updated_at: Date;
  archived_at: Date | null;
  version: number;
}

/** A row of CONFIG_COLUMNS (jsonb columns as zod checked them on the way in). */
export interface ConfigRow {
  environment: string;
  enabled: FlagConfig['enabled'];
  variants: FlagConfig['variants'];
  on_variant: FlagConfig['on_variant'];
  off_variant: FlagConfig['off_variant'];
  value: FlagConfig['value'];
  off_value: FlagConfig['off_value'];
  rules: FlagConfig['rules'];
  targeting: FlagConfig['targeting'];
  rollout: FlagConfig['rollout'] | null;
  split: FlagConfig['split'] | null;
  bucketing: FlagConfig['bucketing'] | null;
  kill_switch: FlagConfig['kill_switch'];
  version: number;
  updated_by: string;
  updated_at: Date;
}

function toFlag(row: FlagRow): FlagRecord {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    description: row.description,
    type: row.type,
    tags: row.tags,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    updatedBy: row.updated_by,
    updatedAt: iso(row.updated_at),
    archivedAt: iso(row.archived_at),
    version: row.version,
  };
}

export function toConfig(row: ConfigRow): ConfigRecord {
  const config: FlagConfig = {
    enabled: row.enabled,
    variants: row.variants,
    on_variant: row.on_variant,
    off_variant: row.off_variant,
    value: row.value,
    off_value: row.off_value,
    rules: row.rules,
    targeting: row.targeting,
    kill_switch: row.kill_switch,
    ...(row.rollout ? { rollout: row.rollout } : {}),
    ...(row.split ? { split: row.split } : {}),
    ...(row.bucketing ? { bucketing: row.bucketing } : {}),
  };
  return {
    environment: row.environment,
    config,
    version: row.version,
    updatedBy: row.updated_by,
    updatedAt: iso(row.updated_at),
  };
}

export async function listEnvironments(db: Queryable): Promise<Array<{ key: string; name: string; revision: number }>> {
  const result = await db.query<{ key: string; name: string; revision: number }>('SELECT key, name, revision FROM environments ORDER BY created_at, key');
  return result.rows;
}

/** Takes the environment's next revision (the version of the change being written); null if unknown. */
export async function nextRevision(tx: Queryable, environment: string): Promise<number | null> {
  const result = await tx.query<{ revision: number }>('UPDATE environments SET revision = revision + 1 WHERE key = $1 RETURNING revision', [environment]);
  return result.rows[0]?.revision ?? null;
}

export interface NewFlag {
  key: string;
  name: string;
  description: string;
  type: FlagType;
  tags: string[];
  actor: string;
}

/** Inserts a flag; returns null when the key is taken. */
export async function insertFlag(tx: Queryable, flag: NewFlag): Promise<FlagRecord | null> {
  const result = await tx.query<FlagRow>(
    `INSERT INTO flags (key, name, description, type, tags, created_by, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $6)
     ON CONFLICT (key) DO NOTHING
     RETURNING ${FLAG_COLUMNS}`,
    [flag.key, flag.name, flag.description, flag.type, flag.tags, flag.actor],
  );
  return result.rows[0] ? toFlag(result.rows[0]) : null;
}

/** Every live flag key (for "did you mean"), at most `limit`. */
export async function listFlagKeys(db: Queryable, limit = 10_000): Promise<string[]> {
  const result = await db.query<{ key: string }>('SELECT key FROM flags WHERE archived_at IS NULL ORDER BY key LIMIT $1', [limit]);
  return result.rows.map((row) => row.key);
}

/** A flag's revision: how many changes the audit log records for it (creation is revision 1). */
export async function flagRevision(db: Queryable, key: string): Promise<number> {
  const result = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events WHERE resource_type = 'flag' AND resource_id = $1`, [key]);
  return onlyRow(result).n;
}

/** Which of `keys` name a flag that is not archived and has a config in `environment`. */
export async function liveFlagKeysIn(db: Queryable, environment: string, keys: readonly string[]): Promise<Set<string>> {
  const result = await db.query<{ key: string }>(
    `SELECT f.key FROM flags f JOIN flag_configs c ON c.flag_id = f.id
      WHERE f.key = ANY($1::text[]) AND c.environment = $2 AND f.archived_at IS NULL`,
    [keys, environment],
  );
  return new Set(result.rows.map((row) => row.key));
}

export async function findFlag(db: Queryable, key: string): Promise<FlagRecord | null> {
  const result = await db.query<FlagRow>(`SELECT ${FLAG_COLUMNS} FROM flags WHERE key = $1`, [key]);
  return result.rows[0] ? toFlag(result.rows[0]) : null;
}

/** Reads one environment's config; `forUpdate` locks the row until the transaction ends. */
export async function findConfig(db: Queryable, flagId: string, environment: string, forUpdate = false): Promise<ConfigRecord | null> {
  const result = await db.query<ConfigRow>(
    `SELECT ${CONFIG_COLUMNS} FROM flag_configs WHERE flag_id = $1 AND environment = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [flagId, environment],
  );
  return result.rows[0] ? toConfig(result.rows[0]) : null;
}

export async function listConfigs(db: Queryable, flagId: string): Promise<ConfigRecord[]> {
  const result = await db.query<ConfigRow>(`SELECT ${CONFIG_COLUMNS} FROM flag_configs WHERE flag_id = $1 ORDER BY environment`, [flagId]);
  return result.rows.map(toConfig);
}

/**
 * A flag and its config in one environment, the config row locked until the transaction ends: what
 * a change reads before it writes, in one round trip. Null when the flag has no config there (the
 * caller tells which is missing).
 */
export async function lockFlagConfig(tx: Queryable, flagKey: string, environment: string): Promise<{ flag: FlagRecord; config: ConfigRecord } | null> {
  const result = await tx.query<FlagRow & Omit<ConfigRow, 'version' | 'updated_by' | 'updated_at'> & { config_version: number; config_updated_by: string; config_updated_at: Date }>(
    `SELECT ${FLAG_COLUMNS.split(', ').map((c) => `f.${c}`).join(', ')},
            c.environment, c.enabled, c.variants, c.on_variant, c.off_variant, c.value, c.off_value, c.rules, c.targeting, c.rollout, c.split, c.bucketing, c.kill_switch,
            c.version AS config_version, c.updated_by AS config_updated_by, c.updated_at AS config_updated_at
       FROM flag_configs c JOIN flags f ON f.id = c.flag_id
      WHERE f.key = $1 AND c.environment = $2
        FOR UPDATE OF c`,
    [flagKey, environment],
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    flag: toFlag(row),
    config: toConfig({ ...row, version: row.config_version, updated_by: row.config_updated_by, updated_at: row.config_updated_at }),
  };
}

/**
 * Writes a config the caller has locked (lockFlagConfig) at the environment's next revision, and
 * marks the flag as changed by `actor`, in one statement; returns the new version, null when the
 * environment is unknown. The locks are taken in the order of nextRevision then saveConfig: the
 * environment's row (read by the main update), then the flag's (a data-modifying CTE nobody reads
 * runs when the statement ends).
 */
export async function saveLockedConfigAtNextRevision(
  tx: Queryable,
  flagId: string,
  environment: string,
  stored: FlagConfig,
  actor: string,
): Promise<number | null> {
  // Every column of the config, variants and split included (a split rollout step or a scheduled change writes them).
  const config = withVariants(stored);
  const result = await tx.query<{ version: number }>(
    `WITH revision AS (UPDATE environments SET revision = revision + 1 WHERE key = $2 RETURNING revision),
          touched AS (UPDATE flags SET updated_by = $10, updated_at = now() WHERE id = $1)
     UPDATE flag_configs SET enabled = $3, value = $4, off_value = $5, rules = $6, targeting = $7, rollout = $8, kill_switch = $9,
            variants = $11, on_variant = $12, off_variant = $13, split = $14, bucketing = $15,
            version = revision.revision, updated_by = $10, updated_at = now()
       FROM revision
      WHERE flag_id = $1 AND environment = $2
  RETURNING flag_configs.version`,
    [
      flagId, environment, config.enabled, JSON.stringify(config.value), JSON.stringify(config.off_value),
      JSON.stringify(config.rules ?? []), JSON.stringify(config.targeting ?? []),
      config.rollout ? JSON.stringify(config.rollout) : null, JSON.stringify(config.kill_switch), actor,
      JSON.stringify(config.variants), config.on_variant, config.off_variant, config.split ? JSON.stringify(config.split) : null,
      config.bucketing ? JSON.stringify(config.bucketing) : null,
    ],
  );
  return result.rows[0]?.version ?? null;
}

/**
 * Writes (inserts or replaces) one environment's config at the given version. A config in the
 * shape before variants (a scheduled change written then) is stored with its implicit `on`/`off` variants.
 */
export async function saveConfig(
  tx: Queryable,
  flagId: string,
  environment: string,
  stored: FlagConfig,
  version: number,
  actor: string,
): Promise<void> {
  const config = withVariants(stored);
  await tx.query(
    `INSERT INTO flag_configs (flag_id, environment, enabled, variants, on_variant, off_variant, value, off_value, rules, targeting, rollout, split, kill_switch, version, updated_by, bucketing)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (flag_id, environment) DO UPDATE SET
       enabled = EXCLUDED.enabled, variants = EXCLUDED.variants, on_variant = EXCLUDED.on_variant, off_variant = EXCLUDED.off_variant,
       value = EXCLUDED.value, off_value = EXCLUDED.off_value, rules = EXCLUDED.rules,
       targeting = EXCLUDED.targeting, rollout = EXCLUDED.rollout, split = EXCLUDED.split, bucketing = EXCLUDED.bucketing, kill_switch = EXCLUDED.kill_switch,
       version = EXCLUDED.version, updated_by = EXCLUDED.updated_by, updated_at = now()`,
    [
      flagId, environment, config.enabled, JSON.stringify(config.variants), config.on_variant, config.off_variant,
      JSON.stringify(config.value), JSON.stringify(config.off_value),
      JSON.stringify(config.rules ?? []), JSON.stringify(config.targeting ?? []),
      config.rollout ? JSON.stringify(config.rollout) : null, config.split ? JSON.stringify(config.split) : null,
      JSON.stringify(config.kill_switch), version, actor, config.bucketing ? JSON.stringify(config.bucketing) : null,
    ],
  );
  await tx.query('UPDATE flags SET updated_by = $2, updated_at = now() WHERE id = $1', [flagId, actor]);
}

/**
 * Every flag of an environment in the shape the projection and the engine use. An archived flag comes
 * as a tombstone (`archived: true`, at the version that archived it) so that the projection and every
 * L1 snapshot drop it, and a lost tombstone is repaired like any other write.
 */
export async function loadDefinitions(
  db: Queryable,
  environment: string,
  filter: { flagKey?: string; sinceVersion?: number } = {},
): Promise<FlagDefinition[]> {
  const result = await db.query<ConfigRow & { key: string; type: FlagType; archived_at: Date | null }>(
    `SELECT f.key, f.type, f.archived_at, ${CONFIG_COLUMNS.split(', ').map((c) => `c.${c}`).join(', ')}
       FROM flag_configs c JOIN flags f ON f.id = c.flag_id
      WHERE c.environment = $1 AND ($2::text IS NULL OR f.key = $2) AND c.version > $3`,
    [environment, filter.flagKey ?? null, filter.sinceVersion ?? 0],
  );
  return result.rows.map((row) => {
    const record = toConfig(row);
    return {
      key: row.key, type: row.type, environment, version: record.version, config: record.config,
      ...(row.archived_at ? { archived: true } : {}),
    };
  });
}

export interface FlagListFilter {
  tags?: string[];
  environment?: string;
  state?: FlagListState;
  text?: string;
  /** Keys after this one (keyset pagination by key). */
  after?: string;
  limit: number;
}

/** A flag with a summary of its config per environment. */
export interface FlagSummary extends FlagRecord {
  environments: Record<string, { enabled: boolean; killed: boolean; version: number }>;
}

/** The flag list states, shared by the list route and the dashboard. */
export type FlagListState = 'active' | 'archived' | 'all' | 'enabled' | 'disabled' | 'killed';

/** Escapes LIKE's wildcards so a search text matches literally. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * SQL predicates for a list state: `archived` on the flag (alias f), `config` on one of its configs
 * (alias c), null when any config will do.
 */
export function flagStatePredicates(state: FlagListState): { archived: string; config: string | null } {
  const config =
    state === 'enabled' ? `c.enabled AND NOT (c.kill_switch->>'enabled')::boolean`
      : state === 'disabled' ? `NOT c.enabled AND NOT (c.kill_switch->>'enabled')::boolean`
        : state === 'killed' ? `(c.kill_switch->>'enabled')::boolean`
          : null;
  const archived = state === 'archived' ? 'f.archived_at IS NOT NULL' : state === 'all' ? 'true' : 'f.archived_at IS NULL';
  return { archived, config };
}

/** Lists flags by key, filtered; returns at most `limit` rows. */
export async function listFlags(db: Queryable, filter: FlagListFilter): Promise<FlagSummary[]> {
  const { archived, config: configState } = flagStatePredicates(filter.state ?? 'active');
  const result = await db.query<FlagRow & { environments: FlagSummary['environments'] }>(
    `SELECT ${FLAG_COLUMNS.split(', ').map((c) => `f.${c}`).join(', ')},
            coalesce((SELECT jsonb_object_agg(c.environment, jsonb_build_object(
                        'enabled', c.enabled, 'killed', (c.kill_switch->>'enabled')::boolean, 'version', c.version))
                        FROM flag_configs c WHERE c.flag_id = f.id AND ($2::text IS NULL OR c.environment = $2)), '{}') AS environments
       FROM flags f
      WHERE ${archived}
        AND ($1::text[] IS NULL OR f.tags @> $1::text[])
        AND ($3::text IS NULL OR f.key ILIKE $3 OR f.name ILIKE $3 OR f.description ILIKE $3)
        AND ($4::text IS NULL OR f.key > $4)
        ${configState ? `AND EXISTS (SELECT 1 FROM flag_configs c WHERE c.flag_id = f.id AND ($2::text IS NULL OR c.environment = $2) AND ${configState})` : ''}
      ORDER BY f.key
      LIMIT $5`,
    [filter.tags?.length ? filter.tags : null, filter.environment ?? null, filter.text ? `%${escapeLike(filter.text)}%` : null, filter.after ?? null, filter.limit],
  );
  return result.rows.map((row) => ({ ...toFlag(row), environments: row.environments }));
}

/** Changes a flag's name, description or tags and bumps its version; returns the updated record. */
export async function updateFlagIdentity(
  tx: Queryable,
  id: string,
  patch: { name?: string; description?: string; tags?: string[] },
  actor: string,
): Promise<FlagRecord> {
  const result = await tx.query<FlagRow>(
    `UPDATE flags SET name = coalesce($2, name), description = coalesce($3, description), tags = coalesce($4, tags),
                      version = version + 1, updated_by = $5, updated_at = now()
      WHERE id = $1 RETURNING ${FLAG_COLUMNS}`,
    [id, patch.name ?? null, patch.description ?? null, patch.tags ?? null, actor],
  );
  return toFlag(onlyRow(result));
}

/** Archives or unarchives a flag and bumps its version. */
export async function setFlagArchived(tx: Queryable, id: string, archived: boolean, actor: string): Promise<FlagRecord> {
  const result = await tx.query<FlagRow>(
    `UPDATE flags SET archived_at = CASE WHEN $2 THEN now() ELSE NULL END, version = version + 1, updated_by = $3, updated_at = now()
      WHERE id = $1 RETURNING ${FLAG_COLUMNS}`,
    [id, archived, actor],
  );
  return toFlag(onlyRow(result));
}

/**
 * Locks every config row of a flag, in environment order, until the transaction ends. Lock order:
 * a flag's config rows come before its flag row in every transaction (the kill switch, config
 * updates, rollout steps and scheduled changes lock the config first and mark the flag changed as
 * they write), and environment rows are taken in key order; a path that needs the flag row and
 * rewrites configs (archive, unarchive, delete) calls this before lockFlag.
 */
export async function lockFlagConfigs(tx: Queryable, key: string): Promise<void> {
  await tx.query(
    'SELECT 1 FROM flag_configs c JOIN flags f ON f.id = c.flag_id WHERE f.key = $1 ORDER BY c.environment FOR UPDATE OF c',
    [key],
  );
}

/**
 * Locks environment rows in key order until the transaction ends: what a write that takes several
 * environments' next revisions (archive, a segment's dependents) does before it writes any config or
 * flag row, so that environment rows always come before flag rows.
 */
export async function lockEnvironments(tx: Queryable, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.query('SELECT 1 FROM environments WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE', [[...keys]]);
}

/** Locks a flag's row until the transaction ends (identity changes are serialised per flag). */
export async function lockFlag(tx: Queryable, key: string): Promise<FlagRecord | null> {
  const result = await tx.query<FlagRow>(`SELECT ${FLAG_COLUMNS} FROM flags WHERE key = $1 FOR UPDATE`, [key]);
  return result.rows[0] ? toFlag(result.rows[0]) : null;
}

/** Removes a flag and its configs for good. */
export async function deleteFlagRow(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM flags WHERE id = $1', [id]);
}
