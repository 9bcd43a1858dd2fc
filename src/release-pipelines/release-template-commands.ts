import { requireRole, type Caller } from '../auth/caller.js';
import type { Role } from '../auth/rbac.js';
import type { NewTemplate, TemplateBody } from '../domain/release-pipeline.js';
import type { ReleasePipelineService } from './release-pipeline-service.js';

/** Who may change release templates: a template is the plan every pipeline started from it follows. */
const TEMPLATE_EDITORS: readonly Role[] = ['editor', 'admin'];

/**
 * Release templates (create, replace, delete), as every entry point asks for them (the HTTP routes, so
 * the admin UI). Each command decides in one place that the caller is a user with the editor or admin
 * role (client and server tokens never are); the pipeline service then checks the phases' environments
 * and the version the caller read (If-Match), writes, and records the one audit event naming the caller in the same transaction. Running pipelines
 * keep the phases they started with. Who may apply a template to a flag is the pipeline commands' rule.
 */
export function createReleaseTemplateCommands(deps: { pipelines: ReleasePipelineService }) {
  const origin = (caller: Caller) => ({ ipAddress: caller.ipAddress ?? null, userAgent: caller.userAgent ?? null });

  return {
    async create(caller: Caller, template: NewTemplate) {
      requireRole(caller, TEMPLATE_EDITORS);
      return deps.pipelines.createTemplate(template, caller.actor, origin(caller));
    },

    /** Replaces a template's description and phases (412 when the version the caller read is stale). */
    async replace(caller: Caller, command: { name: string; body: TemplateBody; expectedVersion?: number }) {
      requireRole(caller, TEMPLATE_EDITORS);
      return deps.pipelines.replaceTemplate(command.name, command.body, caller.actor, origin(caller), command.expectedVersion);
    },

    async delete(caller: Caller, command: { name: string; expectedVersion?: number }): Promise<void> {
      requireRole(caller, TEMPLATE_EDITORS);
      await deps.pipelines.deleteTemplate(command.name, caller.actor, origin(caller), command.expectedVersion);
    },
  };
}

export type ReleaseTemplateCommands = ReturnType<typeof createReleaseTemplateCommands>;
