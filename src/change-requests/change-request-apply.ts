import type { FlagConfig, FlagDefinition } from '../domain/flag.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { findChangeRequest, findPolicy, segmentsChangedSince, setChangeRequestStatus, type ChangeRequestRecord } from './change-request-store.js';
import { describeApprovers, mayApprove } from './approvers.js';
import type { Queryable } from '../connections/database.js';
import { lockFlagConfig, nextRevision, saveConfig } from '../flags/flag-store.js';
import { restoreWorkflowId } from '../temporal/workflow-ids.js';
import type { WorkflowStarter } from '../temporal/workflow-starter.js';
import { approvalsLost, authorRightsLost } from './author-rights.js';
import { applyRolloutRequest } from './change-request-rollouts.js';
import { applySegmentRequest, type SegmentPublication, type SegmentWriter } from './change-request-segments.js';
import { parseConfigInput, requireKnownSegments } from '../flags/config-validation.js';
import { applyRestore, type KillSwitchChange } from '../kill-switch/kill-change.js';

/** What a changeRequest workflow carries: the request (the database has the rest) and when to apply it. */
export interface ChangeRequestInput {
  requestId: string;
  /** ISO 8601; null: at once. */
  applyAt: string | null;
}

/** What applying found. `definition` is the change to publish; `restore` the release whose workflow carries the rest. */
export interface ChangeRequestApplied {
  status: 'applied' | 'conflicted' | 'failed' | 'skipped';
  outcome: string;
  version?: number;
  definition?: FlagDefinition;
  restore?: KillSwitchChange;
  /** A segment request's write, to publish after the commit (as a direct segment edit does). */
  segment?: SegmentPublication;
}

/** The audit action of an applied config request: the one its write makes when no policy holds it back. */
const APPLIED_ACTION: Record<string, string> = { put: 'flag.config.updated', copy: 'flag.config.copied', scheduled: 'flag.config.scheduled_update' };

/** The workflow's actor when it is not one person: conflicts and failures are found by it. */
const WORKFLOW_ACTOR = { id: 'change-request-workflow', name: 'change request workflow' };

async function finish(tx: Queryable, request: ChangeRequestRecord, status: 'conflicted' | 'failed', outcome: string): Promise<ChangeRequestApplied> {
  await setChangeRequestStatus(tx, request.id, { status, outcome });
  await appendAuditEvent(tx, {
    userId: WORKFLOW_ACTOR.id, action: `change_request.${status}`, resourceType: 'change_request', resourceId: request.flag ?? request.segment!, environment: request.environment,
    reason: outcome, metadata: { actorName: WORKFLOW_ACTOR.name, changeRequestId: request.id, author: request.author.name },
    idempotencyKey: `change_request:${request.id}:finished`,
  });
  return { status, outcome };
}

/**
 * Why the request may no longer apply as its author and approvers, or null: the author may still make
 * this write (authorRightsLost) and every counted approval comes from a user who may still approve
 * it under the environment's policy as it is now (a policy turned off needs no approvals).
 */
async function rightsLost(tx: Queryable, request: ChangeRequestRecord, tags: readonly string[]): Promise<string | null> {
  const action = request.kind === 'restore' ? 'kill_switch' : 'write';
  const author = await authorRightsLost(tx, request.author, { key: request.flag!, tags }, request.environment, action);
  if (author) return author;
  const policy = await findPolicy(tx, request.environment);
  return approvalsLost(tx, request.approvals, async (approver) =>
    policy.required_approvals === 0 || mayApprove(policy, approver, tags) ? null : `only ${describeApprovers(policy)} may approve change requests in '${request.environment}' now`);
}

/**
 * Applies an approved request in the caller's transaction, exactly once (the request's row is locked
 * and its status says whether it already ran). Re-validates as of now: the author may still make the
 * write and the approvers are still active (else `failed`), the config must still be at the version
 * the request was made against (else `conflicted`, and nothing is overwritten), the flag live, the
 * config valid for the flag's type and its segments existing (else `failed`). `starter` starts an
 * approved rollout (without it, the rollout waits in the outbox); `segments` writes an approved
 * segment request (change-request-segments.ts).
 */
export async function applyChangeRequest(
  tx: Queryable, requestId: string, options: { at?: string; starter?: WorkflowStarter; segments?: SegmentWriter } = {},
): Promise<ChangeRequestApplied> {
  const at = options.at ?? new Date().toISOString();
  const request = await findChangeRequest(tx, requestId, true);
  if (!request) throw new NotFoundError(`No change request '${requestId}'`);
  // Withdrawn while it waited for its time, or a retry after it applied: nothing to do.
  if (request.status !== 'approved') return { status: 'skipped', outcome: `the request is ${request.status}` };
  if (request.kind === 'segment') {
    if (!options.segments) throw new Error('applying a segment change request needs the segment service');
    return applySegmentRequest(tx, request, options.segments, (status, outcome) => finish(tx, request, status, outcome));
  }
  if (request.flag === null) throw new Error(`change request ${request.id} of kind ${request.kind} names no flag`);

  const locked = await lockFlagConfig(tx, request.flag, request.environment);
  if (!locked || locked.flag.archivedAt) return finish(tx, request, 'failed', `flag '${request.flag}' no longer exists in '${request.environment}' (or is archived)`);
  const { flag, config: current } = locked;
  const lost = await rightsLost(tx, request, flag.tags);
  if (lost) return finish(tx, request, 'failed', `${lost}; nothing was applied`);
  if (current.version !== request.base_version) {
    return finish(tx, request, 'conflicted',
      `stale base: the request was made against version ${request.base_version}, the config is now at version ${current.version}; nothing was overwritten`);
  }
  if (request.kind === 'rollout') return applyRolloutRequest(tx, request, locked, options.starter, (status, outcome) => finish(tx, request, status, outcome));
  const approvedBy = request.approvals.map((a) => a.user_name);
  const author = request.author;

  if (request.kind === 'restore') {
    const change: KillSwitchChange = {
      flagKey: flag.key, environment: request.environment, workflowId: restoreWorkflowId(request.environment, flag.key, request.id),
      actor: author, reason: request.reason ?? `change request ${request.id} approved by ${approvedBy.join(', ')}`, at,
    };
    const restored = await applyRestore(tx, change);
    const outcome = `kill switch released at version ${restored.definition.version}`;
    await setChangeRequestStatus(tx, request.id, { status: 'applied', outcome, appliedVersion: restored.definition.version });
    return { status: 'applied', outcome, version: restored.definition.version, definition: restored.definition, restore: change };
  }

  let proposed: Omit<FlagConfig, 'kill_switch'>;
  try {
    proposed = parseConfigInput(flag.type, request.proposed, 'proposed');
    await requireKnownSegments(tx, proposed, 'proposed');
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const issues = (error.details as Array<{ path: string; message: string }>).map((i) => `${i.path}: ${i.message}`).join('; ');
    return finish(tx, request, 'failed', `the config no longer fits the flag: ${issues}`);
  }
  // A segment the config targets, edited since the request was made, could make it serve others than
  // the approvers saw (a list grown, a rule widened): the request conflicts instead.
  const changed = await segmentsChangedSince(tx, request.id, [...new Set(proposed.targeting.flatMap((t) => t.segments))]);
  if (changed.length > 0) {
    return finish(tx, request, 'conflicted',
      `segment${changed.length === 1 ? '' : 's'} ${changed.map((k) => `'${k}'`).join(', ')} changed after the request was made; nothing was applied: make a new request`);
  }
  // The kill switch is never part of a request: it stays as it is.
  const config: FlagConfig = { ...proposed, kill_switch: current.config.kill_switch };
  const version = (await nextRevision(tx, request.environment))!;
  await saveConfig(tx, flag.id, request.environment, config, version, author.id);
  await appendAuditEvent(tx, {
    userId: author.id, action: APPLIED_ACTION[request.source] ?? 'flag.config.updated', resourceType: 'flag', resourceId: flag.key, environment: request.environment,
    oldValue: current.config, newValue: config, reason: request.reason,
    metadata: { actorName: author.name, version, changeRequestId: request.id, approvedBy, source: request.source },
    idempotencyKey: `change_request:${request.id}:applied`,
  });
  const outcome = `applied at version ${version}`;
  await setChangeRequestStatus(tx, request.id, { status: 'applied', outcome, appliedVersion: version });
  return { status: 'applied', outcome, version, definition: { key: flag.key, type: flag.type, environment: request.environment, version, config } };
}
