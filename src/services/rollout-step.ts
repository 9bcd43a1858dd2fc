import type { FlagConfig, FlagDefinition } from '../domain/flag.js';
import type { RolloutPlan } from '../domain/rollout-plan.js';
import { NotFoundError } from '../errors.js';
import { appendAuditEvent } from '../stores/audit-store.js';
import type { Queryable } from '../stores/database.js';
import { findConfig, findFlag, loadDefinitions, nextRevision, saveConfig } from '../stores/flag-store.js';

/** One percentage change of a rollout, as its workflow asks for it. */
export interface RolloutStepChange {
  rolloutId: string;
  workflowId: string;
  flagKey: string;
  environment: string;
  /** Names the change uniquely within the rollout ('step:2', 'rollback', …): the idempotency key. */
  label: string;
  percentage: number | 'off';
  plan: RolloutPlan;
  actor: { id: string; name: string };
  reason: string;
}

/** The rollout block a step writes: the plan's strategy, and for scheduled plans the window too. */
function rolloutBlock(plan: RolloutPlan, percentage: number): NonNullable<FlagConfig['rollout']> {
  if (plan.strategy === 'scheduled') {
    return { percentage, strategy: 'scheduled', start_date: plan.start_date, end_date: plan.end_date ?? null };
  }
  return { percentage, strategy: plan.strategy };
}

/**
 * Writes one rollout step (config, its audit event and a new version) in the caller's transaction,
 * at most once per (rollout, label): a retried activity finds its audit event and changes nothing.
 */
export async function applyRolloutStep(tx: Queryable, change: RolloutStepChange): Promise<{ changed: boolean; definition: FlagDefinition }> {
  const idempotencyKey = `rollout:${change.rolloutId}:${change.label}`;
  const flag = await findFlag(tx, change.flagKey);
  if (!flag || flag.archivedAt) throw new NotFoundError(`Flag '${change.flagKey}' does not exist`);
  const existing = await findConfig(tx, flag.id, change.environment, true);
  if (!existing) throw new NotFoundError(`Environment '${change.environment}' does not exist`);

  const done = await tx.query('SELECT 1 FROM audit_events WHERE idempotency_key = $1', [idempotencyKey]);
  if (done.rowCount) {
    const [definition] = await loadDefinitions(tx, change.environment, { flagKey: change.flagKey });
    return { changed: false, definition: definition! };
  }

  const config: FlagConfig =
    change.percentage === 'off'
      ? { ...existing.config, enabled: false }
      : { ...existing.config, enabled: true, rollout: rolloutBlock(change.plan, change.percentage) };
  const version = (await nextRevision(tx, change.environment))!;
  await saveConfig(tx, flag.id, change.environment, config, version, change.actor.id);
  await appendAuditEvent(tx, {
    userId: change.actor.id,
    action: `rollout.${change.label.split(':')[0]}`,
    resourceType: 'flag',
    resourceId: flag.key,
    environment: change.environment,
    oldValue: { enabled: existing.config.enabled, rollout: existing.config.rollout ?? null },
    newValue: { enabled: config.enabled, rollout: config.rollout ?? null },
    reason: change.reason,
    metadata: { rolloutId: change.rolloutId, workflowId: change.workflowId, label: change.label, actorName: change.actor.name, version },
    idempotencyKey,
  });
  return { changed: true, definition: { key: flag.key, type: flag.type, environment: change.environment, version, config } };
}
