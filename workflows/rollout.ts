import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  currentUpdateInfo,
  executeChild,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/create-activities.js';
import { describePlan, describeStepTarget, durationMs, movedShare, scheduleOf, treatedVariants, type Guard } from '../src/domain/rollout-plan.js';
import type { SplitEntry } from '../src/domain/variants.js';
import { isFinishedRollout } from '../src/domain/rollout-status.js';
import { killSwitchWorkflowId } from '../src/temporal/workflow-ids.js';
import { ACTOR, ENVIRONMENT, FLAG_KEY } from '../src/temporal/search-attributes.js';
import { killSwitch } from './kill-switch.js';
import {
  abortUpdate, approveUpdate, killPrecedes, killSwitchActivatedSignal, pauseUpdate, progressQuery, resumeUpdate, skipUpdate, STEERING_AUDIT_ACTIONS,
  type RolloutInput, type RolloutProgress, type RolloutState, type SteeringAction, type UpdateAudit,
} from './rollout-messages.js';

// Each step is a short database write: a short timeout lets a step lost with a crashed worker retry soon.
const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['NotFoundError'] },
});
const alerts = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

const MAX_READINGS = 10;
/**
 * Activity failures that pause the rollout at the step instead of failing it: a split naming a variant
 * the config no longer declares, and a starter who may no longer change the flag (activities/rollout-activities.ts).
 */
const STEP_REFUSALS = ['InvalidConfig', 'StarterRightsLost'];
/** Marks histories of rollouts that set weighted splits (strategy `split`): their steps run setRolloutSplit, not setRolloutPercentage. */
export const SPLIT_ROLLOUTS_PATCH = 'split-rollouts';
/**
 * Marks histories whose steering updates the workflow audits itself (an activity in the handler), so
 * an update applied after its sender gave up waiting is audited too. Histories from before replay as recorded.
 */
export const AUDITED_UPDATES_PATCH = 'audited-updates';
// Rollouts can run for weeks: start afresh well before the history grows large.
const HISTORY_EVENTS_BEFORE_CONTINUE = 2_000;

/** A durable rollout: steps with holds, schedules, approval gates, a guard that rolls back, and steering. */
export async function rollout(input: RolloutInput): Promise<RolloutProgress> {
  const { rolloutId, flagKey, environment, plan, actor } = input;
  const steps = scheduleOf(plan);
  const workflowId = workflowInfo().workflowId;
  const s: RolloutState = input.state ?? {
    status: 'running', stepIndex: 0, percentage: null, pausedReason: null, approvedThrough: -1, guardSinceMs: null,
    readings: [], breach: null, history: [], abort: null, nextChangeAt: null, approvalDeadline: null,
  };
  let skipRequested = false;
  let paused = s.status === 'paused';
  // Percentage plans never reach the split code below, so their histories replay as they were recorded.
  const splitting = plan.strategy === 'split' && patched(SPLIT_ROLLOUTS_PATCH);

  const progress = (): RolloutProgress => ({
    rolloutId, flagKey, environment, strategy: plan.strategy, summary: describePlan(plan), status: s.status,
    step: s.stepIndex, totalSteps: steps.length, percentage: s.percentage, split: s.split ?? null, startSplit: s.start?.effective ?? null,
    nextChangeAt: s.nextChangeAt === null ? null : new Date(s.nextChangeAt).toISOString(),
    approvalDeadline: s.approvalDeadline == null ? null : new Date(s.approvalDeadline).toISOString(),
    pausedReason: s.pausedReason, guard: plan.guard ? { readings: s.readings, breach: s.breach } : null, history: s.history,
  });
  const finished = () => isFinishedRollout(s.status);
  const interrupted = () => s.abort !== null || s.breach !== null;
  const record = () =>
    acts.recordRollout({ rolloutId, flagKey, environment, workflowId, plan, actor: actor.id, status: s.status, progress: progress() });
  const alert = (title: string, reason: string) =>
    alerts.alert({ title, flagKey, environment, workflowId, actor, reason, at: new Date().toISOString() });
  const pause = (reason: string) => {
    paused = true;
    s.pausedReason = reason;
    s.status = 'paused';
  };
  const requireRunning = () => {
    if (finished()) throw new Error(`the rollout is already ${s.status}`);
  };

  /**
   * The answer of an applied steering update. When its sender is named, the workflow first writes the
   * update's one audit event (idempotent on the update's id), so an update applied after its sender
   * stopped waiting (a client timeout) is still audited, exactly once.
   */
  const audited = async (action: SteeringAction, audit: UpdateAudit | undefined, newValue?: unknown): Promise<RolloutProgress> => {
    const answer = progress();
    const updateId = currentUpdateInfo()?.id;
    if (audit && updateId !== undefined && patched(AUDITED_UPDATES_PATCH)) {
      await acts.auditUpdate({
        workflowId, updateId, action: STEERING_AUDIT_ACTIONS[action], resourceType: 'rollout', resourceId: flagKey, environment,
        actor: audit.actor, ipAddress: audit.ipAddress, userAgent: audit.userAgent, reason: audit.reason, newValue,
        // Steps are numbered from 1 wherever a person reads them; an approval names the gate it opened.
        metadata: { rolloutId, step: Math.min(answer.step + 1, answer.totalSteps), totalSteps: answer.totalSteps, percentage: answer.percentage },
      });
    }
    return answer;
  };

  setHandler(progressQuery, progress);
  setHandler(pauseUpdate, ({ reason, audit }) => (pause(reason ?? 'paused by an operator'), audited('pause', audit)), {
    validator: (_request: { reason?: string }) => {
      requireRunning();
      if (paused) throw new Error('the rollout is already paused');
    },
  });
  setHandler(resumeUpdate, (request: { audit?: UpdateAudit } | undefined) => ((paused = false), (s.pausedReason = null), (s.status = 'running'), audited('resume', request?.audit)), {
    validator: (_request: { audit?: UpdateAudit } | undefined) => {
      requireRunning();
      if (!paused) throw new Error('the rollout is not paused');
    },
  });
  setHandler(abortUpdate, ({ rollback, reason, audit }) => ((s.abort = { rollback, reason: reason ?? 'aborted by an operator' }), audited('abort', audit, { rollback })), {
    validator: (request) => {
      requireRunning();
      if (typeof request?.rollback !== 'boolean') throw new Error('abort needs rollback: true or false');
    },
  });
  setHandler(skipUpdate, (request: { audit?: UpdateAudit } | undefined) => ((skipRequested = true), audited('skip', request?.audit)), {
    validator: (_request: { audit?: UpdateAudit } | undefined) => requireRunning(),
  });
  setHandler(approveUpdate, ({ by, audit }) => {
    log.info('rollout step approved', { step: s.stepIndex, by });
    s.approvedThrough = s.stepIndex;
    paused = false;
    s.pausedReason = null;
    return audited('approve', audit);
  }, {
    validator: (request: { by: string }) => {
      if (typeof request?.by !== 'string' || request.by === '') throw new Error('approve needs by: the approver');
      requireRunning();
      if (!steps[s.stepIndex]?.approval || s.approvedThrough >= s.stepIndex) throw new Error('no step is waiting for an approval');
    },
  });
  setHandler(killSwitchActivatedSignal, ({ reason, requestedAt }) => {
    // A kill requested before this rollout started (then released) is not this rollout's kill.
    if (killPrecedes(requestedAt, workflowInfo().startTime.getTime())) {
      log.info('ignoring a kill requested before this rollout started', { requestedAt });
      return;
    }
    if (!finished()) pause(`kill switch activated: ${reason}`);
  });

  /** Waits until `deadline` (epoch ms), or a skip; false when aborted or breached. */
  async function waitUntil(deadline: number): Promise<boolean> {
    s.nextChangeAt = deadline;
    while (Date.now() < deadline && !skipRequested && !interrupted()) {
      await condition(() => skipRequested || interrupted(), deadline - Date.now());
    }
    skipRequested = false;
    s.nextChangeAt = null;
    return !interrupted();
  }

  /** Waits while paused; false when aborted or breached. */
  async function whileNotPaused(): Promise<boolean> {
    if (paused) await record();
    await condition(() => !paused || interrupted());
    return !interrupted();
  }

  /** Waits for the current step's approval; a timeout pauses until an approval or a resume. */
  async function approval(): Promise<boolean> {
    const index = s.stepIndex;
    await alert('Rollout step waiting for approval', `step ${index + 1} of ${steps.length}: ${describeStepTarget(steps[index]!)}`);
    while (s.approvedThrough < index) {
      s.status = 'waiting_approval';
      // Kept for people (the query, the read model): the timer below is what enforces it.
      s.approvalDeadline = Date.now() + durationMs(plan.approval_timeout);
      await record();
      const approved = await condition(() => s.approvedThrough >= index || interrupted(), durationMs(plan.approval_timeout));
      s.approvalDeadline = null;
      if (interrupted()) return false;
      if (!approved) {
        pause(`approval of step ${index + 1} timed out`);
        await record();
        await condition(() => s.approvedThrough >= index || !paused || interrupted());
        if (interrupted()) return false;
      }
    }
    if (!paused) s.status = 'running';
    return true;
  }

  async function apply(percentage: number | 'off', label: string, reason: string) {
    const result = await acts.setRolloutPercentage({ rolloutId, workflowId, flagKey, environment, label, percentage, plan, actor, reason });
    s.percentage = percentage;
    s.history.push({ label, percentage, at: new Date().toISOString(), version: result.version });
  }

  /** Sets a split step's weights; the first one also learns the starting point a rollback restores. */
  async function applySplit(split: SplitEntry[], label: string, reason: string) {
    const result = await acts.setRolloutSplit({ rolloutId, workflowId, flagKey, environment, label, actor, reason, target: { split } });
    s.start ??= result.before;
    s.split = split;
    s.percentage = s.start ? movedShare(s.start.effective, split) : null;
    s.history.push({ label, percentage: s.percentage ?? 0, split, at: new Date().toISOString(), version: result.version });
  }

  /**
   * Applies a step, or pauses the rollout with the reason when the step can't apply: a split variant
   * the config no longer declares (declare it again and resume, or abort), or a starter who may no
   * longer change the flag (the activity audited it; restore their rights and resume, or abort).
   * False when it paused. Only these two refusals pause, so histories without them replay unchanged.
   */
  async function applyOrPause(step: () => Promise<void>): Promise<boolean> {
    try {
      await step();
      return true;
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : undefined;
      if (!(cause instanceof ApplicationFailure) || !STEP_REFUSALS.includes(cause.type ?? '')) throw error;
      pause(`step ${s.stepIndex + 1} can't apply: ${cause.message}`);
      await alert('Rollout paused', s.pausedReason!);
      return false;
    }
  }

  /** Puts the config's split fields back as they were before the first split step (nothing to do before it). */
  async function restoreStart(label: string, reason: string) {
    if (!s.start) return;
    const result = await acts.setRolloutSplit({ rolloutId, workflowId, flagKey, environment, label, actor, reason, target: { restore: s.start } });
    s.split = s.start.effective;
    s.percentage = 0;
    s.history.push({ label, percentage: 0, split: s.start.effective, at: new Date().toISOString(), version: result.version });
  }

  async function guardLoop(guard: Guard): Promise<void> {
    const interval = durationMs(guard.interval);
    while (!finished() && s.breach === null) {
      // A split rollout's treated cohort is the variants its current split moves traffic to.
      const treated = splitting && s.start && s.split ? { treated: treatedVariants(s.start.effective, s.split) } : {};
      const reading = await acts.checkGuard({ flagKey, environment, guard, sinceMs: s.guardSinceMs ?? Date.now(), ...treated });
      s.readings = [...s.readings.slice(1 - MAX_READINGS), reading];
      if (reading.breached) {
        s.breach = reading;
        return;
      }
      await condition(() => finished() || s.breach !== null, interval);
    }
  }

  let guardStarted = false;
  const startGuard = () => {
    if (!plan.guard || guardStarted || finished()) return;
    guardStarted = true;
    s.guardSinceMs ??= Date.now();
    // Runs beside the steps, also while a step waits for an approval: a regression beats a gate.
    void guardLoop(plan.guard).catch((error) => log.error('guard loop failed', { error: String(error) }));
  };

  await record();
  if (s.percentage !== null) startGuard();
  while (s.stepIndex < steps.length && !interrupted()) {
    const step = steps[s.stepIndex]!;
    if (step.at !== undefined && !(await waitUntil(step.at))) break;
    if (step.approval && s.approvedThrough < s.stepIndex && !(await approval())) break;
    if (!(await whileNotPaused())) break;
    s.status = 'running';
    const label = `step:${s.stepIndex}`;
    const reason = `rollout step ${s.stepIndex + 1} of ${steps.length}`;
    if (step.split) {
      if (!splitting) throw new Error('a split step needs the split-rollouts patch');
      const split = step.split;
      if (!(await applyOrPause(() => applySplit(split, label, reason)))) continue;
    } else if (!(await applyOrPause(() => apply(step.percentage, label, reason)))) {
      continue;
    }
    startGuard();
    await record();
    if (step.holdMs !== undefined && !(await waitUntil(Date.now() + step.holdMs))) break;
    s.stepIndex += 1;
    if (s.stepIndex < steps.length && (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (input.maxHistoryEvents ?? HISTORY_EVENTS_BEFORE_CONTINUE))) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof rollout>({ ...input, state: s });
    }
  }

  if (s.breach) {
    const reason = `guard breached: ${s.breach.detail}`;
    if (plan.guard?.action === 'kill') {
      const killId = killSwitchWorkflowId(environment, flagKey, `guard-${rolloutId}`);
      await executeChild(killSwitch, {
        workflowId: killId,
        args: [{ flagKey, environment, workflowId: killId, actor: { id: actor.id, name: `rollout guard (${actor.name})` }, reason, at: new Date().toISOString() }],
        typedSearchAttributes: [
          { key: FLAG_KEY, value: flagKey }, { key: ENVIRONMENT, value: environment }, { key: ACTOR, value: actor.id },
        ],
      });
    } else if (splitting) {
      await restoreStart('rollback', reason);
    } else {
      await apply(0, 'rollback', reason);
    }
    s.status = 'rolled_back';
    await alert('Rollout rolled back', reason);
  } else if (s.abort) {
    if (s.abort.rollback) await (splitting ? restoreStart('abort', s.abort.reason) : apply(0, 'abort', s.abort.reason));
    s.status = 'aborted';
    const rolledBack = splitting ? ' (rolled back to the starting split)' : ' (rolled back to 0%)';
    await alert('Rollout aborted', `${s.abort.reason}${s.abort.rollback ? rolledBack : ' (left as is)'}`);
  } else {
    s.status = 'completed';
  }
  s.nextChangeAt = null;
  await record();
  await condition(allHandlersFinished);
  return progress();
}
