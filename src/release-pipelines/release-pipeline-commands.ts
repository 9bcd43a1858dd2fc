import { requireUserCaller, type Caller } from '../auth/caller.js';
import { requireBypassRight } from '../change-requests/change-policy-bypass.js';
import type { Database } from '../connections/database.js';
import { requireFlagAccess } from '../flags/flag-access.js';
import type { PipelineAction, ReleasePipelineService } from './release-pipeline-service.js';

/**
 * Starting and steering a flag's release pipeline, as every entry point asks for it (the HTTP routes,
 * so the admin UI). Each command decides in one place the caller's rights: a user (client and server
 * tokens never start or steer), with flag:write in every environment of the template (or of the
 * running pipeline); approving a waiting phase is the pipeline's own rule (the gate's role, the
 * policy's approvers, never the starter). A start whose phases the environments' change policies
 * cover waits for their approvals at those phases unless the caller bypasses them with the right and a
 * reason (the rule every covered write shares); the start's audit event records the bypass.
 */
export function createReleasePipelineCommands(deps: { db: Database; pipelines: ReleasePipelineService }) {
  const origin = (caller: Caller) => ({ ipAddress: caller.ipAddress ?? null, userAgent: caller.userAgent ?? null });

  return {
    /** Applies a template to the flag (409 naming a running pipeline or rollout). */
    async start(caller: Caller, command: { flagKey: string; template: string }) {
      requireUserCaller(caller);
      for (const environment of await deps.pipelines.environmentsOf(command.template)) {
        await requireFlagAccess(deps.db, caller, command.flagKey, environment, 'write');
      }
      // Decided against the policies as they are now; a policy covering a phase only later makes that phase wait.
      const gated = caller.bypass ? await deps.pipelines.gatedEnvironments(command.template) : [];
      if (gated.length > 0) requireBypassRight(caller, gated, 'the pipeline waits for their approvals at those phases');
      return deps.pipelines.start(command.flagKey, command.template, caller.actor, origin(caller), { bypass: gated.length > 0, reason: caller.reason ?? null });
    },

    /** Pauses, resumes, aborts the running pipeline, or approves its waiting phase. */
    async steer(caller: Caller, command: { flagKey: string; action: PipelineAction; args: { reason?: string; rollback?: boolean } }) {
      requireUserCaller(caller);
      if (command.action !== 'approve') {
        for (const environment of await deps.pipelines.runningEnvironments(command.flagKey)) {
          await requireFlagAccess(deps.db, caller, command.flagKey, environment, 'write');
        }
      }
      return deps.pipelines.steer(command.flagKey, command.action, command.args, caller.actor, origin(caller), caller.subject);
    },
  };
}

export type ReleasePipelineCommands = ReturnType<typeof createReleasePipelineCommands>;
