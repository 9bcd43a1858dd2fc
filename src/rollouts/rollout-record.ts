import type { Guard, GuardReading } from '../domain/rollout-plan.js';
import type { Queryable } from '../connections/database.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { guardCohorts } from '../flag-metrics/event-store.js';
import type { RolloutProgress } from '../../workflows/rollout-messages.js';
import { judgeEvents, judgePrometheus, queryPrometheus } from './guard.js';
import { upsertRollout, type RolloutState } from './rollout-store.js';

export type { RolloutState } from './rollout-store.js';

/** Keeps the rollouts read model in step with the workflow; a guard's rollback is audited once, with its evidence. */
export async function recordRollout(db: Queryable, state: RolloutState): Promise<void> {
  await upsertRollout(db, state);
  const progress = state.progress as Partial<RolloutProgress> | null;
  const breach = progress?.guard?.breach;
  if (state.status === 'rolled_back' && breach) {
    await appendAuditEvent(db, {
      userId: 'rollout-guard', action: 'rollout.rolled_back', resourceType: 'rollout', resourceId: state.flagKey,
      environment: state.environment, reason: `guard breached: ${breach.detail}`, newValue: { reading: breach },
      metadata: { actorName: 'rollout guard', startedBy: state.actor, rolloutId: state.rolloutId, workflowId: state.workflowId, readings: progress.guard?.readings ?? [] },
      idempotencyKey: `rollout:${state.rolloutId}:rolled_back`,
    });
  }
}

/** What reading a guard needs: outcome events in Postgres, or Prometheus. */
export interface GuardSources {
  db: Queryable;
  prometheusUrl?: string;
  /** Outcome events one reporter may weigh in a cohort (GUARD_MAX_EVENTS_PER_REPORTER). */
  reporterCap: number;
}

/** Reads a guard's metric once and judges it; throws when the metric can't be read. */
export async function readGuard(
  sources: GuardSources,
  input: { flagKey: string; environment: string; guard: Guard; sinceMs: number; treated?: string[] },
  at: string,
): Promise<GuardReading> {
  const { guard } = input;
  if (guard.source === 'events') {
    const cohorts = await guardCohorts(sources.db, input.flagKey, input.environment, new Date(input.sinceMs), sources.reporterCap, input.treated);
    return judgeEvents(guard, cohorts, at);
  }
  if (!sources.prometheusUrl) return { at, source: 'prometheus', breached: false, detail: 'PROMETHEUS_URL is not configured' };
  return judgePrometheus(guard, await queryPrometheus(sources.prometheusUrl, guard.query), at);
}
