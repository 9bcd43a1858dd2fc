import type { FlagConfig, FlagDefinition, FlagType } from '../domain/flag.js';
import type { RolloutPlan } from '../domain/rollout-plan.js';
import { resolveVariants, type SplitEntry } from '../domain/variants.js';
import { NotFoundError } from '../errors.js';
import { appendAuditEvent, auditEventExists, auditOldValue } from '../audit/audit-store.js';
import type { Queryable } from '../connections/database.js';
import { findFlag, loadDefinitions, lockFlagConfig, saveLockedConfigAtNextRevision, type ConfigRecord, type FlagRecord } from './flag-store.js';

/** A config change made by a workflow step, written at most once whatever the retries. */
export interface IdempotentConfigChange {
  flagKey: string;
  environment: string;
  /** The audit event's idempotency key: a second attempt finds it and changes nothing. */
  idempotencyKey: string;
  action: string;
  actor: { id: string; name: string };
  reason: string;
  metadata: Record<string, unknown>;
  /** The new config from the current one and the flag's type. */
  change: (current: FlagConfig, type: FlagType) => FlagConfig;
}

/**
 * Locks the config a change is about to rewrite, with its flag, in one round trip; refuses an
 * archived or unknown flag, or an environment the flag has no config in, naming which.
 */
export async function lockForChange(tx: Queryable, flagKey: string, environment: string): Promise<{ flag: FlagRecord; config: ConfigRecord }> {
  const locked = await lockFlagConfig(tx, flagKey, environment);
  // Only a refusal costs a second look, to say what is missing.
  const flag = locked?.flag ?? await findFlag(tx, flagKey);
  if (!flag || flag.archivedAt) throw new NotFoundError(`Flag '${flagKey}' does not exist`);
  if (!locked) throw new NotFoundError(`Environment '${environment}' does not exist`);
  return locked;
}

/**
 * Writes a config change (config, new version, audit event) in the caller's transaction unless its
 * idempotency key was used before; returns the flag's definition as it now is.
 */
export async function applyConfigChangeOnce(tx: Queryable, change: IdempotentConfigChange): Promise<{ changed: boolean; definition: FlagDefinition }> {
  const { flag, config: existing } = await lockForChange(tx, change.flagKey, change.environment);

  if (await auditEventExists(tx, change.idempotencyKey)) {
    const [definition] = await loadDefinitions(tx, change.environment, { flagKey: change.flagKey });
    return { changed: false, definition: definition! };
  }

  // The kill switch changes only through its own route: a scheduled or rollout change keeps it.
  const config: FlagConfig = { ...change.change(existing.config, flag.type), kill_switch: existing.config.kill_switch };
  const version = await saveLockedConfigAtNextRevision(tx, flag.id, change.environment, config, change.actor.id);
  if (version === null) throw new NotFoundError(`Environment '${change.environment}' does not exist`);
  await appendAuditEvent(tx, {
    userId: change.actor.id,
    action: change.action,
    resourceType: 'flag',
    resourceId: flag.key,
    environment: change.environment,
    oldValue: existing.config,
    newValue: config,
    reason: change.reason,
    metadata: { ...change.metadata, actorName: change.actor.name, version },
    idempotencyKey: change.idempotencyKey,
  });
  return { changed: true, definition: { key: flag.key, type: flag.type, environment: change.environment, version, config } };
}

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
  // A split plan never sets a percentage (its steps set splits): 'gradual' only satisfies the type.
  return { percentage, strategy: plan.strategy === 'split' ? 'gradual' : plan.strategy };
}

/** Writes one rollout step at most once per (rollout, label). */
export function applyRolloutStep(tx: Queryable, step: RolloutStepChange) {
  return applyConfigChangeOnce(tx, {
    flagKey: step.flagKey,
    environment: step.environment,
    idempotencyKey: `rollout:${step.rolloutId}:${step.label}`,
    action: `rollout.${step.label.split(':')[0]}`,
    actor: step.actor,
    reason: step.reason,
    metadata: { rolloutId: step.rolloutId, workflowId: step.workflowId, label: step.label },
    change: (current) =>
      step.percentage === 'off'
        ? { ...current, enabled: false }
        // A percentage rollout splits between the on and off variants: it replaces a weighted split.
        : { ...current, enabled: true, rollout: rolloutBlock(step.plan, step.percentage), split: null },
  });
}

/** The fields a split rollout changes, as they were before its first step: what a rollback restores. */
export interface SplitRolloutStart {
  enabled: boolean;
  rollout: FlagConfig['rollout'];
  split: SplitEntry[] | null;
  /** What the config served by weight then, as a split (off → the off variant 100; a percentage → on p / off 100 − p). */
  effective: SplitEntry[];
}

/** One weighted-split change of a split rollout: a step sets `split`, a rollback restores `restore`. */
export interface RolloutSplitChange {
  rolloutId: string;
  workflowId: string;
  flagKey: string;
  environment: string;
  /** Names the change uniquely within the rollout ('step:2', 'rollback', …): the idempotency key. */
  label: string;
  actor: { id: string; name: string };
  reason: string;
  target: { split: SplitEntry[] } | { restore: SplitRolloutStart };
}

/** Thrown when a split step names a variant the config no longer declares (never retried). */
export class UnknownSplitVariant extends Error {}

/** The weighted split a config serves when no rule or targeting matches (percentages and off read as splits). */
export function effectiveSplit(config: FlagConfig): SplitEntry[] {
  const { on, off } = resolveVariants(config);
  if (!config.enabled) return [{ variant: off, weight: 100 }];
  if (config.split) return config.split.map((e) => ({ ...e }));
  const p = config.rollout ? config.rollout.percentage : 100;
  if (p >= 100 || on === off) return [{ variant: on, weight: 100 }];
  if (p <= 0) return [{ variant: off, weight: 100 }];
  return [{ variant: on, weight: p }, { variant: off, weight: Math.round((100 - p) * 1000) / 1000 }];
}

function startOf(config: FlagConfig): SplitRolloutStart {
  return { enabled: config.enabled, rollout: config.rollout ?? null, split: config.split ?? null, effective: effectiveSplit(config) };
}

/**
 * Writes one split step (or the rollback) at most once per (rollout, label); returns the config's
 * starting point as it was before this change (on a repeat, from the audit event the first attempt wrote).
 */
export async function applyRolloutSplit(tx: Queryable, step: RolloutSplitChange) {
  const idempotencyKey = `rollout:${step.rolloutId}:${step.label}`;
  const seen: { before?: FlagConfig } = {};
  const applied = await applyConfigChangeOnce(tx, {
    flagKey: step.flagKey,
    environment: step.environment,
    idempotencyKey,
    action: `rollout.${step.label.split(':')[0]}`,
    actor: step.actor,
    reason: step.reason,
    metadata: { rolloutId: step.rolloutId, workflowId: step.workflowId, label: step.label },
    change: (current) => {
      seen.before = current;
      if ('restore' in step.target) {
        const { enabled, rollout, split } = step.target.restore;
        return { ...current, enabled, rollout, split };
      }
      // Variants may have been removed from the config since the plan was checked at start.
      const { variants } = resolveVariants(current);
      const missing = step.target.split.find((e) => !variants.has(e.variant));
      if (missing) throw new UnknownSplitVariant(`variant '${missing.variant}' is no longer declared by the config of '${step.flagKey}' in '${step.environment}'`);
      return { ...current, enabled: true, rollout: null, split: step.target.split };
    },
  });
  const before = seen.before ?? ((await auditOldValue(tx, idempotencyKey)) as FlagConfig | null);
  return { ...applied, before: before ? startOf(before) : null };
}
