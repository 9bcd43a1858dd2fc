import type { FlagConfig, FlagDefinition, TargetingRule } from '../domain/flag.js';
import { audienceRuleId, type Audience } from '../domain/release-pipeline.js';
import { resolveVariants } from '../domain/variants.js';
import { auditOldValue } from '../audit/audit-store.js';
import type { Queryable } from '../connections/database.js';
import { existingSegmentKeys } from '../segments/segment-store.js';
import { applyConfigChangeOnce, lockForChange } from '../flags/config-change.js';

// The config writes of a release pipeline's audience phases (docs/change-requests-and-pipelines.md, ADR 0006):
// the same locked, versioned, audited write as a rollout step, at most once per idempotency key.

/** Thrown when an audience no longer fits the config (a segment or the variant is gone): never retried. */
export class InvalidAudience extends Error {}

export interface AudienceChange {
  pipelineId: string;
  /** The pipeline's workflow id (pipeline:<flag>): named on the audit event. */
  workflowId: string;
  flagKey: string;
  environment: string;
  phaseIndex: number;
  phaseName: string;
  audience: Audience;
  /** Whoever started the pipeline: the audit event's actor. */
  actor: { id: string; name: string };
}

/** The audit idempotency key of an audience phase's rule: written once per pipeline and phase. */
export const audienceAppliedKey = (pipelineId: string, phaseIndex: number) => `pipeline:${pipelineId}:audience:${phaseIndex}`;

/**
 * Makes the flag serve the audience's variant to its segments: a targeting rule (id per phase) put
 * first, replacing one of the same id. A disabled config is turned on with a 0% rollout, so that
 * only the audience (and the config's own rules) get the on side. Written once per (pipeline, phase).
 */
export async function applyAudience(tx: Queryable, change: AudienceChange): Promise<{ changed: boolean; definition: FlagDefinition }> {
  const { segments, variant } = change.audience;
  // FOR SHARE: a segment can't be deleted between this check and the commit of the rule that names it.
  const existing = await existingSegmentKeys(tx, segments, true);
  const missing = segments.find((key) => !existing.has(key));
  if (missing) throw new InvalidAudience(`segment '${missing}' no longer exists`);
  const rule: TargetingRule = { id: audienceRuleId(change.phaseIndex), segments, percentage: 100, enabled: true, ...(variant ? { variant } : {}) };
  return applyConfigChangeOnce(tx, {
    flagKey: change.flagKey,
    environment: change.environment,
    idempotencyKey: audienceAppliedKey(change.pipelineId, change.phaseIndex),
    action: 'pipeline.audience_applied',
    actor: change.actor,
    reason: `release pipeline ${change.workflowId}, ${change.phaseName}: serve ${variant ?? 'the on variant'} to ${segments.join(', ')}`,
    metadata: { pipelineId: change.pipelineId, workflowId: change.workflowId, phase: change.phaseIndex + 1, phaseName: change.phaseName, ruleId: rule.id },
    change: (current) => {
      if (variant && !resolveVariants(current).variants.has(variant)) {
        throw new InvalidAudience(`variant '${variant}' is not declared by the config of '${change.flagKey}' in '${change.environment}'`);
      }
      const targeting = [rule, ...current.targeting.filter((t) => t.id !== rule.id)];
      if (current.enabled) return { ...current, targeting };
      return { ...current, targeting, enabled: true, rollout: { percentage: 0, strategy: 'gradual' }, split: null };
    },
  });
}

export interface AudienceRemoval {
  pipelineId: string;
  workflowId: string;
  flagKey: string;
  environment: string;
  /** The pipeline's phases whose audience rules were written in this environment. */
  phaseIndexes: number[];
  actor: { id: string; name: string };
  reason: string;
}

/**
 * Removes the pipeline's audience rules from one environment (when it stops there: ADR 0006), once.
 * When an audience had turned a disabled config on and nobody else is served on since (still a 0%
 * rollout), the config goes back to disabled. Nothing to remove writes nothing.
 */
export async function removeAudiences(tx: Queryable, removal: AudienceRemoval): Promise<{ changed: boolean; definition: FlagDefinition | null }> {
  const ids = new Set(removal.phaseIndexes.map(audienceRuleId));
  const { config } = await lockForChange(tx, removal.flagKey, removal.environment);
  if (!config.config.targeting.some((t) => t.id !== undefined && ids.has(t.id))) return { changed: false, definition: null };
  const before = await Promise.all(removal.phaseIndexes.map((i) => auditOldValue(tx, audienceAppliedKey(removal.pipelineId, i)) as Promise<FlagConfig | null>));
  const turnedOn = before.find((old) => old !== null && !old.enabled);
  return applyConfigChangeOnce(tx, {
    flagKey: removal.flagKey,
    environment: removal.environment,
    idempotencyKey: `pipeline:${removal.pipelineId}:audience-removed:${removal.environment}`,
    action: 'pipeline.audience_removed',
    actor: removal.actor,
    reason: `release pipeline ${removal.workflowId} stopped: ${removal.reason}`,
    metadata: { pipelineId: removal.pipelineId, workflowId: removal.workflowId, ruleIds: [...ids] },
    change: (current) => {
      const targeting = current.targeting.filter((t) => t.id === undefined || !ids.has(t.id));
      const onlyAudienceWasOn = turnedOn && current.enabled && !current.split && current.rollout?.percentage === 0;
      return onlyAudienceWasOn ? { ...current, targeting, enabled: false, rollout: turnedOn.rollout ?? null, split: turnedOn.split ?? null } : { ...current, targeting };
    },
  });
}
