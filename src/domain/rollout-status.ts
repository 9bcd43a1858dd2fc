/** Where a rollout workflow is; the `rollouts` table, the API, Slack and the UI show the same words. */
export type RolloutStatus = 'running' | 'paused' | 'waiting_approval' | 'completed' | 'aborted' | 'rolled_back' | 'failed';

const FINISHED: ReadonlySet<RolloutStatus> = new Set<RolloutStatus>(['completed', 'aborted', 'rolled_back', 'failed']);

/** Whether a rollout in this status is over (its workflow has ended or is ending). */
export function isFinishedRollout(status: string): boolean {
  return FINISHED.has(status as RolloutStatus);
}

/**
 * The one way a step is numbered for people (UI, Slack, audit): from 1, "step 2 of 3". `index` is the
 * workflow's 0-based step index (its history labels are `step:<index>`); past the end it stays on the last.
 */
export function describeStep(index: number, total: number): string {
  return `step ${Math.min(index + 1, Math.max(total, 1))} of ${total}`;
}
