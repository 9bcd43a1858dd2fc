import type { GuardReading, ReporterShare } from '../domain/rollout-plan.js';
import type { RolloutProgressView, RolloutRecordView, RolloutStarted } from '../protocol/admin-api.js';
import type { RolloutProgress } from '../../workflows/rollout-messages.js';
import type { RolloutRecord } from './rollout-store.js';

/*
 * Rollouts as /api/v1 answers them (snake_case). The workflow's progress keeps its own camelCase
 * names: they are recorded in Temporal histories and in the rollouts table, so they are mapped here,
 * at the API boundary, and never renamed where they are stored.
 */

const reporterView = (r: ReporterShare) => ({
  reporter: r.reporter, samples: r.samples, errors: r.errors, counted_samples: r.countedSamples, counted_errors: r.countedErrors,
});

/** One guard reading (events or Prometheus). */
export function guardReadingView(r: GuardReading) {
  return {
    at: r.at, source: r.source, breached: r.breached, detail: r.detail,
    ...(r.value !== undefined ? { value: r.value } : {}),
    ...(r.treatedErrorRate !== undefined ? { treated_error_rate: r.treatedErrorRate } : {}),
    ...(r.untreatedErrorRate !== undefined ? { untreated_error_rate: r.untreatedErrorRate } : {}),
    ...(r.samples !== undefined ? { samples: r.samples } : {}),
    ...(r.reporters !== undefined ? { reporters: r.reporters.map(reporterView) } : {}),
  };
}

/** The running rollout's live progress (the workflow's progress query, or an update's answer). */
export function rolloutProgressView(p: RolloutProgress): RolloutProgressView {
  return {
    rollout_id: p.rolloutId, flag_key: p.flagKey, environment: p.environment, strategy: p.strategy, summary: p.summary, status: p.status,
    step: p.step, total_steps: p.totalSteps, percentage: p.percentage, split: p.split, start_split: p.startSplit,
    next_change_at: p.nextChangeAt, approval_deadline: p.approvalDeadline, paused_reason: p.pausedReason,
    guard: p.guard && { readings: p.guard.readings.map(guardReadingView), breach: p.guard.breach && guardReadingView(p.guard.breach) },
    history: p.history,
  };
}

/** A stored progress (the rollouts table's copy of the last query answer), when it is one. */
function storedProgressView(progress: unknown): unknown {
  const p = progress as Partial<RolloutProgress> | null;
  return p && typeof p === 'object' && typeof p.rolloutId === 'string' && Array.isArray(p.history) ? rolloutProgressView(p as RolloutProgress) : progress;
}

/** A rollout of the read model, with its workflow's page in the Temporal UI. */
export function rolloutRecordView(r: RolloutRecord, url: string): RolloutRecordView {
  return {
    id: r.id, flag_key: r.flagKey, environment: r.environment, workflow_id: r.workflowId, url, plan: r.plan, status: r.status,
    progress: storedProgressView(r.progress), created_by: r.createdBy, created_at: r.createdAt, updated_at: r.updatedAt, finished_at: r.finishedAt,
  };
}

/** What starting a rollout answers. */
export function rolloutStartedView(started: { rolloutId: string; workflowId: string; url: string; summary: string }): RolloutStarted {
  return { rollout_id: started.rolloutId, workflow_id: started.workflowId, url: started.url, summary: started.summary };
}
