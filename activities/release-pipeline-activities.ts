import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { applyAudience, InvalidAudience, removeAudiences, type AudienceChange, type AudienceRemoval } from '../src/release-pipelines/pipeline-audience.js';
import { withTransaction } from '../src/connections/database.js';
import { recordPipeline, type PipelineRecord } from '../src/release-pipelines/pipeline-record.js';
import { abortUpdate, pauseUpdate, resumeUpdate } from '../workflows/rollout-messages.js';
import { nonRetryableOnNotFound, type ActivityDeps } from './activity-deps.js';

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
     * pipeline) and projects it; a retry writes nothing twice. An audience that no longer fits fails without retries.
     */
    async applyPhaseAudience(change: AudienceChange): Promise<{ changed: boolean; version: number }> {
      try {
        const applied = await nonRetryableOnNotFound(() => withTransaction(deps.db, (tx) => applyAudience(tx, change)));
        // Re-projecting on a retry is harmless (never lowers a version) and repairs a failed first attempt.
        await deps.publisher.publish(applied.definition, 'flag.updated');
        return { changed: applied.changed, version: applied.definition.version };
      } catch (error) {
        if (error instanceof InvalidAudience) throw ApplicationFailure.nonRetryable(error.message, 'InvalidAudience');
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
        else if (steering.action === 'resume') await handle.executeUpdate(resumeUpdate);
        else await handle.executeUpdate(abortUpdate, { args: [{ rollback: steering.rollback ?? false, reason: steering.reason }] });
        return 'sent';
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) return 'refused';
        throw error;
      }
    },
  };
}
