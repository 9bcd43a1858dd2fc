// The API already disabled, projected and broadcast this change before starting us (a kill must not wait
// on Temporal); the first steps repeat it idempotently so the kill completes even if the API died midway
// (docs/decisions/0001-kill-before-workflow.md).
import { getExternalWorkflowHandle, log, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities.js';
import type { Convergence } from '../activities/kill-switch-activities.js';
import { describeConfirmation, type Confirmation } from '../src/domain/confirmation.js';
import type { KillSwitchChange } from '../src/kill-switch/kill-change.js';
import { pipelineWorkflowId, rolloutWorkflowId } from '../src/temporal/workflow-ids.js';
import { pipelineKillSignal } from './release-pipeline-messages.js';
import { killSwitchActivatedSignal } from './rollout-messages.js';

const steps = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', nonRetryableErrorTypes: ['NotFoundError'] },
});

// Waits on the world (replica acknowledgements, 5 s at most), so it heartbeats itself (every look,
// sent at most every 0.8 × the timeout): when its worker dies, another takes it over 2 s later, not 30.
// A spurious timeout on a stalled event loop costs only a second look, which the attempts allow.
const observing = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '2 seconds',
  retry: { initialInterval: '500 milliseconds', maximumAttempts: 5 },
});

// Alerting may take long to succeed (Slack down); it is last, so it never holds up the kill.
const alerting = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
});

/**
 * Workflow versions (patches). A change to the commands a workflow issues must be guarded by
 * `patched(id)`: histories recorded before the change carry no marker for `id`, so on replay
 * `patched` answers false and the old command sequence runs. Every recorded history stays in
 * test/fixtures/histories, which the replay test replays against this code.
 */
export const KILL_CONFIRMS_CONVERGENCE = 'kill-confirms-convergence';
/**
 * The confirmation waits on the replicas' acknowledgements (confirmAcks) instead of polling their
 * heartbeats (confirmConvergence).
 */
export const ACKNOWLEDGED_CONFIRMATION = 'acknowledged-confirmation';
/** A kill also signals the flag's release pipeline (pipeline:<flag>), which stops when it releases to that environment. */
export const KILL_STOPS_PIPELINE = 'kill-stops-pipeline';
/**
 * The kill's pause and stop signals carry when the kill was requested, so a rollout or pipeline started
 * after it (the kill released and a new run started while this workflow confirmed) ignores them.
 */
export const KILL_SIGNALS_REQUEST_TIME = 'kill-signals-request-time';

/**
 * After the replicas' confirmation and the kill's other steps, the SDK instances are counted
 * (confirmInstances) and the result and the alert say so.
 */
export const KILL_COUNTS_SDK_INSTANCES = 'kill-counts-sdk-instances';

/** What a kill's confirmation step found: acknowledgements (now), or heartbeats (histories before). */
type Confirmed = Confirmation | Convergence;

/**
 * The kill-switch sequence: disable, invalidate caches, broadcast, confirm that every API replica
 * serves the kill, audit, alert.
 */
export async function killSwitch(change: KillSwitchChange): Promise<{ version: number; convergence?: Confirmed }> {
  const ref = { flagKey: change.flagKey, environment: change.environment };
  const disabled = await steps.disableFlag(change);
  await steps.invalidateCaches(ref);
  await steps.broadcast({ ...ref, event: 'flag.killed' });
  const convergence = patched(KILL_CONFIRMS_CONVERGENCE) ? await confirm(change, disabled.version) : undefined;
  await pauseRunningRollout(change);
  if (patched(KILL_STOPS_PIPELINE)) await stopRunningPipeline(change);
  await steps.audit(change);
  const counted = await countInstances(change, disabled.version, convergence);
  await alerting.alert({ ...change, title: 'Kill switch activated', reason: withConvergence(change.reason, counted) });
  log.info('kill switch applied', { flagKey: change.flagKey, environment: change.environment, version: disabled.version, ...counted });
  return { version: disabled.version, convergence: counted };
}

/**
 * Adds the SDK instances to an acknowledged confirmation. Last before the alert, and bounded (5 s from
 * the request): an instance behind is named in the result and the alert, never waited on by the
 * rollout pause, the pipeline stop or the audit.
 */
async function countInstances(change: KillSwitchChange, version: number, convergence: Confirmed | undefined): Promise<Confirmed | undefined> {
  if (!convergence || !('confirmedReplicas' in convergence) || !patched(KILL_COUNTS_SDK_INSTANCES)) return convergence;
  const sdk = await observing.confirmInstances({ environment: change.environment, version, sinceMs: Date.parse(change.at) });
  return { ...convergence, sdk_instances: sdk };
}

function withConvergence(reason: string, c: Confirmed | undefined): string {
  return c ? `${reason} — ${describeConvergence(c)}` : reason;
}

function describeConvergence(c: Confirmed): string {
  if ('confirmedReplicas' in c) return describeConfirmation(c);
  return c.converged
    ? `confirmed on ${c.replicas} API replica(s) ${c.elapsedMs} ms after the request`
    : `NOT confirmed: ${c.laggards.length} of ${c.replicas} replica(s) still behind after ${c.elapsedMs} ms (${c.laggards.join(', ')})`;
}

/** Waits (5 s at most) for every live replica to serve `version`; alerts at once, naming the laggards, if not. */
async function confirm(change: KillSwitchChange, version: number): Promise<Confirmed> {
  const sinceMs = Date.parse(change.at);
  const convergence = patched(ACKNOWLEDGED_CONFIRMATION)
    ? await observing.confirmAcks({ flagKey: change.flagKey, environment: change.environment, version, sinceMs })
    : await observing.confirmConvergence({ environment: change.environment, version, sinceMs });
  if (!convergence.converged) {
    await alerting.alert({ ...change, title: 'Kill switch not confirmed on every replica', reason: describeConvergence(convergence) });
  }
  return convergence;
}

/** A kill pauses the flag's running rollout, if there is one; restoring does not resume it. */
async function pauseRunningRollout(change: KillSwitchChange): Promise<void> {
  try {
    await getExternalWorkflowHandle(rolloutWorkflowId(change.environment, change.flagKey)).signal(killSwitchActivatedSignal, {
      reason: change.reason,
      ...(patched(KILL_SIGNALS_REQUEST_TIME) ? { requestedAt: change.at } : {}),
    });
  } catch {
    // No rollout is running for this flag: nothing to pause.
  }
}

/** A kill stops the flag's running release pipeline if it releases to this environment (the pipeline decides). */
async function stopRunningPipeline(change: KillSwitchChange): Promise<void> {
  try {
    await getExternalWorkflowHandle(pipelineWorkflowId(change.flagKey)).signal(pipelineKillSignal, {
      environment: change.environment, reason: change.reason,
      ...(patched(KILL_SIGNALS_REQUEST_TIME) ? { requestedAt: change.at } : {}),
    });
  } catch {
    // No pipeline is running for this flag.
  }
}

/** Deactivation: remove, invalidate caches, broadcast, confirm, audit the recovery, tell the team. */
export async function restoreKillSwitch(change: KillSwitchChange): Promise<{ version: number; convergence?: Confirmed }> {
  const ref = { flagKey: change.flagKey, environment: change.environment };
  const restored = await steps.removeKillSwitch(change);
  await steps.invalidateCaches(ref);
  await steps.broadcast({ ...ref, event: 'flag.restored' });
  const convergence = patched(KILL_CONFIRMS_CONVERGENCE) ? await confirm(change, restored.version) : undefined;
  await steps.auditRecovery(change);
  const counted = await countInstances(change, restored.version, convergence);
  await alerting.alert({ ...change, title: 'Kill switch released', reason: withConvergence(change.reason, counted) });
  return { version: restored.version, convergence: counted };
}
