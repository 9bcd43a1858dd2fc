import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { z } from 'zod';
import type { Actor } from '../auth/principal.js';
import { describePlan, rolloutPlanSchema, type RolloutPlan } from '../domain/rollout-plan.js';
import { resolveVariants } from '../domain/variants.js';
import type { FlagConfig } from '../domain/flag.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { findConfig } from '../flags/flag-store.js';
import { isFinishedRollout } from '../domain/rollout-status.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import type { RequestOrigin } from '../auth/request-meta.js';
import { listRollouts, type RolloutRecord } from './rollout-store.js';
import { rolloutWorkflowId, workflowUrl } from '../temporal/workflow-ids.js';
import { ACTOR, ENVIRONMENT, FLAG_KEY, ROLLOUT_STRATEGY } from '../temporal/search-attributes.js';
import {
  abortUpdate, approveUpdate, pauseUpdate, progressQuery, resumeUpdate, skipUpdate,
  type RolloutInput, type RolloutProgress, type SteeringAction, type UpdateAudit,
} from '../../workflows/rollout-messages.js';
import { rollout } from '../../workflows/rollout.js';
import { callTemporal, type WorkflowServiceDeps } from '../temporal/temporal-calls.js';
import { requireFlagIn } from '../flags/live-flag.js';

/** The body that starts a rollout, as the route parses and documents it. */
export const rolloutStartSchema = z.object({ plan: rolloutPlanSchema });
export type RolloutStart = z.infer<typeof rolloutStartSchema>;

export type { SteeringAction } from '../../workflows/rollout-messages.js';

/** Refuses a split plan naming a variant the environment's config does not declare (400 naming the step's field). */
export function requireDeclaredVariants(plan: RolloutPlan, config: FlagConfig): void {
  if (plan.strategy !== 'split') return;
  const { variants } = resolveVariants(config);
  const issues = plan.steps.flatMap((step, i) => step.split.flatMap((entry, j) => variants.has(entry.variant) ? [] : [{
    path: `body.plan.steps.${i}.split.${j}.variant`,
    message: `unknown variant '${entry.variant}': the config declares ${[...variants.keys()].map((v) => `'${v}'`).join(', ')}`,
  }]));
  if (issues.length) throw new ValidationError('Invalid request body', issues);
}

/** Starts, lists and steers rollout workflows; Temporal is the truth, the rollouts table a read model. */
export function createRolloutService(deps: WorkflowServiceDeps) {
  const { temporal } = deps;
  const call = <T>(fn: () => Promise<T>) => callTemporal(temporal, 'rollouts can’t be started or steered', fn);
  const requireFlag = (flagKey: string, environment: string) => requireFlagIn(deps.db, flagKey, environment);
  const unfinished = (rollouts: RolloutRecord[]) => rollouts.find((r) => !isFinishedRollout(r.status));

  /** The start's audit event, naming who started it (steering is audited by the workflow as it applies each update). */
  const auditStart = (flagKey: string, environment: string, actor: Actor, origin: RequestOrigin,
    details: { reason?: string | null; newValue?: unknown; metadata: Record<string, unknown> }) =>
    appendAuditEvent(deps.db, {
      userId: actor.id, action: 'rollout.started', resourceType: 'rollout', resourceId: flagKey, environment,
      reason: details.reason ?? null, newValue: details.newValue, ipAddress: origin.ipAddress ?? null, userAgent: origin.userAgent ?? null,
      metadata: { actorName: actor.name, ...details.metadata },
    });

  return {
    /**
     * Starts a rollout; 409 naming the running one when the flag already has one in this environment.
     * `audit` adds the caller's reason and marks (a change-policy bypass) to the start's audit event.
     */
    async start(flagKey: string, environment: string, { plan }: RolloutStart, actor: Actor, origin: RequestOrigin = {},
      audit: { reason?: string | null; metadata?: Record<string, unknown> } = {}) {
      const flag = await requireFlag(flagKey, environment);
      const config = await findConfig(deps.db, flag.id, environment);
      if (config) requireDeclaredVariants(plan, config.config);
      const workflowId = rolloutWorkflowId(environment, flagKey);
      const rolloutId = randomUUID();
      const input: RolloutInput = { rolloutId, flagKey, environment, plan, actor: { id: actor.id, name: actor.name } };
      try {
        await call(() =>
            temporal.workflow.start(rollout, {
              taskQueue: deps.taskQueue,
              workflowId,
              args: [input],
              workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
              typedSearchAttributes: new TypedSearchAttributes([
                { key: FLAG_KEY, value: flagKey },
                { key: ENVIRONMENT, value: environment },
                { key: ACTOR, value: actor.id },
                { key: ROLLOUT_STRATEGY, value: plan.strategy },
              ]),
              memo: { summary: describePlan(plan), startedBy: actor.name },
            }),
        );
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) {
          throw new ConflictError(`A rollout of '${flagKey}' is already running in '${environment}': ${workflowId}`, {
            workflowId, url: workflowUrl(deps.temporalUiUrl, deps.namespace, workflowId),
          });
        }
        throw error;
      }
      await auditStart(flagKey, environment, actor, origin, {
        reason: audit.reason, newValue: plan, metadata: { ...audit.metadata, rolloutId, workflowId, summary: describePlan(plan) },
      });
      return { rolloutId, workflowId, url: workflowUrl(deps.temporalUiUrl, deps.namespace, workflowId), summary: describePlan(plan) };
    },

    /** The flag's rollouts from the read model, with live progress of the running one when Temporal answers. */
    async list(flagKey: string, environment: string) {
      await requireFlag(flagKey, environment);
      const rollouts = await listRollouts(deps.db, flagKey, environment);
      const running = unfinished(rollouts);
      let current: RolloutProgress | null = null;
      if (running) {
        current = await call(() => temporal.workflow.getHandle(running.workflowId).query(progressQuery)).catch(() => null);
      }
      return { current, rollouts: rollouts.map((r) => ({ ...r, url: workflowUrl(deps.temporalUiUrl, deps.namespace, r.workflowId) })) };
    },

    /** The flag's latest rollout from the read model when it has not finished (no Temporal call). */
    async unfinished(flagKey: string, environment: string): Promise<RolloutRecord | null> {
      return unfinished(await listRollouts(deps.db, flagKey, environment, 1)) ?? null;
    },

    /**
     * Sends a steering update to the running rollout; its validator's refusal becomes a 409. The update
     * names its sender, and the workflow writes its one audit event when it applies it (workflows/rollout.ts),
     * so an update applied after this call gave up waiting (a 503 here) is audited all the same.
     */
    async steer(flagKey: string, environment: string, action: SteeringAction, args: Record<string, unknown>, actor: Actor,
      origin: RequestOrigin = {}): Promise<RolloutProgress> {
      await requireFlag(flagKey, environment);
      const workflowId = rolloutWorkflowId(environment, flagKey);
      const handle = temporal.workflow.getHandle(workflowId);
      const reason = (args.reason as string | undefined) ?? null;
      const audit: UpdateAudit = { actor: { id: actor.id, name: actor.name }, ipAddress: origin.ipAddress ?? null, userAgent: origin.userAgent ?? null, reason };
      // The update's id is the audit event's idempotency key, with the workflow's id.
      const updateId = randomUUID();
      try {
        return await call(() => {
            switch (action) {
              case 'pause':
                return handle.executeUpdate(pauseUpdate, { updateId, args: [{ reason: reason ?? `paused by ${actor.name}`, audit }] });
              case 'resume':
                return handle.executeUpdate(resumeUpdate, { updateId, args: [{ audit }] });
              case 'abort':
                return handle.executeUpdate(abortUpdate, { updateId, args: [{ rollback: args.rollback as boolean, reason: reason ?? `aborted by ${actor.name}`, audit }] });
              case 'skip':
                return handle.executeUpdate(skipUpdate, { updateId, args: [{ audit }] });
              case 'approve':
                return handle.executeUpdate(approveUpdate, { updateId, args: [{ by: actor.name, audit }] });
            }
          });
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw new NotFoundError(`No rollout of '${flagKey}' is running in '${environment}'`);
        if (error instanceof WorkflowUpdateFailedError) {
          const message = (error.cause as Error | undefined)?.message ?? error.message;
          throw new ConflictError(`Can't ${action} the rollout: ${message}`);
        }
        throw error;
      }
    },
  };
}

export type RolloutService = ReturnType<typeof createRolloutService>;
