import type { Queryable } from '../connections/database.js';
import { iso } from '../connections/rows.js';

export interface CodeReferenceRow { flag: string; path: string; line: number; kind: 'call' | 'literal' }

/** Replaces a repository's references with this upload's (one statement each, in the caller's transaction). */
export async function replaceCodeReferences(tx: Queryable, repository: string, references: CodeReferenceRow[], uploadedBy: string): Promise<number> {
  await tx.query('DELETE FROM code_references WHERE repository = $1', [repository]);
  if (references.length === 0) return 0;
  const result = await tx.query(
    `INSERT INTO code_references (repository, flag_key, path, line, kind, uploaded_by)
     SELECT $1, r.flag, r.path, r.line, r.kind, $2 FROM jsonb_to_recordset($3::jsonb) AS r(flag text, path text, line int, kind text)
     ON CONFLICT DO NOTHING`,
    [repository, uploadedBy, JSON.stringify(references)],
  );
  return result.rowCount ?? 0;
}

export interface FlagCodeReferences { repository: string; path: string; lines: number[]; uploadedAt: string }

export async function codeReferencesOf(db: Queryable, flagKey: string): Promise<FlagCodeReferences[]> {
  const result = await db.query<{ repository: string; path: string; lines: number[]; uploaded_at: Date }>(
    `SELECT repository, path, array_agg(line ORDER BY line) AS lines, max(uploaded_at) AS uploaded_at
       FROM code_references WHERE flag_key = $1 GROUP BY repository, path ORDER BY repository, path`,
    [flagKey],
  );
  return result.rows.map((row) => ({ repository: row.repository, path: row.path, lines: row.lines, uploadedAt: iso(row.uploaded_at) }));
}
