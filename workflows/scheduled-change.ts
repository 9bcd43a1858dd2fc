import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities.js';
import type { ScheduledChangeInput } from '../src/scheduled-changes/scheduled-change.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['NotFoundError', 'InvalidConfig'] },
});

/** Applies a config change at a set time ("enable at 09:00 Monday"); cancelling the workflow cancels the change. */
export async function scheduledChange(input: ScheduledChangeInput): Promise<{ version: number; changed: boolean }> {
  const wait = Date.parse(input.at) - Date.now();
  if (wait > 0) await sleep(wait);
  return acts.applyScheduledChange(input);
}
