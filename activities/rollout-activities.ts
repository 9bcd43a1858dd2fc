import { log } from '@temporalio/activity';
import type { Guard, GuardReading } from '../src/domain/rollout-plan.js';
import { judgeEvents, judgePrometheus, queryPrometheus } from '../src/rollouts/guard.js';
import { applyRolloutSplit, applyRolloutStep, UnknownSplitVariant, type RolloutSplitChange, type SplitRolloutStart } from '../src/flags/config-change.js';
import type { RolloutStepChange } from '../src/flags/config-change.js';
import { applyScheduledChange, InvalidScheduledConfig, type ScheduledChangeInput } from '../src/scheduled-changes/scheduled-change.js';
import { ApplicationFailure } from '@temporalio/activity';
import { withTransaction } from '../src/connections/database.js';
import { guardCohorts } from '../src/flag-metrics/event-store.js';
import { appendAuditEvent } from '../src/audit/audit-store.js';
import { upsertRollout, type RolloutState } from '../src/rollouts/rollout-store.js';
import type { RolloutProgress } from '../workflows/rollout-messages.js';
import { nonRetryableOnNotFound, type ActivityDeps, type FlagRef } from './activity-deps.js';

/** Rollout steps and scheduled changes: each config change is written (config, audit, projection) exactly once. */
export function createRolloutActivities(deps: ActivityDeps) {
  return {
    /** Sets the rollout percentage (or turns the flag off); a retry changes nothing twice. */
    async setRolloutPercentage(change: RolloutStepChange): Promise<{ changed: boolean; version: number }> {
      const applied = await nonRetryableOnNotFound(() => withTransaction(deps.db, (tx) => applyRolloutStep(tx, change)));
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
        const applied = await nonRetryableOnNotFound(() => withTransaction(deps.db, (tx) => applyRolloutSplit(tx, change)));
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
      await upsertRollout(deps.db, state);
      const progress = state.progress as Partial<RolloutProgress> | null;
      const breach = progress?.guard?.breach;
      if (state.status === 'rolled_back' && breach) {
        await appendAuditEvent(deps.db, {
          userId: 'rollout-guard', action: 'rollout.rolled_back', resourceType: 'rollout', resourceId: state.flagKey,
          environment: state.environment, reason: `guard breached: ${breach.detail}`, newValue: { reading: breach },
          metadata: { actorName: 'rollout guard', startedBy: state.actor, rolloutId: state.rolloutId, workflowId: state.workflowId, readings: progress.guard?.readings ?? [] },
          idempotencyKey: `rollout:${state.rolloutId}:rolled_back`,
        });
      }
    },

    /** Reads the guard's metric once; a metric that can't be read is reported, never taken as a breach. */
    async checkGuard(input: FlagRef & { guard: Guard; sinceMs: number; treated?: string[] }): Promise<GuardReading> {
      const at = new Date().toISOString();
      const { guard } = input;
      try {
        if (guard.source === 'events') {
          const cohorts = await guardCohorts(deps.db, input.flagKey, input.environment, new Date(input.sinceMs), deps.guardReporterCap, input.treated);
          return judgeEvents(guard, cohorts, at);
        }
        if (!deps.prometheusUrl) return { at, source: 'prometheus', breached: false, detail: 'PROMETHEUS_URL is not configured' };
        return judgePrometheus(guard, await queryPrometheus(deps.prometheusUrl, guard.query), at);
      } catch (error) {
        log.warn('guard metric unreadable', { error: String(error) });
        return { at, source: guard.source, breached: false, detail: `metric unreadable: ${String(error)}` };
      }
    },
  };
}
