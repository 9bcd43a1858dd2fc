import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { WorkflowType } from './workflow-starter.js';

const WORKFLOW: WorkflowType = 'lifecycleDigest';

/** One digest schedule per deployment: its task queue names it, so test stacks never share one. */
export const lifecycleDigestScheduleId = (taskQueue: string) => `lifecycle-digest-${taskQueue}`;

/**
 * Creates the weekly lifecycle digest's Temporal schedule, or updates it to `cron` (UTC); `off` deletes
 * it. Safe from several workers at once: whoever creates second updates to the same spec.
 */
export async function ensureLifecycleDigestSchedule(client: Client, options: { taskQueue: string; cron: string }): Promise<'created' | 'updated' | 'deleted' | 'absent'> {
  const scheduleId = lifecycleDigestScheduleId(options.taskQueue);
  const handle = client.schedule.getHandle(scheduleId);
  if (options.cron === 'off') {
    try {
      await handle.delete();
      return 'deleted';
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) return 'absent';
      throw error;
    }
  }
  const action = { type: 'startWorkflow' as const, workflowType: WORKFLOW, taskQueue: options.taskQueue, workflowId: scheduleId, args: [{}] };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { cronExpressions: [options.cron] },
      action,
      // A late run (the cluster was down) still goes out within a day; runs never overlap.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { purpose: 'Ripcord weekly flag lifecycle digest (docs/lifecycle.md)' },
    });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await handle.update((previous) => ({ ...previous, spec: { cronExpressions: [options.cron] }, action }));
  return 'updated';
}
