import type { z } from 'zod';
import { requireAccess, requireUserCaller, type Caller } from '../auth/caller.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { withTransaction, type Database, type Queryable } from '../connections/database.js';
import { uuidPattern } from '../domain/text.js';
import { ConflictError, fieldIssues, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { lockFlagConfig } from '../flags/flag-store.js';
import { enqueueOutbox } from '../outbox/outbox-store.js';
import { WORKFLOW_START } from '../outbox/outbox-relay.js';
import { changeRequestWorkflowId, segmentChangeRequestWorkflowId } from '../temporal/workflow-ids.js';
import type { WorkflowStartRequest } from '../temporal/workflow-starter.js';
import { findUser } from '../users/user-store.js';
import { describeApprovers, mayApprove, type Approver } from './approvers.js';
import type { ChangeRequestInput } from './change-request-apply.js';
import { changeRequestCommentSchema, changeRequestRejectSchema } from './change-request-inputs.js';
import type { ChangeRequest } from './change-request-schemas.js';
import type { ChangeRequestService } from './change-request-service.js';
import { requireSegmentApprover } from './change-request-segments.js';
import { findChangeRequest, findPolicy, insertApproval, setChangeRequestStatus, type ChangeRequestRecord } from './change-request-store.js';

/** A decision on one request, with the comment as the caller wrote it (checked here by the shared text schema). */
export interface ChangeRequestDecision {
  id: string;
  comment?: string | null;
}

/** What the request's audit events name: its flag, or its segment. */
const resourceOf = (request: Pick<ChangeRequestRecord, 'flag' | 'segment'>): string => request.flag ?? request.segment!;

/** The comment through the shared text rule (reject: required, with a visible character); 400 naming `body.comment`. */
function commentOf(schema: z.ZodType<{ comment?: string } | undefined>, comment: string | null | undefined): string | null {
  const parsed = schema.safeParse(comment === null || comment === undefined ? {} : { comment });
  if (!parsed.success) throw new ValidationError('Invalid comment', fieldIssues(parsed.error.issues).map((i) => ({ ...i, path: `body.${i.path}` })));
  return parsed.data?.comment ?? null;
}

/**
 * Approving, rejecting and withdrawing change requests, as every entry point asks for it (the HTTP
 * routes, so the admin UI; Slack's Approve / Reject buttons). Each command decides in one place:
 * the caller is a user (client and server tokens decide nothing) who may read flags; who they are
 * now (an approver deactivated since they signed in is refused, a demoted one is judged by their
 * role and grants as they are now, not as the entry point last saw them); the comment through the
 * shared text rule; the request's state (pending to decide, pending or approved to withdraw); who
 * may decide (never the author; the policy's approvers for the environment and the flag's tags, or
 * the segment's environments); then writes the decision with its one audit event naming the actor.
 * The last approval starts the apply workflow (an outbox entry in the same transaction backs it up).
 */
export function createChangeRequestCommands(deps: { db: Database; changeRequests: ChangeRequestService }) {
  const { db } = deps;

  /** The caller as an approver, as they are now: their user row's role and grants, refused once deactivated. */
  async function approverOf(caller: Caller): Promise<Approver> {
    requireUserCaller(caller);
    // The bootstrap admin (RIPCORD_ADMIN_TOKEN) has no user row: the operator, as the caller says.
    if (!uuidPattern.test(caller.actor.id)) {
      requireAccess(caller, { resource: 'flag', action: 'read' });
      return { actor: caller.actor, subject: caller.subject };
    }
    const user = await findUser(db, caller.actor.id);
    if (!user || user.deactivatedAt) throw new ForbiddenError(`${caller.actor.name} is no longer an active user`);
    const approver: Approver = { actor: { ...caller.actor, role: user.role }, subject: { kind: 'user', role: user.role, grants: user.grants } };
    requireAccess(approver, { resource: 'flag', action: 'read' });
    return approver;
  }

  async function lockRequest(tx: Queryable, id: string): Promise<ChangeRequestRecord> {
    const request = await findChangeRequest(tx, id, true);
    if (!request) throw new NotFoundError(`No change request '${id}'`);
    return request;
  }

  /**
   * The pending request, locked with its flag's config, when `who` may decide it: not its author (told
   * `authorHint` instead) and an approver under the environment's policy as it is now.
   */
  async function lockPendingForApprover(tx: Queryable, id: string, who: Approver, verb: 'approve' | 'reject', authorHint: string): Promise<ChangeRequestRecord> {
    const request = await lockRequest(tx, id);
    if (request.status !== 'pending') throw new ConflictError(`Change request ${id} is ${request.status}, not pending`);
    if (request.author.id === who.actor.id) throw new ForbiddenError(`You made this change request: ${authorHint}`);
    if (request.kind === 'segment') {
      await requireSegmentApprover(tx, request, who, (policy) => mayApprove(policy, who, undefined), describeApprovers, verb);
      return request;
    }
    const policy = await findPolicy(tx, request.environment);
    const tags = (await lockFlagConfig(tx, request.flag!, request.environment))?.flag.tags;
    if (!mayApprove(policy, who, tags)) throw new ForbiddenError(`Only ${describeApprovers(policy)} may ${verb} change requests in '${request.environment}'`);
    return request;
  }

  const decidedEvent = (caller: Caller, who: Approver, request: ChangeRequestRecord, action: string, comment: string | null, metadata: Record<string, unknown> = {}) => ({
    userId: who.actor.id, action, resourceType: 'change_request', resourceId: resourceOf(request), environment: request.environment,
    reason: comment, ipAddress: caller.ipAddress ?? null, userAgent: caller.userAgent ?? null,
    metadata: { actorName: who.actor.name, changeRequestId: request.id, ...metadata },
  });

  return {
    /**
     * One approval. Concurrent approvals serialise on the request's row lock, so the one that reaches
     * N starts the apply exactly once (its workflow id is the request's, and Temporal refuses a second).
     */
    async approve(caller: Caller, decision: ChangeRequestDecision): Promise<ChangeRequest> {
      const who = await approverOf(caller);
      const comment = commentOf(changeRequestCommentSchema, decision.comment);
      const { id } = decision;
      let start: WorkflowStartRequest | undefined;
      await withTransaction(db, async (tx) => {
        const request = await lockPendingForApprover(tx, id, who, 'approve', 'it must be approved by someone else (self-approval is refused)');
        if (!(await insertApproval(tx, id, who.actor, comment))) throw new ConflictError(`You have already approved change request ${id}`);
        const approvals = request.approvals.length + 1;
        const complete = approvals >= request.required_approvals;
        const workflowId = request.kind === 'segment' ? segmentChangeRequestWorkflowId(request.segment!, id) : changeRequestWorkflowId(request.environment, request.flag!, id);
        await appendAuditEvent(tx, decidedEvent(caller, who, request, 'change_request.approved', comment, {
          approvals, requiredApprovals: request.required_approvals, ...(complete ? { workflowId } : {}),
        }));
        if (!complete) return;
        const input: ChangeRequestInput = { requestId: id, applyAt: request.apply_at };
        start = {
          workflowType: 'changeRequest', workflowId, args: [input], flagKey: request.flag, environment: request.environment, actor: who.actor.id,
          memo: { changeRequestId: id, applyAt: request.apply_at, author: request.author.name },
        };
        await setChangeRequestStatus(tx, id, { status: 'approved', workflowId });
        await enqueueOutbox(tx, WORKFLOW_START, workflowId, start);
      });
      if (start) await deps.changeRequests.startApply(start);
      return deps.changeRequests.announceDecision(id);
    },

    /** Rejects a pending request, with a comment (approvers only; the author withdraws instead). */
    async reject(caller: Caller, decision: ChangeRequestDecision): Promise<ChangeRequest> {
      const who = await approverOf(caller);
      const comment = commentOf(changeRequestRejectSchema, decision.comment);
      await withTransaction(db, async (tx) => {
        const request = await lockPendingForApprover(tx, decision.id, who, 'reject', 'withdraw it instead of rejecting it');
        await setChangeRequestStatus(tx, decision.id, { status: 'rejected', decidedBy: who.actor, comment });
        await appendAuditEvent(tx, decidedEvent(caller, who, request, 'change_request.rejected', comment));
      });
      return deps.changeRequests.announceDecision(decision.id);
    },

    /** The author takes back a request that has not applied yet (an approved one waiting for its time too). */
    async withdraw(caller: Caller, decision: ChangeRequestDecision): Promise<ChangeRequest> {
      const who = await approverOf(caller);
      const comment = commentOf(changeRequestCommentSchema, decision.comment);
      const { id } = decision;
      const before = await withTransaction(db, async (tx) => {
        const request = await lockRequest(tx, id);
        if (request.author.id !== who.actor.id) throw new ForbiddenError('Only the author may withdraw a change request');
        if (request.status !== 'pending' && request.status !== 'approved') throw new ConflictError(`Change request ${id} is ${request.status}: it can no longer be withdrawn`);
        await setChangeRequestStatus(tx, id, { status: 'withdrawn', decidedBy: who.actor, comment });
        await appendAuditEvent(tx, decidedEvent(caller, who, request, 'change_request.withdrawn', comment));
        return request;
      });
      // An approved request's workflow may be waiting for its time: it would find the request withdrawn
      // and apply nothing, but it need not wait.
      if (before.workflow_id) await deps.changeRequests.cancelApply(before.workflow_id);
      return deps.changeRequests.announceDecision(id);
    },
  };
}

export type ChangeRequestCommands = ReturnType<typeof createChangeRequestCommands>;
