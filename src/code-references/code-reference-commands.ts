import { requireRole, type Caller } from '../auth/caller.js';
import type { Role } from '../auth/rbac.js';
import type { CodeReferenceService } from './code-reference-service.js';

/** Who may replace a repository's references (what `ripcord refs --upload` sends, with a user's admin token). */
const UPLOADERS: readonly Role[] = ['editor', 'admin'];

/**
 * Uploading where flags are used in code, as every entry point asks for it (the HTTP route, so
 * `ripcord refs --upload`). The command decides in one place that the caller is a user with the editor
 * or admin role (client and server tokens never are); the service replaces the repository's references
 * and records the one audit event naming the caller.
 */
export function createCodeReferenceCommands(deps: { codeReferences: CodeReferenceService }) {
  return {
    async upload(caller: Caller, command: { repository: string; references: Parameters<CodeReferenceService['upload']>[1] }) {
      requireRole(caller, UPLOADERS);
      return deps.codeReferences.upload(command.repository, command.references, { actor: caller.actor, ipAddress: caller.ipAddress ?? null, userAgent: caller.userAgent ?? null });
    },
  };
}

export type CodeReferenceCommands = ReturnType<typeof createCodeReferenceCommands>;
