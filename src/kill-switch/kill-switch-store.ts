import type { FlagConfig, FlagDefinition, FlagType } from '../domain/flag.js';
import type { AuditEventInput } from '../audit/audit-store.js';
import type { Queryable } from '../connections/database.js';
import { CONFIG_COLUMNS, toConfig, type ConfigRow } from '../flags/flag-store.js';

/** Turning a flag's kill switch on or off, with everything that commits with it. */
export interface KillSwitchWrite {
  flagKey: string;
  environment: string;
  /** The state asked for: true kills, false restores. */
  enable: boolean;
  /** The kill switch as it will be stored. */
  killSwitch: FlagConfig['kill_switch'];
  /** The change's audit event; its old value is the kill switch as stored before, read under the lock. */
  audit: Omit<AuditEventInput, 'oldValue' | 'newValue' | 'idempotencyKey'> & { idempotencyKey: string };
  /** Work to do after commit (a workflow's start), queued only when the change is written. */
  outbox?: { kind: string; dedupeKey: string; payload: unknown };
}

export type KillSwitchWritten =
  /** No config of that flag in that environment (the flag or the environment is unknown). */
  | { kind: 'missing' }
  | { kind: 'archived' }
  /** The audit event's idempotency key was used already: this change happened before. */
  | { kind: 'repeated'; definition: FlagDefinition }
  /** The kill switch is already in the asked state. */
  | { kind: 'unchanged'; definition: FlagDefinition }
  | { kind: 'changed'; definition: FlagDefinition };

type TargetRow = ConfigRow & { key: string; type: FlagType; archived_at: Date | null; repeated: boolean; new_version: number | null };

const TARGET_COLUMNS = CONFIG_COLUMNS.split(', ').map((c) => `c.${c}`).join(', ');

/**
 * One statement, so one round trip and its own transaction (or part of the caller's): lock the
 * config, skip when the idempotency key was used or the switch is already so, else take the
 * environment's next revision, touch the flag, write the kill switch, append the audit event and
 * queue the outbox entry. Every data-modifying part runs only when `go` has the row. Each part reads
 * the one before it, which keeps the house's lock order inside the statement: the config row, the
 * environment row, the flag row, then the audit chain's lock (its trigger).
 */
const WRITE_KILL_SWITCH = `
WITH target AS (
  SELECT f.key, f.type, f.archived_at, c.flag_id, ${TARGET_COLUMNS}
    FROM flag_configs c JOIN flags f ON f.id = c.flag_id
   WHERE f.key = $1 AND c.environment = $2
     FOR UPDATE OF c
),
seen AS (SELECT EXISTS (SELECT 1 FROM audit_events WHERE idempotency_key = $6::text) AS repeated),
go AS (
  SELECT t.flag_id, t.kill_switch FROM target t, seen
   WHERE NOT seen.repeated AND t.archived_at IS NULL
     AND coalesce((t.kill_switch->>'enabled')::boolean, false) <> $3::boolean
),
revision AS (
  UPDATE environments SET revision = revision + 1 WHERE key = $2 AND EXISTS (SELECT 1 FROM go) RETURNING revision
),
touched AS (
  UPDATE flags SET updated_by = $5::text, updated_at = now() FROM go, revision WHERE flags.id = go.flag_id RETURNING flags.id
),
updated AS (
  UPDATE flag_configs c SET kill_switch = $4::jsonb, version = revision.revision, updated_by = $5::text, updated_at = now()
    FROM revision, go
   WHERE c.flag_id = go.flag_id AND c.environment = $2
  RETURNING c.version
),
audit AS (
  INSERT INTO audit_events (user_id, action, resource_type, resource_id, environment, old_value, new_value,
                            reason, ip_address, user_agent, metadata, idempotency_key, prev_hash, hash)
  SELECT $5::text, $7::text, $8::text, $9::text, $2, go.kill_switch, $4::jsonb, $10::text, $11::text, $12::text, $13::jsonb, $6::text, '', ''
    FROM go, touched, updated
  ON CONFLICT (idempotency_key) DO NOTHING
),
queued AS (
  INSERT INTO outbox (kind, dedupe_key, payload)
  SELECT $14::text, $15::text, $16::jsonb FROM updated WHERE $14::text IS NOT NULL
  ON CONFLICT (dedupe_key) DO NOTHING
)
SELECT t.*, seen.repeated, u.version AS new_version
  FROM target t CROSS JOIN seen LEFT JOIN updated u ON true`;

/** Writes a kill or a restore in one statement; says what it found when it wrote nothing. */
export async function writeKillSwitch(db: Queryable, write: KillSwitchWrite): Promise<KillSwitchWritten> {
  const { audit, outbox } = write;
  const result = await db.query<TargetRow>(WRITE_KILL_SWITCH, [
    write.flagKey, write.environment, write.enable, JSON.stringify(write.killSwitch), audit.userId,
    audit.idempotencyKey, audit.action, audit.resourceType, audit.resourceId, audit.reason ?? null,
    audit.ipAddress ?? null, audit.userAgent ?? null, JSON.stringify(audit.metadata ?? {}),
    outbox?.kind ?? null, outbox?.dedupeKey ?? null, outbox ? JSON.stringify(outbox.payload) : null,
  ]);
  const row = result.rows[0];
  if (!row) return { kind: 'missing' };
  if (row.archived_at) return { kind: 'archived' };
  const stored: FlagDefinition = { key: row.key, type: row.type, environment: write.environment, version: row.version, config: toConfig(row).config };
  if (row.repeated) return { kind: 'repeated', definition: stored };
  if (row.new_version === null) return { kind: 'unchanged', definition: stored };
  return { kind: 'changed', definition: { ...stored, version: row.new_version, config: { ...stored.config, kill_switch: write.killSwitch } } };
}
