import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { z } from 'zod';
import { nonBlankText } from '../domain/text.js';
import type { Actor } from '../auth/principal.js';
import { flagConfigInputSchemaFor } from '../domain/flag.js';
import { ConflictError, fieldIssues, NotFoundError, ValidationError } from '../errors.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { parseConfigInput, requireKnownSegments } from '../flags/config-validation.js';
import type { RequestOrigin } from '../auth/request-meta.js';
import { ACTOR, ENVIRONMENT, FLAG_KEY } from '../temporal/search-attributes.js';
import { scheduledChangeWorkflowId, workflowUrl } from '../temporal/workflow-ids.js';
import type { ScheduledChangeInput } from './scheduled-change.js';
import { scheduledChange } from '../../workflows/scheduled-change.js';
import { callTemporal, type WorkflowServiceDeps } from '../temporal/temporal-calls.js';
import { requireFlagIn } from '../flags/live-flag.js';

/** The body that schedules a change; `config` is then checked against the flag's type as PUT checks it. */
export const scheduleBodySchema = z.strictObject({
  at: z.iso.datetime({ offset: true }).meta({ description: 'when to apply, in the future (ISO 8601 with offset)' }),
  config: flagConfigInputSchemaFor('json').meta({ description: 'the whole config, as PUT /api/v1/flags/{key}/environments/{env} takes it' }),
  reason: nonBlankText(500).optional(),
});

/** Schedules, lists and cancels config changes that apply at a set time (scheduledChange workflows). */
export function createScheduledChangeService(deps: WorkflowServiceDeps) {
  const { temporal } = deps;
  const withTemporal = <T>(fn: () => Promise<T>) => callTemporal(temporal, 'scheduled changes can’t be managed', fn);
  const requireFlag = (flagKey: string, environment: string) => requireFlagIn(deps.db, flagKey, environment);

  return {
    /** Validates the config now and starts a workflow that applies it at `at`. */
    async schedule(flagKey: string, environment: string, body: unknown, actor: Actor, origin: RequestOrigin & { auditMetadata?: Record<string, unknown> } = {}) {
      const flag = await requireFlag(flagKey, environment);
      const parsed = scheduleBodySchema.safeParse(body);
      if (!parsed.success) throw new ValidationError('Invalid scheduled change', fieldIssues(parsed.error.issues).map((i) => ({ ...i, path: `body.${i.path}` })));
      if (Date.parse(parsed.data.at) <= Date.now()) {
        throw new ValidationError('Invalid scheduled change', [{ path: 'body.at', message: 'must be in the future' }]);
      }
      // Exactly PUT's checks: the flag's type, then targeting names existing segments.
      const config = parseConfigInput(flag.type, parsed.data.config, 'body.config');
      await requireKnownSegments(deps.db, config, 'body.config');
      const changeId = randomUUID();
      const workflowId = scheduledChangeWorkflowId(environment, flagKey, changeId);
      const input: ScheduledChangeInput = {
        changeId, flagKey, environment, at: parsed.data.at, config,
        actor: { id: actor.id, name: actor.name }, reason: parsed.data.reason ?? `scheduled by ${actor.name}`,
      };
      await withTemporal(() =>
        temporal.workflow.start(scheduledChange, {
          taskQueue: deps.taskQueue,
          workflowId,
          args: [input],
          typedSearchAttributes: new TypedSearchAttributes([
            { key: FLAG_KEY, value: flagKey }, { key: ENVIRONMENT, value: environment }, { key: ACTOR, value: actor.id },
          ]),
          memo: { at: input.at, reason: input.reason, actorName: actor.name },
        }),
      );
      await appendAuditEvent(deps.db, {
        userId: actor.id, action: 'scheduled_change.created', resourceType: 'scheduled_change', resourceId: flagKey, environment,
        newValue: config, reason: input.reason, ipAddress: origin.ipAddress ?? null, userAgent: origin.userAgent ?? null,
        metadata: { actorName: actor.name, changeId, workflowId, scheduledFor: input.at, ...origin.auditMetadata },
      });
      return { id: changeId, workflow_id: workflowId, at: input.at, url: workflowUrl(deps.temporalUiUrl, deps.namespace, workflowId) };
    },

    /** The flag's scheduled changes in this environment, newest first, with their state in Temporal. */
    async list(flagKey: string, environment: string) {
      await requireFlag(flagKey, environment);
      // Keys are validated ([A-Za-z0-9._-]), so they are safe inside the visibility query's quotes.
      const query = `WorkflowType="${scheduledChange.name}" AND FlagKey="${flagKey}" AND Environment="${environment}"`;
      return withTemporal(async () => {
        const changes = [];
        for await (const execution of temporal.workflow.list({ query, pageSize: 100 })) {
          const memo = (execution.memo ?? {}) as { at?: string; reason?: string; actorName?: string };
          changes.push({
            id: execution.workflowId.split(':').pop()!,
            workflow_id: execution.workflowId,
            status: execution.status.name,
            at: memo.at ?? null,
            reason: memo.reason ?? null,
            scheduled_by: memo.actorName ?? null,
            url: workflowUrl(deps.temporalUiUrl, deps.namespace, execution.workflowId),
          });
          if (changes.length >= 100) break;
        }
        return { changes };
      });
    },

    /** Cancels a pending change (one audit event naming who); 409 when it already ran or was cancelled. */
    async cancel(flagKey: string, environment: string, changeId: string, actor: Actor, origin: RequestOrigin = {}) {
      await requireFlag(flagKey, environment);
      const handle = temporal.workflow.getHandle(scheduledChangeWorkflowId(environment, flagKey, changeId));
      try {
        const description = await withTemporal(() => handle.describe());
        if (description.status.name !== 'RUNNING') {
          throw new ConflictError(`The scheduled change is already ${description.status.name.toLowerCase()}`);
        }
        await withTemporal(() => handle.cancel());
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw new NotFoundError(`No scheduled change '${changeId}' for '${flagKey}' in '${environment}'`);
        throw error;
      }
      await appendAuditEvent(deps.db, {
        userId: actor.id, action: 'scheduled_change.cancelled', resourceType: 'scheduled_change', resourceId: flagKey, environment,
        ipAddress: origin.ipAddress ?? null, userAgent: origin.userAgent ?? null,
        metadata: { actorName: actor.name, changeId, workflowId: handle.workflowId },
      });
      return { id: changeId, status: 'CANCELLED' };
    },
  };
}

export type ScheduledChangeService = ReturnType<typeof createScheduledChangeService>;
