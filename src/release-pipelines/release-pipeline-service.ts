import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Actor } from '../auth/principal.js';
import type { Subject } from '../auth/rbac.js';
import {
  isFinishedPipeline, phaseApprovalCounts, phaseChanges, type NewTemplate, type Phase, type PhaseProgress, type PipelineInput, type PipelineProgress,
  type PolicyGate, type TemplateBody,
} from '../domain/release-pipeline.js';
import type { ChangePolicy } from '../change-requests/change-request-schemas.js';
import { findPolicy } from '../change-requests/change-request-store.js';
import { mayApprove } from '../change-requests/approvers.js';
import { isFinishedRollout } from '../domain/rollout-status.js';
import { ConflictError, ForbiddenError, NotFoundError, PreconditionFailedError, ValidationError } from '../errors.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { withTransaction, type Queryable } from '../connections/database.js';
import { findConfig, findFlag, listEnvironments, type FlagRecord } from '../flags/flag-store.js';
import { resolveVariants } from '../domain/variants.js';
import { existingSegmentKeys } from '../segments/segment-store.js';
import {
  deleteTemplate, findPipeline, findTemplate, insertPipeline, insertTemplate, listPipelines, listTemplates, listUnfinishedPipelines, replaceTemplate,
  type PipelineRecordRow, type TemplateRecord,
} from './release-pipeline-store.js';
import { listRollouts } from '../rollouts/rollout-store.js';
import { guardReadingView } from '../rollouts/rollout-views.js';
import type { Pipeline } from '../protocol/admin-api.js';
import { pipelineWorkflowId, workflowUrl } from '../temporal/workflow-ids.js';
import { ACTOR, FLAG_KEY, RELEASE_PIPELINE } from '../temporal/search-attributes.js';
import {
  abortPipelineUpdate, approvePhaseUpdate, pausePipelineUpdate, pipelineProgressQuery, resumePipelineUpdate,
  type PipelineAction,
} from '../../workflows/release-pipeline-messages.js';
import { releasePipeline } from '../../workflows/release-pipeline.js';
import type { UpdateAudit } from '../../workflows/rollout-messages.js';
import type { RequestOrigin } from '../auth/request-meta.js';
import { callTemporal, type WorkflowServiceDeps } from '../temporal/temporal-calls.js';
import { requireFlagIn } from '../flags/live-flag.js';
import { unknownFlag } from '../flags/unknown-flag.js';

export type { PipelineAction } from '../../workflows/release-pipeline-messages.js';

/** How a start meets the environments' change policies: bypassed (the pipeline commands decided the caller may), with the caller's reason. */
export interface StartOptions {
  bypass?: boolean;
  reason?: string | null;
}

/** A policy gate as the change-request service's eligibility rule (mayApprove) reads a policy. */
const policyOfGate = (gate: PolicyGate): ChangePolicy => ({
  environment: gate.environment, required_approvals: gate.requiredApprovals, approver_role: gate.approverRole, approver_user_ids: gate.approverUserIds,
  covers: gate.covers, restore_requires_approval: false, updated_by: null, updated_at: null,
});

/** A template as the API shows it. */
export function templateView(t: TemplateRecord) {
  return {
    name: t.name, description: t.description, phases: t.phases, version: t.version,
    created_by: t.createdBy, updated_by: t.updatedBy, created_at: t.createdAt, updated_at: t.updatedAt,
  };
}

/** Release templates (CRUD, audited) and the pipelines that apply them to flags (one releasePipeline workflow each). */
export function createReleasePipelineService(deps: WorkflowServiceDeps) {
  const { db, temporal } = deps;
  const call = <T>(fn: () => Promise<T>) => callTemporal(temporal, 'release pipelines can’t be started or steered', fn);
  const url = (workflowId: string | null) => (workflowId ? workflowUrl(deps.temporalUiUrl, deps.namespace, workflowId) : null);

  type AuditDetails = { reason?: string | null; oldValue?: unknown; newValue?: unknown; metadata?: Record<string, unknown> };
  /** One audit event, in the transaction of the write it records when given one. */
  const auditIn = (q: Queryable, action: string, resourceType: string, resourceId: string, actor: Actor, origin: RequestOrigin, details: AuditDetails) =>
    appendAuditEvent(q, {
      userId: actor.id, action, resourceType, resourceId, reason: details.reason ?? null, oldValue: details.oldValue, newValue: details.newValue,
      ipAddress: origin.ipAddress ?? null, userAgent: origin.userAgent ?? null, metadata: { actorName: actor.name, ...details.metadata },
    });
  const audit = (action: string, resourceType: string, resourceId: string, actor: Actor, origin: RequestOrigin, details: AuditDetails) =>
    auditIn(db, action, resourceType, resourceId, actor, origin, details);

  /** The template, locked until the transaction ends: 404 when there is none, 412 when the caller read another version. */
  async function lockedTemplate(tx: Queryable, name: string, expectedVersion: number | undefined): Promise<TemplateRecord> {
    const template = await findTemplate(tx, name, true);
    if (!template) throw new NotFoundError(`Release template '${name}' does not exist`);
    if (expectedVersion !== undefined && expectedVersion !== template.version) {
      throw new PreconditionFailedError(`Version ${expectedVersion} of release template '${name}' is stale; the current version is ${template.version}`, { current_version: template.version });
    }
    return template;
  }

  /** Every phase's environment must exist: a 400 names the field of the first one that does not. */
  async function requireEnvironments(phases: Phase[]) {
    const known = new Set((await listEnvironments(db)).map((e) => e.key));
    const unknown = phases.flatMap((phase, i) => (known.has(phase.environment) ? [] : [{
      path: `body.phases.${i}.environment`, message: `environment '${phase.environment}' does not exist (known: ${[...known].join(', ')})`,
    }]));
    if (unknown.length) throw new ValidationError('Invalid request body', unknown);
    await requireSegments(phases, 'body.phases');
  }

  /** Every audience's segments must exist: a 400 names each missing one (`<at>.N.audience.segments.M`). */
  async function requireSegments(phases: Phase[], at: string) {
    const existing = await existingSegmentKeys(db, phases.flatMap((p) => p.audience?.segments ?? []));
    const missing = phases.flatMap((phase, i) => (phase.audience?.segments ?? []).flatMap((key, m) => (existing.has(key) ? [] : [{
      path: `${at}.${i}.audience.segments.${m}`, message: `segment '${key}' does not exist`,
    }])));
    if (missing.length) throw new ValidationError(at.startsWith('body') ? 'Invalid request body' : 'The template no longer fits: an audience names a missing segment', missing);
  }

  /** An audience's variant must be declared in its environment's config of the flag: a 400 names `template.phases.N.audience.variant`. */
  async function requireAudienceVariants(flag: FlagRecord, phases: Phase[]) {
    const problems = [];
    for (const [i, phase] of phases.entries()) {
      const variant = phase.audience?.variant;
      if (!variant) continue;
      const config = await findConfig(db, flag.id, phase.environment);
      if (config && !resolveVariants(config.config).variants.has(variant)) {
        problems.push({ path: `template.phases.${i}.audience.variant`, message: `variant '${variant}' is not declared by the config of '${flag.key}' in '${phase.environment}'` });
      }
    }
    if (problems.length) throw new ValidationError('The template’s audience serves a variant the flag does not declare', problems);
  }

  /**
   * Each phase's policy gate: its environment's change policy when it is on and covers what the phase
   * does (`rollouts` for a plan, `configs` for an audience), snapshot now (ADR 0006 "Under change policies").
   */
  async function policyGatesOf(phases: Phase[]): Promise<Array<PolicyGate | null>> {
    const gates: Array<PolicyGate | null> = [];
    for (const phase of phases) {
      const policy = await findPolicy(db, phase.environment);
      const covers = phaseChanges(phase).filter((change) => policy.covers.includes(change));
      gates.push(policy.required_approvals > 0 && covers.length > 0 ? {
        environment: phase.environment, requiredApprovals: policy.required_approvals,
        approverUserIds: policy.approver_user_ids, approverRole: policy.approver_role, covers,
      } : null);
    }
    return gates;
  }

  async function requireTemplate(name: string): Promise<TemplateRecord> {
    const template = await findTemplate(db, name);
    if (!template) throw new NotFoundError(`Release template '${name}' does not exist`);
    return template;
  }

  /** A pipeline with its timeline: live from the workflow while it runs (when Temporal answers), else the read model. */
  async function withTimeline(row: PipelineRecordRow) {
    let progress = row.progress;
    if (!isFinishedPipeline(row.status)) {
      progress = (await call(() => temporal.workflow.getHandle(row.workflowId).query(pipelineProgressQuery)).catch(() => null)) ?? progress;
    }
    return pipelineView(row, progress);
  }

  /** One phase as /api/v1 answers it (the workflow's progress keeps its camelCase: it is in Temporal histories). */
  function phaseView(p: PhaseProgress): Pipeline['phases'][number] {
    return {
      name: p.name, environment: p.environment, status: p.status, summary: p.summary, approval: p.approval,
      ...(p.audience !== undefined ? { audience: p.audience } : {}),
      ...(p.audienceAt !== undefined ? { audience_at: p.audienceAt } : {}),
      ...(p.policy !== undefined ? {
        policy: p.policy && {
          environment: p.policy.environment, required_approvals: p.policy.requiredApprovals,
          approver_user_ids: p.policy.approverUserIds, approver_role: p.policy.approverRole, covers: p.policy.covers,
        },
      } : {}),
      approvals: p.approvals, soak_ms: p.soakMs, started_at: p.startedAt, finished_at: p.finishedAt, soak_until: p.soakUntil,
      rollout_id: p.rolloutId, workflow_id: p.workflowId, url: url(p.workflowId), breach: p.breach && guardReadingView(p.breach),
    };
  }

  function pipelineView(row: PipelineRecordRow, progress: PipelineProgress | null): Pipeline {
    return {
      id: row.id, flag: row.flagKey, template: row.template, status: progress?.status ?? row.status, workflow_id: row.workflowId,
      url: url(row.workflowId)!, started_by: row.createdBy, created_at: row.createdAt, updated_at: row.updatedAt, finished_at: row.finishedAt,
      phase: progress?.phase ?? 0, paused_reason: progress?.pausedReason ?? null, reason: progress?.reason ?? null,
      phases: (progress?.phases ?? []).map(phaseView),
    };
  }

  return {
    /** The environments a template's phases release to (for RBAC before a start). */
    async environmentsOf(name: string): Promise<string[]> {
      return [...new Set((await requireTemplate(name)).phases.map((p) => p.environment))];
    },

    async listTemplates() {
      return { templates: (await listTemplates(db)).map(templateView) };
    },

    async getTemplate(name: string) {
      return templateView(await requireTemplate(name));
    },

    async createTemplate(body: NewTemplate, actor: Actor, origin: RequestOrigin = {}) {
      await requireEnvironments(body.phases);
      const created = await withTransaction(db, async (tx) => {
        const row = await insertTemplate(tx, randomUUID(), body, actor.id);
        if (!row) throw new ConflictError(`A release template named '${body.name}' already exists`);
        await auditIn(tx, 'release_template.created', 'release_template', body.name, actor, origin, { newValue: body });
        return row;
      });
      return templateView(created);
    },

    /** Replaces a template's description and phases; 412 when `expectedVersion` is given and stale. */
    async replaceTemplate(name: string, body: TemplateBody, actor: Actor, origin: RequestOrigin = {}, expectedVersion?: number) {
      await requireEnvironments(body.phases);
      const updated = await withTransaction(db, async (tx) => {
        const old = await lockedTemplate(tx, name, expectedVersion);
        const row = await replaceTemplate(tx, name, body, actor.id);
        if (!row) throw new NotFoundError(`Release template '${name}' does not exist`);
        await auditIn(tx, 'release_template.updated', 'release_template', name, actor, origin, {
          oldValue: { description: old.description, phases: old.phases }, newValue: body, metadata: { version: row.version },
        });
        return row;
      });
      return templateView(updated);
    },

    /** Deletes a template (412 when `expectedVersion` is given and stale); pipelines already started from it keep their own copy of its phases. */
    async deleteTemplate(name: string, actor: Actor, origin: RequestOrigin = {}, expectedVersion?: number) {
      await withTransaction(db, async (tx) => {
        await lockedTemplate(tx, name, expectedVersion);
        const removed = await deleteTemplate(tx, name);
        if (!removed) throw new NotFoundError(`Release template '${name}' does not exist`);
        await auditIn(tx, 'release_template.deleted', 'release_template', name, actor, origin, { oldValue: { description: removed.description, phases: removed.phases } });
      });
    },

    /**
     * Applies a template to a flag: one releasePipeline workflow (pipeline:<flag>). 409 when the flag
     * already has a running pipeline, or a rollout running in one of the template's environments.
     */
    async start(flagKey: string, templateName: string, actor: Actor, origin: RequestOrigin = {}, options: StartOptions = {}) {
      const template = await requireTemplate(templateName);
      let flag: FlagRecord | undefined;
      for (const phase of template.phases) {
        flag = await requireFlagIn(db, flagKey, phase.environment);
        const running = (await listRollouts(db, flagKey, phase.environment, 1)).find((r) => !isFinishedRollout(r.status));
        if (running) {
          throw new ConflictError(`A rollout of '${flagKey}' is already running in '${phase.environment}': finish or abort it first`, {
            workflowId: running.workflowId, url: url(running.workflowId),
          });
        }
      }
      await requireSegments(template.phases, 'template.phases');
      await requireAudienceVariants(flag!, template.phases);
      const gates = await policyGatesOf(template.phases);
      const gated = gates.flatMap((gate, i) => (gate ? [{ phase: i + 1, environment: gate.environment, requiredApprovals: gate.requiredApprovals }] : []));
      const bypassed = gated.length > 0 && options.bypass === true;
      const workflowId = pipelineWorkflowId(flagKey);
      const pipelineId = randomUUID();
      const input: PipelineInput = {
        pipelineId, flagKey, template: template.name, phases: template.phases, actor: { id: actor.id, name: actor.name },
        ...(gated.length > 0 && !bypassed ? { policyGates: gates } : {}),
      };
      try {
        await call(() => temporal.workflow.start(releasePipeline, {
          taskQueue: deps.taskQueue, workflowId, args: [input],
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          typedSearchAttributes: new TypedSearchAttributes([
            { key: FLAG_KEY, value: flagKey }, { key: ACTOR, value: actor.id }, { key: RELEASE_PIPELINE, value: workflowId },
          ]),
          memo: { template: template.name, phases: template.phases.map((p) => p.name ?? p.environment).join(' → '), startedBy: actor.name },
        }));
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) {
          throw new ConflictError(`A release pipeline of '${flagKey}' is already running: ${workflowId}`, { workflowId, url: url(workflowId) });
        }
        throw error;
      }
      // The read model has the pipeline before the answer does, whether or not its workflow has recorded itself yet.
      await insertPipeline(db, { pipelineId, flagKey, template: template.name, workflowId, actor: actor.id });
      await audit('pipeline.started', 'release_pipeline', flagKey, actor, origin, {
        reason: options.reason ?? null,
        newValue: { template: template.name, version: template.version, phases: template.phases },
        metadata: {
          pipelineId, workflowId,
          ...(bypassed ? { changePolicyBypass: true, bypassedPolicies: gated } : gated.length > 0 ? { policyGates: gated } : {}),
        },
      });
      return { id: pipelineId, workflow_id: workflowId, url: url(workflowId)!, template: template.name };
    },

    async list(flagKey: string) {
      await requireFlagExists(flagKey);
      return { pipelines: await Promise.all((await listPipelines(db, flagKey)).map(withTimeline)) };
    },

    /** Every pipeline not finished, across flags, as its workflow last recorded it (the read model: no Temporal call). */
    async unfinished() {
      return { pipelines: (await listUnfinishedPipelines(db)).map((row) => pipelineView(row, row.progress)) };
    },

    async get(flagKey: string, id: string) {
      await requireFlagExists(flagKey);
      const row = await findPipeline(db, flagKey, id);
      if (!row) throw new NotFoundError(`Release pipeline '${id}' of '${flagKey}' does not exist`);
      return withTimeline(row);
    },

    /** The environments whose change policies cover a phase of the template now (a start waits for their approvals there unless bypassed). */
    async gatedEnvironments(templateName: string): Promise<string[]> {
      const gates = await policyGatesOf((await requireTemplate(templateName)).phases);
      return [...new Set(gates.flatMap((gate) => (gate ? [gate.environment] : [])))];
    },

    /** The environments of the flag's running pipeline, from the workflow itself (for RBAC before steering); 404 when none runs. */
    async runningEnvironments(flagKey: string): Promise<string[]> {
      await requireFlagExists(flagKey);
      let progress: PipelineProgress;
      try {
        progress = await call(() => temporal.workflow.getHandle(pipelineWorkflowId(flagKey)).query(pipelineProgressQuery));
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw new NotFoundError(`No release pipeline of '${flagKey}' is running`);
        throw error;
      }
      if (isFinishedPipeline(progress.status)) throw new NotFoundError(`No release pipeline of '${flagKey}' is running (the last one ${progress.status})`);
      return [...new Set(progress.phases.map((p) => p.environment))];
    },

    /**
     * Sends an update to the running pipeline; its validator's refusal (wrong approver, nothing waiting)
     * becomes a 409. The update names its sender, and the workflow writes its one audit event when it
     * applies it (workflows/release-pipeline.ts), so an update applied after this call gave up waiting is audited all the same.
     */
    async steer(
      flagKey: string, action: PipelineAction, args: { reason?: string; rollback?: boolean }, actor: Actor, origin: RequestOrigin = {}, subject?: Subject,
    ) {
      const workflowId = pipelineWorkflowId(flagKey);
      const handle = temporal.workflow.getHandle(workflowId);
      const audit: UpdateAudit = { actor: { id: actor.id, name: actor.name }, ipAddress: origin.ipAddress ?? null, userAgent: origin.userAgent ?? null, reason: args.reason ?? null };
      // The update's id is the audit event's idempotency key, with the workflow's id.
      const updateId = randomUUID();
      let progress: PipelineProgress;
      let policyEligible = false;
      try {
        if (action === 'approve') {
          // Who may approve is checked here too, so a wrong approver is a 403 (the workflow's validator is the last word).
          const current = await call(() => handle.query(pipelineProgressQuery));
          const phase = current.phases[current.phase];
          if (phase?.status === 'waiting_approval' && !isFinishedPipeline(current.status)) {
            // The policy gate's approvers: the change-request service's own rule, against the policy as it was at start.
            if (phase.policy && subject) policyEligible = mayApprove(policyOfGate(phase.policy), { actor, subject }, (await findFlag(db, flagKey))?.tags);
            const outcome = phaseApprovalCounts(phase, actor, current.startedBy.id, policyEligible);
            if ('refusal' in outcome) throw new ForbiddenError(outcome.refusal);
          }
        }
        progress = await call(() => {
          switch (action) {
            case 'pause':
              return handle.executeUpdate(pausePipelineUpdate, { updateId, args: [{ reason: args.reason ?? `paused by ${actor.name}`, audit }] });
            case 'resume':
              return handle.executeUpdate(resumePipelineUpdate, { updateId, args: [{ audit }] });
            case 'abort':
              return handle.executeUpdate(abortPipelineUpdate, { updateId, args: [{ rollback: args.rollback ?? false, reason: args.reason ?? `aborted by ${actor.name}`, audit }] });
            case 'approve':
              return handle.executeUpdate(approvePhaseUpdate, { updateId, args: [{ by: { id: actor.id, name: actor.name, role: actor.role }, policyEligible, audit }] });
          }
        });
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw new NotFoundError(`No release pipeline of '${flagKey}' is running`);
        if (error instanceof WorkflowUpdateFailedError) {
          throw new ConflictError(`Can't ${action} the pipeline: ${(error.cause as Error | undefined)?.message ?? error.message}`);
        }
        throw error;
      }
      const row = await findPipeline(db, flagKey, progress.pipelineId);
      if (!row) throw new NotFoundError(`Release pipeline '${progress.pipelineId}' of '${flagKey}' is not recorded yet`);
      return pipelineView(row, progress);
    },
  };

  async function requireFlagExists(flagKey: string) {
    const flag = await findFlag(db, flagKey);
    if (!flag || flag.archivedAt) throw await unknownFlag(db, flagKey);
  }
}

export type ReleasePipelineService = ReturnType<typeof createReleasePipelineService>;
