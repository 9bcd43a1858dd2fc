import { appendAuditEvent, auditEventExists } from '../audit/audit-store.js';
import { authorRightsLost } from '../change-requests/author-rights.js';
import { withTransaction, type Database, type Queryable } from '../connections/database.js';
import { findFlag } from '../flags/flag-store.js';

/** A workflow step that changes a flag's config on the authority of whoever started the workflow. */
export interface StarterStep {
  flagKey: string;
  environment: string;
  /** Whoever started the rollout or pipeline: the step applies as them. */
  starter: { id: string; name: string };
  /** What the refusal's audit event is about. */
  resourceType: 'rollout' | 'release_pipeline';
  /** The step in words ("rollout step 2 of 3"). */
  step: string;
  /** What the workflow does when refused, in words ("the rollout is paused …"). */
  then: string;
  metadata: Record<string, unknown>;
  /** One refusal event per attempt of the workflow's (a retried activity writes it once). */
  refusalKey: string;
}

/** Thrown when a step may no longer apply on its starter's authority; never retried (the workflow holds or stops). */
export class StarterRightsLost extends Error {
  override readonly name = 'StarterRightsLost';
}

const WORKFLOW_ACTOR: Record<StarterStep['resourceType'], { id: string; name: string }> = {
  rollout: { id: 'rollout-workflow', name: 'rollout workflow' },
  release_pipeline: { id: 'release-pipeline-workflow', name: 'release pipeline workflow' },
};

/**
 * Applies a step that changes the flag on its starter's authority, as of now (as a scheduled change or
 * an approved change request does): the starter must still be an active user who may change the flag
 * in the environment. When not, nothing is applied, one audit event says why
 * (`<resource>.step_refused`, by the workflow, naming the starter) and StarterRightsLost is thrown.
 * A retry of a step that already applied (its `appliedKey` event exists) is not re-judged; an unknown
 * or archived flag is left to `apply` to answer.
 */
export async function applyAsStarter<T>(db: Database, step: StarterStep, appliedKey: string, apply: (tx: Queryable) => Promise<T>): Promise<T> {
  const outcome = await withTransaction(db, async (tx): Promise<{ applied: T } | { refused: string }> => {
    const flag = await findFlag(tx, step.flagKey);
    if (flag && !flag.archivedAt && !(await auditEventExists(tx, appliedKey))) {
      const lost = await authorRightsLost(tx, step.starter, { key: flag.key, tags: flag.tags }, step.environment, 'write', 'starter');
      if (lost) {
        const reason = `${step.step} was not applied: ${lost}; ${step.then}`;
        const actor = WORKFLOW_ACTOR[step.resourceType];
        await appendAuditEvent(tx, {
          userId: actor.id, action: `${step.resourceType}.step_refused`, resourceType: step.resourceType, resourceId: flag.key, environment: step.environment,
          reason, metadata: { ...step.metadata, actorName: actor.name, startedBy: step.starter.id, startedByName: step.starter.name },
          idempotencyKey: step.refusalKey,
        });
        // Returned, not thrown: the refusal's audit event commits.
        return { refused: reason };
      }
    }
    return { applied: await apply(tx) };
  });
  if ('refused' in outcome) throw new StarterRightsLost(outcome.refused);
  return outcome.applied;
}
