import { auditAppliedUpdate, type AppliedUpdate } from '../src/audit/update-audit.js';
import { workflowUrl } from '../src/temporal/workflow-ids.js';
import type { ActivityDeps } from './activity-deps.js';
import { createChangeRequestActivities } from './change-request-activities.js';
import { createKillSwitchActivities } from './kill-switch-activities.js';
import { createReleasePipelineActivities } from './release-pipeline-activities.js';
import { createLifecycleActivities } from './lifecycle-activities.js';
import { createRolloutActivities } from './rollout-activities.js';
import { createWebhookActivities } from './webhook-activities.js';

export type { ActivityDeps } from './activity-deps.js';

/** What an alert says; the workflow id becomes a link into the Temporal UI. */
export interface AlertInput {
  title: string;
  flagKey: string;
  environment: string;
  workflowId: string;
  actor: { name: string };
  reason: string;
  at: string;
}

/** Every activity the worker registers, built from real dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createKillSwitchActivities(deps),
    ...createRolloutActivities(deps),
    ...createReleasePipelineActivities(deps),
    ...createWebhookActivities(deps),
    ...createLifecycleActivities(deps),
    ...createChangeRequestActivities(deps),

    /** The one audit event of a steering update its workflow applied (written once, whatever the retries). */
    async auditUpdate(update: AppliedUpdate): Promise<void> {
      await auditAppliedUpdate(deps.db, update);
    },

    /** Tells the team; retried by Temporal, and whatever happens here the change is already live. */
    async alert(input: AlertInput): Promise<void> {
      await deps.alerter.send({
        title: input.title,
        flagKey: input.flagKey,
        environment: input.environment,
        actor: input.actor.name,
        reason: input.reason,
        at: input.at,
        links: [{ text: 'Workflow', url: workflowUrl(deps.temporalUiUrl, deps.namespace, input.workflowId) }],
      });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
