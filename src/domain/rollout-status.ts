/** Where a rollout workflow is; the `rollouts` table, the API, Slack and the UI show the same words. */
export type RolloutStatus = 'running' | 'paused' | 'waiting_approval' | 'completed' | 'aborted' | 'rolled_back' | 'failed';

const FINISHED: ReadonlySet<RolloutStatus> = new Set<RolloutStatus>(['completed', 'aborted', 'rolled_back', 'failed']);

/** Whether a rollout in this status is over (its workflow has ended or is ending). */
export function isFinishedRollout(status: string): boolean {
  return FINISHED.has(status as RolloutStatus);
}
