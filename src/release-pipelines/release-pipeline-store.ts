import type { NewTemplate, Phase, PipelineProgress, PipelineStatus } from '../domain/release-pipeline.js';
import { isFinishedPipeline } from '../domain/release-pipeline.js';
import type { Queryable } from '../connections/database.js';
import { iso } from '../connections/rows.js';

export interface TemplateRecord {
  id: string;
  name: string;
  description: string;
  phases: Phase[];
  version: number;
  createdBy: string;
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface PipelineRecordRow {
  id: string;
  flagKey: string;
  template: string;
  workflowId: string;
  status: PipelineStatus;
  progress: PipelineProgress | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** A row of release_templates. */
interface TemplateRow {
  id: string;
  name: string;
  description: string;
  phases: Phase[];
  version: number;
  created_by: string;
  updated_by: string;
  created_at: Date;
  updated_at: Date;
}

/** A row of release_pipelines (a pipeline's progress is `{}` until its workflow first reports). */
interface PipelineRow {
  id: string;
  flag_key: string;
  template_name: string;
  workflow_id: string;
  status: PipelineStatus;
  progress: PipelineProgress | Record<string, never>;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const toTemplate = (row: TemplateRow): TemplateRecord => ({
  id: row.id, name: row.name, description: row.description, phases: row.phases, version: row.version,
  createdBy: row.created_by, updatedBy: row.updated_by, createdAt: iso(row.created_at), updatedAt: iso(row.updated_at),
});
const hasProgress = (progress: PipelineRow['progress']): progress is PipelineProgress => Object.keys(progress).length > 0;
const toPipeline = (row: PipelineRow): PipelineRecordRow => ({
  id: row.id, flagKey: row.flag_key, template: row.template_name, workflowId: row.workflow_id, status: row.status,
  progress: hasProgress(row.progress) ? row.progress : null, createdBy: row.created_by,
  createdAt: iso(row.created_at), updatedAt: iso(row.updated_at), finishedAt: iso(row.finished_at),
});

export async function listTemplates(db: Queryable): Promise<TemplateRecord[]> {
  return (await db.query<TemplateRow>('SELECT * FROM release_templates ORDER BY name')).rows.map(toTemplate);
}

export async function findTemplate(db: Queryable, name: string, forUpdate = false): Promise<TemplateRecord | null> {
  const row = (await db.query<TemplateRow>(`SELECT * FROM release_templates WHERE name = $1${forUpdate ? ' FOR UPDATE' : ''}`, [name])).rows[0];
  return row ? toTemplate(row) : null;
}

/** Inserts a template; null when the name is taken. */
export async function insertTemplate(db: Queryable, id: string, template: NewTemplate, actor: string): Promise<TemplateRecord | null> {
  const result = await db.query<TemplateRow>(
    `INSERT INTO release_templates (id, name, description, phases, created_by, updated_by) VALUES ($1, $2, $3, $4, $5, $5)
     ON CONFLICT (name) DO NOTHING RETURNING *`,
    [id, template.name, template.description ?? '', JSON.stringify(template.phases), actor],
  );
  return result.rows[0] ? toTemplate(result.rows[0]) : null;
}

export async function replaceTemplate(db: Queryable, name: string, body: { description?: string; phases: Phase[] }, actor: string): Promise<TemplateRecord | null> {
  const result = await db.query<TemplateRow>(
    `UPDATE release_templates SET description = $2, phases = $3, updated_by = $4, updated_at = now(), version = version + 1
      WHERE name = $1 RETURNING *`,
    [name, body.description ?? '', JSON.stringify(body.phases), actor],
  );
  return result.rows[0] ? toTemplate(result.rows[0]) : null;
}

export async function deleteTemplate(db: Queryable, name: string): Promise<TemplateRecord | null> {
  const result = await db.query<TemplateRow>('DELETE FROM release_templates WHERE name = $1 RETURNING *', [name]);
  return result.rows[0] ? toTemplate(result.rows[0]) : null;
}

/** Writes a pipeline's latest state (the workflow calls this at every transition; retries are harmless). */
export async function upsertPipeline(db: Queryable, record: { pipelineId: string; flagKey: string; workflowId: string; actor: string; progress: PipelineProgress }): Promise<void> {
  const { progress } = record;
  await db.query(
    `INSERT INTO release_pipelines (id, flag_id, template_name, workflow_id, status, progress, created_by, finished_at)
     SELECT $1, f.id, $3, $4, $5, $6, $7, CASE WHEN $8 THEN now() END FROM flags f WHERE f.key = $2
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, progress = EXCLUDED.progress, updated_at = now(),
       finished_at = coalesce(release_pipelines.finished_at, EXCLUDED.finished_at)`,
    [record.pipelineId, record.flagKey, progress.template, record.workflowId, progress.status, JSON.stringify(progress), record.actor,
      isFinishedPipeline(progress.status)],
  );
}

/** The row of a pipeline just started (its workflow fills in the progress; whichever writes first wins the insert). */
export async function insertPipeline(db: Queryable, p: { pipelineId: string; flagKey: string; template: string; workflowId: string; actor: string }): Promise<void> {
  await db.query(
    `INSERT INTO release_pipelines (id, flag_id, template_name, workflow_id, status, created_by)
     SELECT $1, f.id, $3, $4, 'running', $5 FROM flags f WHERE f.key = $2 ON CONFLICT (id) DO NOTHING`,
    [p.pipelineId, p.flagKey, p.template, p.workflowId, p.actor],
  );
}

/** A flag's pipelines, newest first. */
export async function listPipelines(db: Queryable, flagKey: string, limit = 20): Promise<PipelineRecordRow[]> {
  const result = await db.query<PipelineRow>(
    `SELECT p.*, f.key AS flag_key FROM release_pipelines p JOIN flags f ON f.id = p.flag_id
      WHERE f.key = $1 ORDER BY p.created_at DESC LIMIT $2`,
    [flagKey, limit],
  );
  return result.rows.map(toPipeline);
}

/** Pipelines not finished, of every flag, the most recently changed first. */
export async function listUnfinishedPipelines(db: Queryable, limit = 50): Promise<PipelineRecordRow[]> {
  const result = await db.query(
    `SELECT p.*, f.key AS flag_key FROM release_pipelines p JOIN flags f ON f.id = p.flag_id
      WHERE p.finished_at IS NULL ORDER BY p.updated_at DESC LIMIT $1`,
    [limit],
  );
  return result.rows.map(toPipeline);
}

export async function findPipeline(db: Queryable, flagKey: string, id: string): Promise<PipelineRecordRow | null> {
  const result = await db.query<PipelineRow>(
    `SELECT p.*, f.key AS flag_key FROM release_pipelines p JOIN flags f ON f.id = p.flag_id WHERE f.key = $1 AND p.id = $2`,
    [flagKey, id],
  );
  return result.rows[0] ? toPipeline(result.rows[0]) : null;
}
