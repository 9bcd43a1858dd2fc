import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Subject } from '../auth/rbac.js';
import { requireBypassRight } from './change-policy-bypass.js';
import { describeApprovers } from './approvers.js';
import type { FlagConfig } from '../domain/flag.js';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ChangePolicy, ChangeRequest, ChangeRequestCreated, ChangeRequestStatus, CoveredChange } from './change-request-schemas.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import {
  findChangeRequest, findOpenRestoreRequest, findPolicy, insertChangeRequest, listChangeRequests, savePolicy,
  setSlackMessage,
  type ChangeRequestRecord, type PolicyInput,
} from './change-request-store.js';
import { withTransaction, type Database, type Queryable } from '../connections/database.js';
import { listEnvironments, lockFlagConfig, type ConfigRecord, type FlagRecord } from '../flags/flag-store.js';
import { markOutboxProcessed } from '../outbox/outbox-store.js';
import type { WorkflowStartRequest, WorkflowStarter } from '../temporal/workflow-starter.js';
import { configDiff } from './change-request-diff.js';
import { insertRolloutRequest, type RolloutStartWrite } from './change-request-rollouts.js';
import { requestSegmentChange, segmentRequestMessage, strictestOf, type CoveredSegmentWrite } from './change-request-segments.js';
import { requireKnownSegments } from '../flags/config-validation.js';
import { unknownFlag } from '../flags/unknown-flag.js';
import { findUser } from '../users/user-store.js';
import { uuidPattern } from '../domain/text.js';
import type { RequestMeta } from '../auth/request-meta.js';

/** Tells people about requests (Slack); failures are logged, never fail the request. */
export interface ChangeRequestNotifier {
  /** A new pending request: post it with Approve / Reject buttons; returns where it was posted (kept with the request). */
  pending(request: ChangeRequest): Promise<PostedMessage | null>;
  /** The request was decided (approved, rejected, withdrawn): update the message posted while it was pending. */
  decided(request: ChangeRequest, posted: PostedMessage): Promise<void>;
}

/** Where a request's message was posted (a Slack channel and message timestamp). */
export interface PostedMessage {
  channel: string;
  ts: string;
}

export interface ChangeRequestServiceDeps {
  db: Database;
  starter: WorkflowStarter;
  /** For cancelling a withdrawn request's waiting workflow. */
  temporal?: Client;
  logger: Logger;
  notifier?: ChangeRequestNotifier;
  /** A workflow's page in the Temporal UI; without it requests carry no link. */
  workflowUrl?: (workflowId: string) => string;
}


/** A write a policy may cover, as its command (the caller's rights decided) hands it over before writing. */
export interface CoveredWrite {
  flagKey: string;
  environment: string;
  covers: CoveredChange;
  /** put, copy, scheduled. */
  source: string;
  /** The If-Match / body version the write expects (412 when stale, as the write itself would answer). */
  expectedVersion?: number;
  /** The whole config that would apply, from the flag and its current config (validated, throws 400 naming the field). */
  proposed: (tx: Queryable, flag: FlagRecord, current: ConfigRecord) => Promise<Omit<FlagConfig, 'kill_switch'>>;
  /** When the change applies once approved (a scheduled change); absent: at once. */
  applyAt?: string;
  meta: RequestMeta;
  /** The caller asked to bypass the policy (X-Change-Request-Bypass: true). */
  bypass: boolean;
  subject: Subject;
}

/** What a covered write turned into: a request (answer 202), a bypass (write directly, audited as one) or nothing (write as usual). */
export type GateOutcome = { kind: 'request'; created: ChangeRequestCreated } | { kind: 'bypass'; auditMetadata: Record<string, unknown> } | { kind: 'none' };

const NONE: GateOutcome = { kind: 'none' };
const s = (n: number) => (n === 1 ? '' : 's');

/** Strips what the API does not show. */
function presenter(workflowUrl: ((workflowId: string) => string) | undefined) {
  return (record: ChangeRequestRecord): ChangeRequest => {
    const { baseConfig: _base, slack: _slack, ...request } = record;
    return { ...request, workflow_url: request.workflow_id && workflowUrl ? workflowUrl(request.workflow_id) : null };
  };
}

/**
 * Change requests: an environment's policy turns covered writes (configs, scheduled changes, and
 * releasing a kill switch when the policy says so) into requests that need N approvals from others;
 * the last approval starts a changeRequest workflow that applies the change, at once or at its time,
 * after checking the config is still at the version the request was made against.
 */
export function createChangeRequestService(deps: ChangeRequestServiceDeps) {
  const { db, logger } = deps;
  const present = presenter(deps.workflowUrl);
  let notifier = deps.notifier;

  async function requireEnvironment(environment: string) {
    if (!(await listEnvironments(db)).some((e) => e.key === environment)) throw new NotFoundError(`Environment '${environment}' does not exist`);
  }

  async function requireRequest(id: string, tx: Queryable = db, lock = false): Promise<ChangeRequestRecord> {
    const request = await findChangeRequest(tx, id, lock);
    if (!request) throw new NotFoundError(`No change request '${id}'`);
    return request;
  }

  function notify(kind: 'pending' | 'decided', request: ChangeRequest) {
    const current = notifier;
    if (!current) return;
    const sent = kind === 'pending'
      ? current.pending(request).then(async (posted) => {
        if (posted) await setSlackMessage(db, request.id, posted.channel, posted.ts);
      })
      : findChangeRequest(db, request.id).then(async (stored) => {
        if (stored?.slack) await current.decided(request, stored.slack);
      });
    void sent.catch((err: unknown) => logger.warn({ err, changeRequest: request.id }, 'change request notification failed'));
  }

  /** Bypass: only with the permission and a reason; the write's own audit event records it. */
  function bypass(write: { meta: Pick<RequestMeta, 'reason'>; subject: Subject }, policy: ChangePolicy): GateOutcome {
    requireBypassRight({ subject: write.subject, reason: write.meta.reason }, [policy.environment], 'the change becomes a request');
    return { kind: 'bypass', auditMetadata: { changePolicyBypass: true, requiredApprovals: policy.required_approvals } };
  }

  async function created(id: string, policy: ChangePolicy, message?: string, fresh = true): Promise<GateOutcome> {
    const request = present(await requireRequest(id));
    if (fresh) notify('pending', request);
    const n = policy.required_approvals;
    return {
      kind: 'request',
      created: {
        change_request: request,
        message: message ?? `'${policy.environment}' requires ${n} approval${s(n)} from ${describeApprovers(policy)}: the change was not applied; it waits as change request ${id}`,
      },
    };
  }

  /** Starts the apply workflow (the outbox entry written with the approval backs it up when Temporal is down). */
  async function startApply(start: WorkflowStartRequest) {
    try {
      await deps.starter.start(start);
      await markOutboxProcessed(db, start.workflowId);
    } catch (err) {
      logger.warn({ err, workflowId: start.workflowId }, 'Temporal unreachable: the approved change waits in the outbox');
    }
  }

  return {
    /** Who hears of requests (the Slack app, made after this service, sets itself here). */
    useNotifier(next: ChangeRequestNotifier) {
      notifier = next;
    },

    async getPolicy(environment: string): Promise<ChangePolicy> {
      await requireEnvironment(environment);
      return findPolicy(db, environment);
    },

    /** Sets an environment's policy (admins; the route checks); one audit event with the old and new policy. */
    async setPolicy(environment: string, input: PolicyInput, meta: RequestMeta): Promise<ChangePolicy> {
      await requireEnvironment(environment);
      for (const [i, id] of input.approverUserIds.entries()) {
        const user = uuidPattern.test(id) ? await findUser(db, id) : null;
        if (!user || user.deactivatedAt) throw new ValidationError('Unknown approver', [{ path: `body.approver_user_ids.${i}`, message: `no active user '${id}'` }]);
      }
      return withTransaction(db, async (tx) => {
        const before = await findPolicy(tx, environment);
        await savePolicy(tx, environment, input, meta.actor.id);
        const after = await findPolicy(tx, environment);
        await appendAuditEvent(tx, {
          userId: meta.actor.id, action: 'change_policy.updated', resourceType: 'environment', resourceId: environment, environment,
          oldValue: before, newValue: after, reason: meta.reason ?? null, ipAddress: meta.ipAddress ?? null, userAgent: meta.userAgent ?? null,
          metadata: { actorName: meta.actor.name },
        });
        return after;
      });
    },

    /**
     * Called by a covered write's command before it writes: with the policy off it changes nothing;
     * with it on the change becomes a pending request (validated exactly as the write would be)
     * unless bypassed.
     */
    async gateConfigWrite(write: CoveredWrite): Promise<GateOutcome> {
      const policy = await findPolicy(db, write.environment);
      if (policy.required_approvals === 0 || !policy.covers.includes(write.covers)) return NONE;
      if (write.bypass) return bypass(write, policy);
      const id = await withTransaction(db, async (tx) => {
        const locked = await lockFlagConfig(tx, write.flagKey, write.environment);
        if (!locked) throw await unknownFlag(tx, write.flagKey);
        const { flag, config: current } = locked;
        if (flag.archivedAt) throw new ConflictError(`Flag '${flag.key}' is archived; unarchive it first`);
        if (write.expectedVersion !== undefined && write.expectedVersion !== current.version) {
          throw new PreconditionFailedError(`Version ${write.expectedVersion} of flag '${flag.key}' in '${write.environment}' is stale; the current version is ${current.version}`, { current_version: current.version });
        }
        const proposed: FlagConfig = { ...(await write.proposed(tx, flag, current)), kill_switch: current.config.kill_switch };
        await requireKnownSegments(tx, proposed, 'body');
        const requestId = await insertChangeRequest(tx, {
          kind: 'config', source: write.source, flagKey: flag.key, environment: write.environment,
          author: { id: write.meta.actor.id, name: write.meta.actor.name }, reason: write.meta.reason ?? null,
          baseVersion: current.version, baseConfig: current.config, proposed,
          diff: configDiff(current.config as Record<string, unknown>, proposed as Record<string, unknown>),
          applyAt: write.applyAt ?? null, requiredApprovals: policy.required_approvals,
        });
        await appendAuditEvent(tx, {
          userId: write.meta.actor.id, action: 'change_request.created', resourceType: 'change_request', resourceId: flag.key,
          environment: write.environment, oldValue: current.config, newValue: proposed, reason: write.meta.reason ?? null,
          ipAddress: write.meta.ipAddress ?? null, userAgent: write.meta.userAgent ?? null,
          metadata: { actorName: write.meta.actor.name, changeRequestId: requestId, baseVersion: current.version, source: write.source, applyAt: write.applyAt ?? null },
        });
        return requestId;
      });
      return created(id, policy);
    },

    /**
     * Called by a segment edit (update, members, delete) before it writes: a request when a policy of an
     * environment targeting the segment covers segments (change-request-segments.ts), else nothing.
     */
    async gateSegmentWrite(write: CoveredSegmentWrite): Promise<GateOutcome> {
      const gated = await withTransaction(db, (tx) => requestSegmentChange(tx, write));
      if (!gated) return NONE;
      if (gated.requestId === null) return bypass(write, strictestOf(gated.policies));
      return created(gated.requestId, strictestOf(gated.policies), segmentRequestMessage(write.segmentKey, gated.policies, gated.requestId, describeApprovers));
    },

    /** Releasing a kill switch, when the policy says restores need approval. Killing is never gated. */
    async gateRestore(write: { flagKey: string; environment: string; meta: Pick<RequestMeta, 'actor' | 'reason' | 'ipAddress' | 'userAgent'>; bypass: boolean; subject: Subject }): Promise<GateOutcome> {
      const policy = await findPolicy(db, write.environment);
      if (policy.required_approvals === 0 || !policy.restore_requires_approval) return NONE;
      if (write.bypass) return bypass(write, policy);
      const id = await withTransaction(db, async (tx) => {
        const locked = await lockFlagConfig(tx, write.flagKey, write.environment);
        // Unknown flags, and flags that are not killed, go on to the release itself (404, or "not active").
        if (!locked || locked.flag.archivedAt || !locked.config.config.kill_switch.enabled) return null;
        const { flag, config: current } = locked;
        // Asked again by the same author (a redelivered Slack press, a trigger's repeated resolve): the same request.
        const open = await findOpenRestoreRequest(tx, flag.key, write.environment, write.meta.actor.id, current.version);
        if (open) return { id: open, fresh: false };
        const requestId = await insertChangeRequest(tx, {
          kind: 'restore', source: 'restore', flagKey: flag.key, environment: write.environment,
          author: { id: write.meta.actor.id, name: write.meta.actor.name }, reason: write.meta.reason ?? null,
          baseVersion: current.version, baseConfig: current.config, proposed: null,
          diff: [{ field: 'kill_switch', before: current.config.kill_switch, after: { enabled: false } }],
          applyAt: null, requiredApprovals: policy.required_approvals,
        });
        await appendAuditEvent(tx, {
          userId: write.meta.actor.id, action: 'change_request.created', resourceType: 'change_request', resourceId: flag.key,
          environment: write.environment, oldValue: current.config.kill_switch, newValue: { enabled: false }, reason: write.meta.reason ?? null,
          ipAddress: write.meta.ipAddress ?? null, userAgent: write.meta.userAgent ?? null,
          metadata: { actorName: write.meta.actor.name, changeRequestId: requestId, baseVersion: current.version, source: 'restore' },
        });
        return { id: requestId, fresh: true };
      });
      return id === null ? NONE : created(id.id, policy, undefined, id.fresh);
    },

    /** Starting a rollout, when the policy covers rollouts (change-request-rollouts.ts). Steering one never is. */
    async gateRolloutStart(write: RolloutStartWrite): Promise<GateOutcome> {
      const policy = await findPolicy(db, write.environment);
      if (policy.required_approvals === 0 || !policy.covers.includes('rollouts')) return NONE;
      if (write.bypass) return bypass(write, policy);
      return created(await withTransaction(db, (tx) => insertRolloutRequest(tx, write, policy)), policy);
    },

    async list(filter: { environment?: string; flag?: string; segment?: string; status?: ChangeRequestStatus; limit: number }) {
      return { change_requests: (await listChangeRequests(db, filter)).map(present) };
    },

    async get(id: string): Promise<ChangeRequest> {
      return present(await requireRequest(id));
    },

    /** Starts an approved request's apply workflow (the outbox entry written with the last approval backs it up). */
    startApply,

    /** Stops a withdrawn request's workflow waiting for its time (it would apply nothing, but need not wait). */
    async cancelApply(workflowId: string): Promise<void> {
      if (!deps.temporal) return;
      await deps.temporal.workflow.getHandle(workflowId).cancel().catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError)) logger.warn({ err, workflowId }, 'could not cancel a withdrawn request’s workflow');
      });
    },

    /** The request as the API shows it once decided (change-request-commands.ts), its Slack message updated. */
    async announceDecision(id: string): Promise<ChangeRequest> {
      const after = present(await requireRequest(id));
      notify('decided', after);
      return after;
    },
  };
}

export type ChangeRequestService = ReturnType<typeof createChangeRequestService>;
