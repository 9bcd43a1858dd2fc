import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { applyAudience, audienceAppliedKey, InvalidAudience, removeAudiences, type AudienceChange, type AudienceRemoval } from '../src/release-pipelines/pipeline-audience.js';
import { withTransaction } from '../src/connections/database.js';
import { recordPipeline, type PipelineRecord } from '../src/release-pipelines/pipeline-record.js';
import { abortUpdate, pauseUpdate, resumeUpdate } from '../workflows/rollout-messages.js';
import { applyAsStarter, StarterRightsLost } from '../src/rollouts/starter-rights.js';
import { activityRefusalKey, nonRetryableOnNotFound, type ActivityDeps } from './activity-deps.js';

export interface PhaseSteering {
  workflowId: string;
  action: 'pause' | 'resume' | 'abort';
  rollback?: boolean;
  reason: string;
}

/** The releasePipeline workflow's steps: its read model, and steering its phase's rollout (a workflow can't send an update). */
export function createReleasePipelineActivities(deps: ActivityDeps) {
  return {
    /** Writes the pipeline's latest state; its end is audited once (a retry writes nothing twice). */
    async recordPipeline(record: PipelineRecord): Promise<void> {
      await recordPipeline(deps.db, record);
    },

    /**
     * Writes an audience phase's targeting rule (config, version, audit event naming the starter and the
     * pipeline) and projects it; a retry writes nothing twice. An audience that no longer fits, or a
     * starter who may no longer change the flag there (re-checked now), fails without retries: the pipeline stops.
     */
    async applyPhaseAudience(change: AudienceChange): Promise<{ changed: boolean; version: number }> {
      const appliedKey = audienceAppliedKey(change.pipelineId, change.phaseIndex);
      const step = {
        flagKey: change.flagKey, environment: change.environment, starter: change.actor, resourceType: 'release_pipeline' as const,
        step: `the audience of ${change.phaseName}`, then: 'the release pipeline stops',
        metadata: { pipelineId: change.pipelineId, workflowId: change.workflowId, phase: change.phaseIndex + 1, phaseName: change.phaseName },
        refusalKey: activityRefusalKey(appliedKey),
      };
      try {
        const applied = await nonRetryableOnNotFound(() => applyAsStarter(deps.db, step, appliedKey, (tx) => applyAudience(tx, change)));
        // Re-projecting on a retry is harmless (never lowers a version) and repairs a failed first attempt.
        await deps.publisher.publish(applied.definition, 'flag.updated');
        return { changed: applied.changed, version: applied.definition.version };
      } catch (error) {
        if (error instanceof InvalidAudience) throw ApplicationFailure.nonRetryable(error.message, 'InvalidAudience');
        if (error instanceof StarterRightsLost) throw ApplicationFailure.nonRetryable(error.message, 'StarterRightsLost');
        throw error;
      }
    },

    /** Removes a stopped pipeline's audience rules from one environment (once), and projects the result. */
    async removePhaseAudiences(removal: AudienceRemoval): Promise<{ changed: boolean }> {
      const removed = await nonRetryableOnNotFound(() => withTransaction(deps.db, (tx) => removeAudiences(tx, removal)));
      if (removed.definition) await deps.publisher.publish(removed.definition, 'flag.updated');
      return { changed: removed.changed };
    },

    /**
     * Sends the phase's rollout a pause, resume or abort update. Idempotent: a rollout that already
     * is where it is asked to go (or has ended) refuses the update, which is success here.
     */
    async steerPhaseRollout(steering: PhaseSteering): Promise<'sent' | 'refused'> {
      const handle = Context.current().client.workflow.getHandle(steering.workflowId);
      try {
        if (steering.action === 'pause') await handle.executeUpdate(pauseUpdate, { args: [{ reason: steering.reason }] });
        else if (steering.action === 'resume') await handle.executeUpdate(resumeUpdate, { args: [{}] });
        else await handle.executeUpdate(abortUpdate, { args: [{ rollback: steering.rollback ?? false, reason: steering.reason }] });
        return 'sent';
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) return 'refused';
        throw error;
      }
    },
  };
}
