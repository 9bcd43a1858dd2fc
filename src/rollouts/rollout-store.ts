import type { RolloutPlan } from '../domain/rollout-plan.js';
import { isFinishedRollout, type RolloutStatus } from '../domain/rollout-status.js';
import type { Queryable } from '../connections/database.js';
import { iso } from '../connections/rows.js';

export interface RolloutRecord {
  id: string;
  flagKey: string;
  environment: string;
  workflowId: string;
  /** The plan as the API parsed it (defaults filled in) when the rollout started. */
  plan: RolloutPlan;
  status: RolloutStatus;
  progress: unknown;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface RolloutState {
  rolloutId: string;
  flagKey: string;
  environment: string;
  workflowId: string;
  plan: unknown;
  actor: string;
  status: RolloutStatus;
  progress: unknown;
}

/** Writes a rollout's latest state (the workflow calls this at every transition; retries are harmless). */
export async function upsertRollout(db: Queryable, state: RolloutState): Promise<void> {
  await db.query(
    `INSERT INTO rollouts (id, flag_id, environment, workflow_id, plan, status, progress, created_by, finished_at)
     SELECT $1, f.id, $3, $4, $5, $6, $7, $8, CASE WHEN $9 THEN now() END FROM flags f WHERE f.key = $2
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, progress = EXCLUDED.progress, updated_at = now(),
       finished_at = coalesce(rollouts.finished_at, EXCLUDED.finished_at)`,
    [
      state.rolloutId, state.flagKey, state.environment, state.workflowId, JSON.stringify(state.plan), state.status,
      JSON.stringify(state.progress), state.actor, isFinishedRollout(state.status),
    ],
  );
}

/** A flag's rollouts in one environment, newest first. */
export async function listRollouts(db: Queryable, flagKey: string, environment: string, limit = 20): Promise<RolloutRecord[]> {
  const result = await db.query<{
    id: string; flag_key: string; environment: string; workflow_id: string; plan: RolloutPlan; status: RolloutStatus; progress: unknown;
    created_by: string; created_at: Date; updated_at: Date; finished_at: Date | null;
  }>(
    `SELECT r.*, f.key AS flag_key FROM rollouts r JOIN flags f ON f.id = r.flag_id
      WHERE f.key = $1 AND r.environment = $2 ORDER BY r.created_at DESC LIMIT $3`,
    [flagKey, environment, limit],
  );
  return result.rows.map((row) => ({
    id: row.id,
    flagKey: row.flag_key,
    environment: row.environment,
    workflowId: row.workflow_id,
    plan: row.plan,
    status: row.status,
    progress: row.progress,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    finishedAt: iso(row.finished_at),
  }));
}
