import type { FlagConfig, FlagDefinition } from '../domain/flag.js';
import { NotFoundError, ConflictError } from '../errors.js';
import { appendAuditEvent, auditEventExists, type AuditEventInput } from '../audit/audit-store.js';
import type { Queryable } from '../connections/database.js';
import { loadDefinitions, saveLockedConfigAtNextRevision } from '../flags/flag-store.js';
import { lockForChange } from '../flags/config-change.js';

/** A kill or a restore, as the API and the workflow both apply it. */
export interface KillSwitchChange {
  flagKey: string;
  environment: string;
  /** The workflow that carries the change; its audit key makes every step idempotent. */
  workflowId: string;
  actor: { id: string; name: string };
  reason: string;
  at: string;
  ipAddress?: string | null;
  userAgent?: string | null;
}

export interface AppliedChange {
  /** False when this change had already been applied (a retry) or was superseded. */
  changed: boolean;
  definition: FlagDefinition;
}

/** A change's audit event is keyed by its workflow: written once, and the mark that the change was applied. */
const auditKey = (change: KillSwitchChange) => `${change.workflowId}:audit`;

/** The audit event a change writes; its idempotency key is the workflow's. */
export function killSwitchAuditEvent(change: KillSwitchChange, kind: 'activated' | 'deactivated', oldValue?: unknown, newValue?: unknown): AuditEventInput {
  return {
    userId: change.actor.id,
    action: `kill_switch.${kind}`,
    resourceType: 'flag',
    resourceId: change.flagKey,
    environment: change.environment,
    oldValue,
    newValue,
    reason: change.reason,
    ipAddress: change.ipAddress ?? null,
    userAgent: change.userAgent ?? null,
    metadata: { workflowId: change.workflowId, actorName: change.actor.name },
    idempotencyKey: auditKey(change),
  };
}

/** The flag's definition in one environment as stored now; 404 when the flag or its config is gone. */
export async function currentDefinition(tx: Queryable, change: Pick<KillSwitchChange, 'flagKey' | 'environment'>): Promise<FlagDefinition> {
  const [definition] = await loadDefinitions(tx, change.environment, { flagKey: change.flagKey });
  if (!definition) throw new NotFoundError(`Flag '${change.flagKey}' has no config in environment '${change.environment}'`);
  return definition;
}

/**
 * Turns the kill switch on, writing the config and its audit event in the caller's transaction.
 * Applied at most once per workflow id: the audit event is the record that it happened, so a retry
 * (or a workflow re-running the step after a later restore) changes nothing.
 */
export async function applyKill(tx: Queryable, change: KillSwitchChange): Promise<AppliedChange & { alreadyActive: boolean }> {
  return applyKillSwitch(tx, change, true);
}

/** Turns the kill switch off; same idempotency as applyKill. Refuses when it isn't on. */
export async function applyRestore(tx: Queryable, change: KillSwitchChange): Promise<AppliedChange & { alreadyActive: boolean }> {
  return applyKillSwitch(tx, change, false);
}

async function applyKillSwitch(tx: Queryable, change: KillSwitchChange, enable: boolean) {
  const { flag, config } = await lockForChange(tx, change.flagKey, change.environment);

  if (await auditEventExists(tx, auditKey(change))) {
    return { changed: false, alreadyActive: false, definition: await currentDefinition(tx, change) };
  }
  if (config.config.kill_switch.enabled === enable) {
    if (!enable) throw new ConflictError(`The kill switch of '${change.flagKey}' in '${change.environment}' is not active`);
    // Already killed by someone else: nothing to do, and no second workflow.
    return { changed: false, alreadyActive: true, definition: await currentDefinition(tx, change) };
  }

  const killSwitch: FlagConfig['kill_switch'] = enable
    ? { enabled: true, reason: change.reason, triggered_by: change.actor.name, triggered_at: change.at }
    : { enabled: false };
  const updated: FlagConfig = { ...config.config, kill_switch: killSwitch };
  const version = await saveLockedConfigAtNextRevision(tx, flag.id, change.environment, updated, change.actor.id);
  if (version === null) throw new NotFoundError(`Environment '${change.environment}' does not exist`);
  await appendAuditEvent(tx, killSwitchAuditEvent(change, enable ? 'activated' : 'deactivated', config.config.kill_switch, killSwitch));
  return {
    changed: true,
    alreadyActive: false,
    definition: { key: flag.key, type: flag.type, environment: change.environment, version, config: updated },
  };
}

/** Writes a kill's or a restore's audit event unless it exists (the API writes it with the change); true when written. */
export function auditKillSwitch(db: Queryable, change: KillSwitchChange, kind: 'activated' | 'deactivated'): Promise<boolean> {
  return appendAuditEvent(db, killSwitchAuditEvent(change, kind));
}
