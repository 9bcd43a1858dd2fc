import { executeChild, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities.js';
import type { ChangeRequestInput } from '../src/change-requests/change-request-apply.js';
import { restoreKillSwitch } from './kill-switch.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['NotFoundError'] },
});

/**
 * Applies an approved change request, at once or at its time (durably: the timer survives worker and
 * server restarts). The activity re-validates as of then: a config changed since the request was made
 * leaves the request `conflicted` and overwrites nothing. An approved release of a kill switch goes
 * on as the usual restoreKillSwitch workflow (caches, broadcast, confirmation, alert).
 */
export async function changeRequest(input: ChangeRequestInput): Promise<{ status: string; outcome: string; version?: number }> {
  if (input.applyAt) {
    const wait = Date.parse(input.applyAt) - Date.now();
    if (wait > 0) await sleep(wait);
  }
  const applied = await acts.applyChangeRequest(input.requestId);
  if (applied.restore) await executeChild(restoreKillSwitch, { workflowId: applied.restore.workflowId, args: [applied.restore] });
  return { status: applied.status, outcome: applied.outcome, version: applied.version };
}
