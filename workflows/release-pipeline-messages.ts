import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Role } from '../src/auth/rbac.js';
import type { PipelineProgress } from '../src/domain/release-pipeline.js';

// The releasePipeline workflow's messages: the API, the kill switch and the tests import these constants.

export const pipelineProgressQuery = defineQuery<PipelineProgress>('pipelineProgress');
export const pausePipelineUpdate = defineUpdate<PipelineProgress, [{ reason: string }]>('pausePipeline');
export const resumePipelineUpdate = defineUpdate<PipelineProgress, []>('resumePipeline');
/** Stops the pipeline; the running phase's rollout is aborted (rollback: back to where it started, else left as is). */
export const abortPipelineUpdate = defineUpdate<PipelineProgress, [{ rollback: boolean; reason: string }]>('abortPipeline');
/** Opens the gate of the phase waiting for an approval; refused for whoever started the pipeline and for the wrong role. */
/** `policyEligible`: whether the approver is one the phase's policy gate allows (the API decides it against the snapshot). */
export const approvePhaseUpdate = defineUpdate<PipelineProgress, [{ by: { id: string; name: string; role: Role }; policyEligible?: boolean }]>('approvePhase');
/**
 * Sent by the kill-switch workflow: a kill of the flag in one of the pipeline's environments stops the pipeline.
 * `requestedAt` as in the rollout's killSwitchActivated signal: a pipeline started after the kill ignores it.
 */
export const pipelineKillSignal = defineSignal<[{ environment: string; reason: string; requestedAt?: string }]>('pipelineKill');
