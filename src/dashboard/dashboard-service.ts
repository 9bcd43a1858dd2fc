import { z } from 'zod';
import type { DashboardFlag, DashboardPage, DashboardSort, FlagState, RunningRollout } from '../protocol/admin-api.js';
import { ValidationError } from '../errors.js';
import type { Database } from '../connections/database.js';
import { listDashboardFlags, listRunningRollouts, type DashboardRow, type DashboardState, type RunningRolloutRow } from './dashboard-store.js';
import { recentEvaluationsByFlag } from '../flag-metrics/evaluation-rollup-store.js';
import { workflowUrl } from '../temporal/workflow-ids.js';
import { decodeCursor, encodeCursor } from '../protocol/cursor.js';

export interface DashboardQuery {
  q?: string;
  tags?: string[];
  environment?: string;
  state: DashboardState;
  sort: DashboardSort;
  limit: number;
  cursor?: string;
}

const MINUTE = 60_000;
/** Minutes of evaluation rates per row (the sparkline). */
const RATE_MINUTES = 15;
const cursorSchema = z.object({ v: z.string(), k: z.string(), s: z.string() });

function stateOf(env: DashboardRow['environments'][string]): FlagState {
  if (env.killed) return 'killed';
  if (!env.enabled) return 'off';
  return env.percentage !== null && env.percentage < 100 ? 'percentage' : 'on';
}

/** The dashboard's reads: a page of flags with everything a row shows, and the running rollouts. */
export function createDashboardService(deps: { db: Database; temporalUiUrl: string; namespace: string }) {
  const presentRollout = (row: RunningRolloutRow): RunningRollout => {
    const p = row.progress as { rolloutId?: string; step?: number; totalSteps?: number; percentage?: number | 'off' | null; nextChangeAt?: string | null; approvalDeadline?: string | null; pausedReason?: string | null };
    const totalSteps = p.totalSteps ?? 0;
    return {
      rollout_id: row.id, flag_key: row.flagKey, environment: row.environment, status: row.status,
      step: Math.min((p.step ?? 0) + 1, Math.max(totalSteps, 1)), total_steps: totalSteps, percentage: p.percentage ?? null,
      next_change_at: p.nextChangeAt ?? null, approval_deadline: p.approvalDeadline ?? null, paused_reason: p.pausedReason ?? null, started_by: row.startedBy,
      workflow_id: row.workflowId, url: workflowUrl(deps.temporalUiUrl, deps.namespace, row.workflowId), updated_at: row.updatedAt,
    };
  };

  return {
    /** One page of flags: state per environment, running rollouts and recent evaluation rates, in three statements. */
    async flags(query: DashboardQuery, now = Date.now()): Promise<DashboardPage> {
      const position = decodeCursor(query.cursor, cursorSchema);
      if (position && position.s !== query.sort) {
        throw new ValidationError('Invalid request query', [{ path: 'query.cursor', message: 'this cursor belongs to another sort order' }]);
      }
      const { rows, total } = await listDashboardFlags(deps.db, {
        text: query.q, tags: query.tags, environment: query.environment, state: query.state, sort: query.sort,
        after: position ? { value: position.v, key: position.k } : undefined, limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const keys = page.map((r) => r.key);
      const thisMinute = now - (now % MINUTE);
      const since = thisMinute - (RATE_MINUTES - 1) * MINUTE;
      const [rollouts, rates] = await Promise.all([
        listRunningRollouts(deps.db, keys),
        recentEvaluationsByFlag(deps.db, keys, new Date(since)),
      ]);
      const flags: DashboardFlag[] = page.map((row) => ({
        key: row.key, name: row.name, tags: row.tags, archived: row.archived, updated_at: row.updatedAt, revision: row.revision,
        environments: Object.fromEntries(Object.entries(row.environments).map(([env, c]) => [env, { ...c, state: stateOf(c) }])),
        rollouts: rollouts.filter((r) => r.flagKey === row.key).map(presentRollout),
        evaluations_per_minute: Array.from({ length: RATE_MINUTES }, (_, i) => rates.get(row.key)?.get(since + i * MINUTE) ?? 0),
      }));
      const last = page.at(-1);
      return {
        flags, total,
        next_cursor: rows.length > query.limit && last ? encodeCursor({ v: last.sortValue, k: last.key, s: query.sort }) : null,
      };
    },

    /** Every rollout that is not finished, across all flags. */
    async runningRollouts(): Promise<{ rollouts: RunningRollout[] }> {
      return { rollouts: (await listRunningRollouts(deps.db)).map(presentRollout) };
    },
  };
}

export type DashboardService = ReturnType<typeof createDashboardService>;
