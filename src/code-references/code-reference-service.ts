import type { Actor } from '../auth/principal.js';
import { NotFoundError } from '../errors.js';
import { appendAuditEvent } from '../audit/audit-store.js';
import { codeReferencesOf, replaceCodeReferences, type CodeReferenceRow } from './code-reference-store.js';
import { withTransaction, type Database } from '../connections/database.js';
import { findFlag } from '../flags/flag-store.js';

/** Code references uploaded by `ripcord refs --upload`, shown on each flag's page. */
export function createCodeReferenceService(deps: { db: Database }) {
  const { db } = deps;
  return {
    /** Replaces one repository's references; one audit event with the counts. */
    async upload(repository: string, references: CodeReferenceRow[], meta: { actor: Actor; ipAddress?: string | null; userAgent?: string | null }) {
      const flags = new Set(references.map((r) => r.flag)).size;
      const stored = await withTransaction(db, async (tx) => {
        const count = await replaceCodeReferences(tx, repository, references, meta.actor.id);
        await appendAuditEvent(tx, {
          userId: meta.actor.id, action: 'code_references.uploaded', resourceType: 'code_references', resourceId: repository,
          newValue: { references: count, flags }, ipAddress: meta.ipAddress, userAgent: meta.userAgent, metadata: { actorName: meta.actor.name },
        });
        return count;
      });
      return { repository, references: stored, flags };
    },

    async ofFlag(flagKey: string) {
      if (!(await findFlag(db, flagKey))) throw new NotFoundError(`Flag '${flagKey}' does not exist`);
      const files = await codeReferencesOf(db, flagKey);
      return {
        flag: flagKey,
        files: files.length,
        references: files.map((f) => ({ repository: f.repository, path: f.path, lines: f.lines, uploaded_at: f.uploadedAt })),
      };
    },
  };
}

export type CodeReferenceService = ReturnType<typeof createCodeReferenceService>;
