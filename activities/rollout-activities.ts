import { log } from '@temporalio/activity';
import type { Guard, GuardReading } from '../src/domain/rollout-plan.js';
import { applyRolloutSplit, applyRolloutStep, UnknownSplitVariant, type RolloutSplitChange, type SplitRolloutStart } from '../src/flags/config-change.js';
import type { RolloutStepChange } from '../src/flags/config-change.js';
import { applyScheduledChange, InvalidScheduledConfig, type ScheduledChangeInput } from '../src/scheduled-changes/scheduled-change.js';
import { ApplicationFailure } from '@temporalio/activity';
import { withTransaction, type Queryable } from '../src/connections/database.js';
import { readGuard, recordRollout, type RolloutState } from '../src/rollouts/rollout-record.js';
import { applyAsStarter, StarterRightsLost } from '../src/rollouts/starter-rights.js';
import { activityRefusalKey, nonRetryableOnNotFound, type ActivityDeps, type FlagRef } from './activity-deps.js';

/**
 * A rollout's forward step (label `step:N`) applies on its starter's authority, re-checked now; a
 * rollback or abort takes traffic back to where it was and is never refused. A refusal fails the
 * activity without retries (type StarterRightsLost): the workflow holds the rollout (rollout.ts).
 */
async function asStarter<T>(deps: ActivityDeps, change: Pick<RolloutStepChange, 'rolloutId' | 'workflowId' | 'flagKey' | 'environment' | 'label' | 'actor' | 'reason'>, apply: (tx: Queryable) => Promise<T>): Promise<T> {
  const appliedKey = `rollout:${change.rolloutId}:${change.label}`;
  if (!change.label.startsWith('step:')) return withTransaction(deps.db, apply);
  try {
    return await applyAsStarter(deps.db, {
      flagKey: change.flagKey, environment: change.environment, starter: change.actor, resourceType: 'rollout', step: change.reason,
      then: 'the rollout is paused (restore their rights and resume, or abort it)',
      metadata: { rolloutId: change.rolloutId, workflowId: change.workflowId, label: change.label }, refusalKey: activityRefusalKey(appliedKey),
    }, appliedKey, apply);
  } catch (error) {
    if (error instanceof StarterRightsLost) throw ApplicationFailure.nonRetryable(error.message, 'StarterRightsLost');
    throw error;
  }
}

/** Rollout steps and scheduled changes: each config change is written (config, audit, projection) exactly once. */
export function createRolloutActivities(deps: ActivityDeps) {
  return {
    /** Sets the rollout percentage (or turns the flag off); a retry changes nothing twice. */
    async setRolloutPercentage(change: RolloutStepChange): Promise<{ changed: boolean; version: number }> {
      const applied = await nonRetryableOnNotFound(() => asStarter(deps, change, (tx) => applyRolloutStep(tx, change)));
      // Re-projecting on a retry is harmless (never lowers a version) and repairs a failed first attempt.
      await deps.publisher.publish(applied.definition, 'flag.updated');
      return { changed: applied.changed, version: applied.definition.version };
    },

    /**
     * Sets a split rollout's weighted split (or restores its starting point); a retry changes nothing
     * twice. Returns the starting point the config was at before this change (a rollback restores the first step's).
     */
    async setRolloutSplit(change: RolloutSplitChange): Promise<{ changed: boolean; version: number; before: SplitRolloutStart | null }> {
      try {
        const applied = await nonRetryableOnNotFound(() => asStarter(deps, change, (tx) => applyRolloutSplit(tx, change)));
        await deps.publisher.publish(applied.definition, 'flag.updated');
        return { changed: applied.changed, version: applied.definition.version, before: applied.before };
      } catch (error) {
        if (error instanceof UnknownSplitVariant) throw ApplicationFailure.nonRetryable(error.message, 'InvalidConfig');
        throw error;
      }
    },

    /** Applies a scheduled config change exactly once; a config that no longer fits fails without retries. */
    async applyScheduledChange(input: ScheduledChangeInput): Promise<{ changed: boolean; version: number }> {
      try {
        const applied = await nonRetryableOnNotFound(() => withTransaction(deps.db, (tx) => applyScheduledChange(tx, input)));
        await deps.publisher.publish(applied.definition, 'flag.updated');
        return { changed: applied.changed, version: applied.definition.version };
      } catch (error) {
        if (error instanceof InvalidScheduledConfig) throw ApplicationFailure.nonRetryable(error.message, 'InvalidConfig');
        // A value the database refuses (class 22, data exception) fails the same way on every retry.
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('22')) throw ApplicationFailure.nonRetryable(`The database refused the scheduled config (${code})`, 'InvalidConfig');
        throw error;
      }
    },

    /** Keeps the rollouts read model in step with the workflow; a guard's rollback is audited once, with its evidence. */
    async recordRollout(state: RolloutState): Promise<void> {
      await recordRollout(deps.db, state);
    },

    /** Reads the guard's metric once; a metric that can't be read is reported, never taken as a breach. */
    async checkGuard(input: FlagRef & { guard: Guard; sinceMs: number; treated?: string[] }): Promise<GuardReading> {
      const at = new Date().toISOString();
      try {
        return await readGuard({ db: deps.db, prometheusUrl: deps.prometheusUrl, reporterCap: deps.guardReporterCap }, input, at);
      } catch (error) {
        log.warn('guard metric unreadable', { error: String(error) });
        return { at, source: input.guard.source, breached: false, detail: `metric unreadable: ${String(error)}` };
      }
    },
  };
}
