import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Role } from '../src/auth/rbac.js';
import type { PipelineProgress } from '../src/domain/release-pipeline.js';
import type { UpdateAudit } from './rollout-messages.js';

// The releasePipeline workflow's messages: the API, the kill switch and the tests import these constants.

export const pipelineProgressQuery = defineQuery<PipelineProgress>('pipelineProgress');
// `audit` names the sender: the workflow audits each update it applies once (as the rollout's updates).
export const pausePipelineUpdate = defineUpdate<PipelineProgress, [{ reason: string; audit?: UpdateAudit }]>('pausePipeline');
/** Senders from before `audit` existed sent no argument: the handler takes none too. */
export const resumePipelineUpdate = defineUpdate<PipelineProgress, [{ audit?: UpdateAudit }]>('resumePipeline');
/** Stops the pipeline; the running phase's rollout is aborted (rollback: back to where it started, else left as is). */
export const abortPipelineUpdate = defineUpdate<PipelineProgress, [{ rollback: boolean; reason: string; audit?: UpdateAudit }]>('abortPipeline');
/** Opens the gate of the phase waiting for an approval; refused for whoever started the pipeline and for the wrong role. */
/** `policyEligible`: whether the approver is one the phase's policy gate allows (the API decides it against the snapshot). */
export const approvePhaseUpdate = defineUpdate<PipelineProgress, [{ by: { id: string; name: string; role: Role }; policyEligible?: boolean; audit?: UpdateAudit }]>('approvePhase');

/** The pipeline's updates, and the audit action each writes once applied. */
export const PIPELINE_AUDIT_ACTIONS = { pause: 'pipeline.paused', resume: 'pipeline.resumed', abort: 'pipeline.aborted', approve: 'pipeline.approved' } as const;
export type PipelineAction = keyof typeof PIPELINE_AUDIT_ACTIONS;
/**
 * Sent by the kill-switch workflow: a kill of the flag in one of the pipeline's environments stops the pipeline.
 * `requestedAt` as in the rollout's killSwitchActivated signal: a pipeline started after the kill ignores it.
 */
export const pipelineKillSignal = defineSignal<[{ environment: string; reason: string; requestedAt?: string }]>('pipelineKill');
