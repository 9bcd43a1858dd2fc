import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  currentUpdateInfo,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities/create-activities.js';
import {
  describePhase, gatesSatisfied, isFinishedPipeline, phaseApprovalCounts, phaseName, phasePlan, policyGateSummary,
  type PhaseApproval, type PhaseProgress, type PipelineInput, type PipelineProgress, type PipelineStatus,
} from '../src/domain/release-pipeline.js';
import { describePlan, durationMs, type RolloutPlan } from '../src/domain/rollout-plan.js';
import { rolloutWorkflowId } from '../src/temporal/workflow-ids.js';
import { ACTOR, ENVIRONMENT, FLAG_KEY, RELEASE_PIPELINE, ROLLOUT_STRATEGY } from '../src/temporal/search-attributes.js';
import {
  abortPipelineUpdate, approvePhaseUpdate, pausePipelineUpdate, PIPELINE_AUDIT_ACTIONS, pipelineKillSignal, pipelineProgressQuery, resumePipelineUpdate,
  type PipelineAction,
} from './release-pipeline-messages.js';
import { killPrecedes, type RolloutProgress, type UpdateAudit } from './rollout-messages.js';
import { AUDITED_UPDATES_PATCH, rollout } from './rollout.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const alerts = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Why the pipeline must stop, once something decided it (a guard, an abort, a kill). */
interface Stop {
  status: Extract<PipelineStatus, 'stopped' | 'aborted' | 'failed'>;
  reason: string;
  /** Whether the running phase's rollout goes back to where it started. */
  rollback: boolean;
}

/**
 * A release pipeline: each phase's rollout runs as a child `rollout` workflow (id rollout:<env>:<flag>,
 * so the rollout API, the flag page and the kill switch see it as any rollout), one after the other,
 * each behind its approval gate and followed by its soak. A guard trip, an aborted phase or a kill in one
 * of its environments stops the whole pipeline: later phases never start.
 *
 * No continue-as-new: a template has at most MAX_PHASES phases and each phase adds a bounded number
 * of events (a gate, a child, a soak timer, a few records), plus one per operator update.
 */
export async function releasePipeline(input: PipelineInput): Promise<PipelineProgress> {
  const { pipelineId, flagKey, phases, actor } = input;
  const pipelineWorkflowId = workflowInfo().workflowId;
  let status: PipelineStatus = 'running';
  let phaseIndex = 0;
  let paused = false;
  let pausedReason: string | null = null;
  let stop: Stop | null = null;
  // Audience phases (a targeting rule before or instead of a rollout) came after pipelines that are still running.
  const audiences = phases.some((phase) => phase.audience) && patched('pipeline-audiences');
  // Policy gates (ADR 0006 "Under change policies") came after pipelines that are still running; old inputs have none.
  const policyGates = (input.policyGates ?? []).some(Boolean) && patched('pipeline-policy-gates');
  /** The environments a kill was signalled in: a stopped pipeline takes its audiences out of them. */
  const killedEnvironments = new Set<string>();
  /** The phases whose audience rule was written, by environment. */
  const audiencesApplied = new Map<string, number[]>();
  const timeline: PhaseProgress[] = phases.map((phase, i) => ({
    name: phase.name ?? phase.environment, environment: phase.environment, status: 'pending', summary: describePhase(phase),
    ...(phase.audience ? { audience: { segments: phase.audience.segments, variant: phase.audience.variant ?? null }, audienceAt: null } : {}),
    approval: phase.approval ?? null, ...(policyGates ? { policy: input.policyGates![i] ?? null } : {}), approvals: [], soakMs: phase.soak === undefined ? null : durationMs(phase.soak),
    startedAt: null, finishedAt: null, rolloutId: null, workflowId: null, breach: null, soakUntil: null,
  }));

  const progress = (): PipelineProgress => ({
    pipelineId, flagKey, template: input.template, status, phase: phaseIndex, pausedReason, reason: stop?.reason ?? null,
    startedBy: actor, phases: timeline,
  });
  const finished = () => isFinishedPipeline(status);
  const stopping = () => stop !== null;
  const record = () => acts.recordPipeline({ pipelineId, flagKey, workflowId: pipelineWorkflowId, actor: actor.id, progress: progress() });
  const alert = (title: string, environment: string, reason: string) =>
    alerts.alert({ title, flagKey, environment, workflowId: pipelineWorkflowId, actor, reason, at: new Date().toISOString() });
  const requireRunning = () => {
    if (finished() || stopping()) throw new Error(`the pipeline is already ${stop ? 'stopping' : status}`);
  };

  /**
   * The answer of an applied update. When its sender is named, the workflow first writes the update's
   * one audit event (idempotent on the update's id), so an update applied after its sender stopped
   * waiting is still audited, exactly once. Histories from before replay as recorded (the patch).
   */
  const audited = async (action: PipelineAction, audit: UpdateAudit | undefined, extra: { newValue?: unknown; approvalCounts?: string[] } = {}): Promise<PipelineProgress> => {
    const answer = progress();
    const updateId = currentUpdateInfo()?.id;
    if (audit && updateId !== undefined && patched(AUDITED_UPDATES_PATCH)) {
      const phase = timeline[Math.min(phaseIndex, timeline.length - 1)];
      await acts.auditUpdate({
        workflowId: pipelineWorkflowId, updateId, action: PIPELINE_AUDIT_ACTIONS[action], resourceType: 'release_pipeline', resourceId: flagKey,
        actor: audit.actor, ipAddress: audit.ipAddress, userAgent: audit.userAgent, reason: audit.reason, newValue: extra.newValue,
        metadata: {
          pipelineId, phase: phaseIndex + 1, phaseName: phase?.name, environment: phase?.environment,
          ...(extra.approvalCounts ? { approvalCounts: extra.approvalCounts } : {}),
        },
      });
    }
    return answer;
  };

  setHandler(pipelineProgressQuery, progress);
  setHandler(pausePipelineUpdate, ({ reason, audit }) => ((paused = true), (pausedReason = reason), audited('pause', audit)), {
    validator: (_request: { reason: string }) => {
      requireRunning();
      if (paused) throw new Error('the pipeline is already paused');
    },
  });
  setHandler(resumePipelineUpdate, (request: { audit?: UpdateAudit } | undefined) => ((paused = false), (pausedReason = null), audited('resume', request?.audit)), {
    validator: (_request: { audit?: UpdateAudit } | undefined) => {
      requireRunning();
      if (!paused) throw new Error('the pipeline is not paused');
    },
  });
  setHandler(abortPipelineUpdate, ({ rollback, reason, audit }) => ((stop = { status: 'aborted', reason, rollback }), audited('abort', audit, { newValue: { rollback } })), {
    validator: (request) => {
      requireRunning();
      if (typeof request?.rollback !== 'boolean') throw new Error('abort needs rollback: true or false');
    },
  });
  const approvalOf = (request: { by: { id: string; role: PhaseApproval['role'] }; policyEligible?: boolean }) =>
    phaseApprovalCounts(timeline[phaseIndex]!, request.by, actor.id, request.policyEligible === true);
  setHandler(approvePhaseUpdate, (request) => {
    const { by } = request;
    const outcome = approvalOf(request);
    const entry = timeline[phaseIndex]!;
    // Pipelines without policy gates record approvals as they always did (the role gate's).
    const counts = 'counts' in outcome && entry.policy ? { counts: outcome.counts } : {};
    entry.approvals.push({ by: by.id, name: by.name, role: by.role, at: new Date().toISOString(), ...counts });
    return audited('approve', request.audit, 'counts' in outcome ? { approvalCounts: outcome.counts } : {});
  }, {
    validator: (request) => {
      requireRunning();
      const phase = timeline[phaseIndex];
      if (!phase || phase.status !== 'waiting_approval' || (!phase.approval && !phase.policy)) throw new Error('no phase is waiting for an approval');
      if (typeof request?.by?.id !== 'string') throw new Error('approve needs by: the approver');
      const outcome = approvalOf(request);
      if ('refusal' in outcome) throw new Error(outcome.refusal);
    },
  });
  setHandler(pipelineKillSignal, ({ environment, reason, requestedAt }) => {
    // A kill anywhere the pipeline releases to means something is wrong with the flag: nothing more rolls out.
    if (finished() || !phases.some((phase) => phase.environment === environment)) return;
    // …unless it was requested (and since released) before this pipeline started.
    if (killPrecedes(requestedAt, workflowInfo().startTime.getTime())) return;
    killedEnvironments.add(environment);
    if (stopping()) return;
    stop = { status: 'stopped', reason: `kill switch activated in ${environment}: ${reason}`, rollback: false };
  });

  /** Waits while paused; false when the pipeline is stopping. */
  async function whileNotPaused(): Promise<boolean> {
    if (paused) {
      status = 'paused';
      await record();
    }
    await condition(() => !paused || stopping());
    return !stopping();
  }

  /** Runs the phase's rollout as a child and steers it (pause, resume, abort) as the pipeline is steered. */
  async function runPhase(index: number): Promise<void> {
    const phase = phases[index]!;
    const entry = timeline[index]!;
    const plan = phasePlan(phase) as RolloutPlan;
    const rolloutId = uuid4();
    const workflowId = rolloutWorkflowId(phase.environment, flagKey);
    let child;
    try {
      child = await startChild(rollout, {
        workflowId,
        args: [{ rolloutId, flagKey, environment: phase.environment, plan, actor }],
        // A terminated pipeline leaves its running rollout to finish (its read model stays true) rather than cut it off.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // Temporal UI: `ReleasePipeline="pipeline:<flag>"` lists the pipeline and every phase's rollout.
        ...(input.tagChildren === false ? {} : {
          typedSearchAttributes: [
            { key: FLAG_KEY, value: flagKey }, { key: ENVIRONMENT, value: phase.environment }, { key: ACTOR, value: actor.id },
            { key: ROLLOUT_STRATEGY, value: plan.strategy }, { key: RELEASE_PIPELINE, value: pipelineWorkflowId },
          ],
        }),
        memo: { summary: describePlan(plan), startedBy: actor.name, pipeline: pipelineWorkflowId },
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      entry.status = 'failed';
      entry.finishedAt = new Date().toISOString();
      stop = { status: 'stopped', reason: `${phaseName(phase, index)}: a rollout of the flag is already running in ${phase.environment}`, rollback: false };
      return;
    }
    Object.assign(entry, { status: 'running', rolloutId, workflowId, startedAt: new Date().toISOString() });
    status = 'running';
    await record();

    let result: RolloutProgress | null = null;
    let failure: string | null = null;
    const done = child.result().then((r) => void (result = r), (error: unknown) => void (failure = String(error)));
    let abortSent = false;
    let childPaused = false;
    while (result === null && failure === null) {
      await condition(() => result !== null || failure !== null || (stopping() && !abortSent) || paused !== childPaused);
      if (result !== null || failure !== null) break;
      if (stop && !abortSent) {
        abortSent = true;
        await acts.steerPhaseRollout({ workflowId, action: 'abort', rollback: stop.rollback, reason: `release pipeline: ${stop.reason}` });
      } else if (paused !== childPaused) {
        childPaused = paused;
        await acts.steerPhaseRollout({ workflowId, action: paused ? 'pause' : 'resume', reason: `release pipeline paused: ${pausedReason ?? ''}` });
      }
    }
    await done;
    entry.finishedAt = new Date().toISOString();
    const outcome = result as RolloutProgress | null;
    if (failure !== null || outcome === null) {
      entry.status = 'failed';
      stop ??= { status: 'failed', reason: `${phaseName(phase, index)}: its rollout failed: ${String(failure)}`, rollback: false };
    } else if (outcome.status === 'completed') {
      entry.status = 'completed';
    } else if (outcome.status === 'rolled_back') {
      entry.status = 'rolled_back';
      entry.breach = outcome.guard?.breach ?? null;
      stop ??= { status: 'stopped', reason: `${phaseName(phase, index)} in ${phase.environment}: guard breached: ${entry.breach?.detail ?? 'rolled back'}`, rollback: false };
    } else {
      entry.status = 'aborted';
      stop ??= { status: 'stopped', reason: `${phaseName(phase, index)} in ${phase.environment}: its rollout was ${outcome.status}`, rollback: false };
    }
  }

  /** Writes the phase's audience rule; false (and the pipeline stops) when it no longer fits the config. */
  async function applyAudience(index: number): Promise<boolean> {
    const phase = phases[index]!;
    const entry = timeline[index]!;
    Object.assign(entry, { status: 'running', startedAt: new Date().toISOString() });
    status = 'running';
    await record();
    try {
      await acts.applyPhaseAudience({
        pipelineId, workflowId: pipelineWorkflowId, flagKey, environment: phase.environment, phaseIndex: index,
        phaseName: phaseName(phase, index), audience: phase.audience!, actor,
      });
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      Object.assign(entry, { status: 'failed', finishedAt: new Date().toISOString() });
      stop ??= { status: 'failed', reason: `${phaseName(phase, index)} in ${phase.environment}: its audience can’t be served: ${error.cause?.message ?? error.message}`, rollback: false };
      return false;
    }
    audiencesApplied.set(phase.environment, [...(audiencesApplied.get(phase.environment) ?? []), index]);
    entry.audienceAt = new Date().toISOString();
    if (!phase.plan) Object.assign(entry, { status: 'completed', finishedAt: entry.audienceAt });
    return true;
  }

  /**
   * A stopped pipeline does not keep serving its audiences where it was stopped (ADR 0006): in every
   * environment a kill was signalled in, and in the stopping phase's own when its rollout went back.
   */
  async function withdrawAudiences(ended: Stop): Promise<void> {
    const environments = new Set(killedEnvironments);
    const current = timeline[phaseIndex];
    if (current && (current.status === 'rolled_back' || (ended.status === 'aborted' && ended.rollback))) environments.add(current.environment);
    for (const environment of environments) {
      const phaseIndexes = audiencesApplied.get(environment);
      if (!phaseIndexes) continue;
      await acts.removePhaseAudiences({ pipelineId, workflowId: pipelineWorkflowId, flagKey, environment, phaseIndexes, actor, reason: ended.reason });
    }
  }

  await record();
  for (; phaseIndex < phases.length && !stopping(); phaseIndex += 1) {
    const phase = phases[phaseIndex]!;
    const entry = timeline[phaseIndex]!;
    if (!(await whileNotPaused())) break;
    if (phase.approval || entry.policy) {
      entry.status = 'waiting_approval';
      status = 'waiting_approval';
      await record();
      const needs = [phase.approval ? `a ${phase.approval.role}` : null, entry.policy ? policyGateSummary(entry.policy).replace(/^needs /, '') : null];
      await alert('Release pipeline waiting for approval', phase.environment,
        `${phaseName(phase, phaseIndex)} of ${phases.length} needs ${needs.filter(Boolean).join(' and ')} (not ${actor.name}) to approve`);
      await condition(() => gatesSatisfied(entry) || stopping());
      if (stopping()) break;
      status = 'running';
      if (!(await whileNotPaused())) break;
    }
    if (audiences && phase.audience && !(await applyAudience(phaseIndex))) break;
    if (stopping()) break;
    if (phase.plan) await runPhase(phaseIndex);
    if (stopping()) break;
    if (entry.soakMs !== null) {
      entry.status = 'soaking';
      status = 'soaking';
      entry.soakUntil = new Date(Date.now() + entry.soakMs).toISOString();
      await record();
      await condition(stopping, entry.soakMs);
      entry.soakUntil = null;
      entry.status = 'completed';
      if (stopping()) break;
    }
    status = 'running';
  }

  for (const entry of timeline) {
    if (entry.status === 'pending' || entry.status === 'waiting_approval') entry.status = 'not_started';
    // Stopped after its audience, before its rollout started.
    if (entry.status === 'running') Object.assign(entry, { status: 'aborted', finishedAt: new Date().toISOString() });
  }
  const ended = stop as Stop | null;
  if (ended) {
    status = ended.status;
    paused = false;
    pausedReason = null;
    log.info('release pipeline ended early', { status, reason: ended.reason });
    if (audiences) await withdrawAudiences(ended);
    await alert(`Release pipeline ${status}`, timeline[Math.min(phaseIndex, phases.length - 1)]!.environment, ended.reason);
  } else {
    status = 'completed';
  }
  await record();
  await condition(allHandlersFinished);
  return progress();
}
