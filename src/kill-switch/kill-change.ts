import type { FlagConfig, FlagDefinition } from '../domain/flag.js';
import { NotFoundError, ConflictError } from '../errors.js';
import { appendAuditEvent, auditEventExists } from '../audit/audit-store.js';
import type { Queryable } from '../connections/database.js';
import { findFlag, loadDefinitions } from '../flags/flag-store.js';
import { writeKillSwitch, type KillSwitchWrite } from './kill-switch-store.js';

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

/** The audit event a change writes (the statement adds the old and new kill switch); its idempotency key is the workflow's. */
function killSwitchAuditEvent(change: KillSwitchChange, kind: 'activated' | 'deactivated'): KillSwitchWrite['audit'] {
  return {
    userId: change.actor.id,
    action: `kill_switch.${kind}`,
    resourceType: 'flag',
    resourceId: change.flagKey,
    environment: change.environment,
    reason: change.reason,
    ipAddress: change.ipAddress ?? null,
    userAgent: change.userAgent ?? null,
    metadata: { workflowId: change.workflowId, actorName: change.actor.name },
    idempotencyKey: auditKey(change),
  };
}

/** The flag's definition in one environment as stored now; 404 when the flag or its config is gone. */
export async function currentDefinition(db: Queryable, change: Pick<KillSwitchChange, 'flagKey' | 'environment'>): Promise<FlagDefinition> {
  const [definition] = await loadDefinitions(db, change.environment, { flagKey: change.flagKey });
  if (!definition) throw new NotFoundError(`Flag '${change.flagKey}' has no config in environment '${change.environment}'`);
  return definition;
}

/** Work the change queues in its own statement, to run after commit (the workflow's start). */
export interface QueuedWork {
  kind: string;
  dedupeKey: string;
  payload: unknown;
}

/**
 * Turns the kill switch on: the config, its audit event and (when given) the outbox entry are written
 * by one statement, in the caller's transaction or as one of its own. Applied at most once per
 * workflow id: the audit event is the record that it happened, so a retry (or a workflow re-running
 * the step after a later restore) changes nothing.
 */
export async function applyKill(db: Queryable, change: KillSwitchChange, queue?: QueuedWork): Promise<AppliedChange & { alreadyActive: boolean }> {
  return applyKillSwitch(db, change, true, queue);
}

/** Turns the kill switch off; same idempotency as applyKill. Refuses when it isn't on. */
export async function applyRestore(db: Queryable, change: KillSwitchChange, queue?: QueuedWork): Promise<AppliedChange & { alreadyActive: boolean }> {
  return applyKillSwitch(db, change, false, queue);
}

async function applyKillSwitch(db: Queryable, change: KillSwitchChange, enable: boolean, queue?: QueuedWork) {
  const killSwitch: FlagConfig['kill_switch'] = enable
    ? { enabled: true, reason: change.reason, triggered_by: change.actor.name, triggered_at: change.at }
    : { enabled: false };
  const written = await writeKillSwitch(db, {
    flagKey: change.flagKey, environment: change.environment, enable, killSwitch,
    audit: killSwitchAuditEvent(change, enable ? 'activated' : 'deactivated'), outbox: queue,
  });
  switch (written.kind) {
    case 'missing': {
      // Only a refusal costs a second look, to say what is missing.
      const flag = await findFlag(db, change.flagKey);
      if (flag && !flag.archivedAt) throw new NotFoundError(`Environment '${change.environment}' does not exist`);
      throw new NotFoundError(`Flag '${change.flagKey}' does not exist`);
    }
    case 'archived':
      throw new NotFoundError(`Flag '${change.flagKey}' does not exist`);
    case 'repeated':
      return { changed: false, alreadyActive: false, definition: written.definition };
    case 'unchanged':
      // The statement read the audit log before it waited for the lock: a concurrent attempt of this
      // same change, committed meanwhile, is seen only now.
      if (await auditEventExists(db, auditKey(change))) return { changed: false, alreadyActive: false, definition: written.definition };
      if (!enable) throw new ConflictError(`The kill switch of '${change.flagKey}' in '${change.environment}' is not active`);
      // Already killed by someone else: nothing to do, and no second workflow.
      return { changed: false, alreadyActive: true, definition: written.definition };
    case 'changed':
      return { changed: true, alreadyActive: false, definition: written.definition };
  }
}

/** Writes a kill's or a restore's audit event unless it exists (the API writes it with the change); true when written. */
export function auditKillSwitch(db: Queryable, change: KillSwitchChange, kind: 'activated' | 'deactivated'): Promise<boolean> {
  return appendAuditEvent(db, killSwitchAuditEvent(change, kind));
}
