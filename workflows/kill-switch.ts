import { getExternalWorkflowHandle, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities.js';
import type { KillSwitchChange } from '../src/services/kill-switch.js';
import { rolloutWorkflowId } from '../src/temporal/workflow-ids.js';
import { killSwitchActivatedSignal } from './rollout-messages.js';

const steps = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', nonRetryableErrorTypes: ['NotFoundError'] },
});

// Alerting may take long to succeed (Slack down); it is last, so it never holds up the kill.
const alerting = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});

/** The kill-switch sequence: disable, invalidate caches, broadcast, audit, alert. */
export async function killSwitch(change: KillSwitchChange): Promise<{ version: number }> {
  const ref = { flagKey: change.flagKey, environment: change.environment };
  const disabled = await steps.disableFlag(change);
  await steps.invalidateCaches(ref);
  await steps.broadcast({ ...ref, event: 'flag.killed' });
  await pauseRunningRollout(change);
  await steps.audit(change);
  await alerting.alert({ ...change, title: 'Kill switch activated' });
  log.info('kill switch applied', { flagKey: change.flagKey, environment: change.environment, version: disabled.version });
  return { version: disabled.version };
}

/** A kill pauses the flag's running rollout, if there is one; restoring does not resume it. */
async function pauseRunningRollout(change: KillSwitchChange): Promise<void> {
  try {
    await getExternalWorkflowHandle(rolloutWorkflowId(change.environment, change.flagKey)).signal(killSwitchActivatedSignal, {
      reason: change.reason,
    });
  } catch {
    // No rollout is running for this flag: nothing to pause.
  }
}

/** Deactivation: remove, invalidate caches, broadcast, audit the recovery, tell the team. */
export async function restoreKillSwitch(change: KillSwitchChange): Promise<{ version: number }> {
  const ref = { flagKey: change.flagKey, environment: change.environment };
  const restored = await steps.removeKillSwitch(change);
  await steps.invalidateCaches(ref);
  await steps.broadcast({ ...ref, event: 'flag.restored' });
  await steps.auditRecovery(change);
  await alerting.alert({ ...change, title: 'Kill switch released' });
  return { version: restored.version };
}
