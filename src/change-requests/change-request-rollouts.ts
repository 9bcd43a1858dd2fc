import { randomUUID } from 'node:crypto';
import type { Subject } from '../auth/rbac.js';
import { describePlan, rolloutPlanSchema, type RolloutPlan } from '../domain/rollout-plan.js';
import { isFinishedRollout } from '../domain/rollout-status.js';
import { ConflictError, ValidationError } from '../errors.js';
import type { ChangePolicy } from './change-request-schemas.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { insertChangeRequest, setChangeRequestStatus, type ChangeRequestRecord } from './change-request-store.js';
import type { Queryable } from '../connections/database.js';
import { lockFlagConfig, type ConfigRecord, type FlagRecord } from '../flags/flag-store.js';
import { enqueueOutbox } from '../outbox/outbox-store.js';
import { listRollouts } from '../rollouts/rollout-store.js';
import { rolloutWorkflowId } from '../temporal/workflow-ids.js';
import type { WorkflowStartRequest, WorkflowStarter } from '../temporal/workflow-starter.js';
import type { RolloutInput } from '../../workflows/rollout-messages.js';
import type { ChangeRequestApplied } from './change-request-apply.js';
import { WORKFLOW_START } from '../outbox/outbox-relay.js';
import type { RequestMeta } from '../auth/request-meta.js';
import { requireDeclaredVariants } from '../rollouts/rollout-service.js';
import { unknownFlag } from '../flags/unknown-flag.js';

/**
 * Rollout starts under a change policy: a covered `POST …/rollouts` becomes a
 * request of kind `rollout` whose proposed value is the plan; once approved, the changeRequest
 * workflow's apply activity starts the rollout as the request's author. Steering a running rollout
 * (pause, resume, skip, approve a step, abort) and the kill switch are never covered.
 */

/** A rollout start a policy may cover, as the route hands it over (RBAC and the plan's schema already checked). */
export interface RolloutStartWrite {
  flagKey: string;
  environment: string;
  plan: RolloutPlan;
  meta: RequestMeta;
  bypass: boolean;
  subject: Subject;
}

/** The flag's unfinished rollout in this environment, from the read model the rollout workflow keeps. */
async function runningRollout(tx: Queryable, flagKey: string, environment: string) {
  return (await listRollouts(tx, flagKey, environment, 1)).find((r) => !isFinishedRollout(r.status)) ?? null;
}

/**
 * Records a pending rollout request after the checks the start itself makes (flag live in the
 * environment, split variants declared, no rollout running), under the config row's lock; its base
 * version is the config's, so any write to the flag there before it applies makes it conflict.
 */
export async function insertRolloutRequest(tx: Queryable, write: RolloutStartWrite, policy: ChangePolicy): Promise<string> {
  const locked = await lockFlagConfig(tx, write.flagKey, write.environment);
  if (!locked || locked.flag.archivedAt) throw await unknownFlag(tx, write.flagKey);
  const { flag, config: current } = locked;
  requireDeclaredVariants(write.plan, current.config);
  const running = await runningRollout(tx, flag.key, write.environment);
  if (running) throw new ConflictError(`A rollout of '${flag.key}' is already running in '${write.environment}': ${running.workflowId}`, { workflowId: running.workflowId });
  const summary = describePlan(write.plan);
  const requestId = await insertChangeRequest(tx, {
    kind: 'rollout', source: 'rollout', flagKey: flag.key, environment: write.environment,
    author: { id: write.meta.actor.id, name: write.meta.actor.name }, reason: write.meta.reason ?? null,
    baseVersion: current.version, baseConfig: current.config, proposed: write.plan,
    diff: [{ field: 'rollout.plan', before: null, after: write.plan }, { field: 'rollout.summary', before: null, after: summary }],
    applyAt: null, requiredApprovals: policy.required_approvals,
  });
  await appendAuditEvent(tx, {
    userId: write.meta.actor.id, action: 'change_request.created', resourceType: 'change_request', resourceId: flag.key,
    environment: write.environment, oldValue: null, newValue: write.plan, reason: write.meta.reason ?? null,
    ipAddress: write.meta.ipAddress ?? null, userAgent: write.meta.userAgent ?? null,
    metadata: { actorName: write.meta.actor.name, changeRequestId: requestId, baseVersion: current.version, source: 'rollout', summary },
  });
  return requestId;
}

/** How the apply ends a request that cannot apply (change-request-apply's `finish`). */
type Finish = (status: 'conflicted' | 'failed', outcome: string) => Promise<ChangeRequestApplied>;

/**
 * Starts an approved rollout request's rollout, in the apply's transaction (request and config rows
 * locked, status and base version already checked): no rollout may be running (else `conflicted`,
 * nothing started), the plan must still fit the config (else `failed`). The start is the route's own
 * (same workflow id, input, search attributes) with the author as the rollout's actor. Temporal is
 * asked inside the transaction so that a rollout started meanwhile through the route (already
 * started) is a conflict too; when Temporal is unreachable the start waits in the outbox and the
 * relay makes it, so an outage delays the rollout and never loses it.
 */
export async function applyRolloutRequest(
  tx: Queryable, request: ChangeRequestRecord, locked: { flag: FlagRecord; config: ConfigRecord }, starter: WorkflowStarter | undefined, finish: Finish,
): Promise<ChangeRequestApplied> {
  const { flag, config } = locked;
  const parsed = rolloutPlanSchema.safeParse(request.proposed);
  if (!parsed.success) return finish('failed', `the rollout plan is no longer valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const plan = parsed.data;
  try {
    requireDeclaredVariants(plan, config.config);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const issues = (error.details as Array<{ path: string; message: string }>).map((i) => i.message).join('; ');
    return finish('failed', `the rollout plan no longer fits the config: ${issues}`);
  }
  const alreadyRunning = (id: string) => finish('conflicted', `a rollout of '${flag.key}' is already running in '${request.environment}' (${id}); nothing was started`);
  const running = await runningRollout(tx, flag.key, request.environment);
  if (running) return alreadyRunning(running.workflowId);

  const workflowId = rolloutWorkflowId(request.environment, flag.key);
  const rolloutId = randomUUID();
  const summary = describePlan(plan);
  const input: RolloutInput = { rolloutId, flagKey: flag.key, environment: request.environment, plan, actor: request.author };
  const start: WorkflowStartRequest = {
    workflowType: 'rollout', workflowId, args: [input], flagKey: flag.key, environment: request.environment, actor: request.author.id,
    memo: { summary, startedBy: request.author.name, changeRequestId: request.id }, reuseFinishedId: true, rolloutStrategy: plan.strategy,
  };
  const started = starter ? await starter.start(start).catch(() => 'unreachable' as const) : 'unreachable';
  // Started through the route after the read model was read (its first activity had not recorded it yet).
  if (started === 'already-started') return alreadyRunning(workflowId);
  if (started === 'unreachable') await enqueueOutbox(tx, WORKFLOW_START, `change-request-rollout:${request.id}`, start);

  const approvedBy = request.approvals.map((a) => a.user_name);
  await appendAuditEvent(tx, {
    userId: request.author.id, action: 'rollout.started', resourceType: 'rollout', resourceId: flag.key, environment: request.environment,
    newValue: plan, reason: request.reason,
    metadata: { actorName: request.author.name, rolloutId, workflowId, summary, changeRequestId: request.id, approvedBy },
    idempotencyKey: `change_request:${request.id}:applied`,
  });
  const outcome = started === 'started'
    ? `rollout ${rolloutId} started (${workflowId}): ${summary}`
    : `rollout ${rolloutId} queued: Temporal was unreachable, the outbox starts ${workflowId} when it is back`;
  await setChangeRequestStatus(tx, request.id, { status: 'applied', outcome, appliedVersion: config.version });
  return { status: 'applied', outcome, version: config.version };
}
