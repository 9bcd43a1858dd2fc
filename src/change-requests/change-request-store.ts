import { DEFAULT_COVERS, type ChangePolicy, type ChangeRequest, type ChangeRequestStatus, type CoveredChange } from './change-request-schemas.js';
import type { Role } from '../auth/rbac.js';
import type { Queryable } from '../connections/database.js';
import { iso, onlyRow, touched } from '../connections/rows.js';

/** An environment's policy as stored; an environment without a row has the policy off. */
export interface PolicyInput {
  requiredApprovals: number;
  approverRole: Role | null;
  approverUserIds: string[];
  covers: CoveredChange[];
  restoreRequiresApproval: boolean;
}

/** A row of change_policies. */
interface PolicyRow {
  environment: string;
  required_approvals: number;
  approver_role: Role | null;
  approver_user_ids: string[];
  covers: CoveredChange[];
  restore_requires_approval: boolean;
  updated_by: string | null;
  updated_at: Date | null;
}

export function offPolicy(environment: string): ChangePolicy {
  return {
    environment, required_approvals: 0, approver_role: null, approver_user_ids: [], covers: [...DEFAULT_COVERS],
    restore_requires_approval: false, updated_by: null, updated_at: null,
  };
}

export async function findPolicy(db: Queryable, environment: string): Promise<ChangePolicy> {
  const { rows } = await db.query<PolicyRow>('SELECT * FROM change_policies WHERE environment = $1', [environment]);
  const row = rows[0];
  if (!row) return offPolicy(environment);
  return {
    environment,
    required_approvals: row.required_approvals,
    approver_role: row.approver_role,
    approver_user_ids: row.approver_user_ids,
    covers: row.covers,
    restore_requires_approval: row.restore_requires_approval,
    updated_by: row.updated_by,
    updated_at: iso(row.updated_at),
  };
}

/** Whether any environment's policy is on and covers this kind of write. */
export async function anyPolicyCovers(db: Queryable, change: CoveredChange): Promise<boolean> {
  return touched(await db.query('SELECT 1 FROM change_policies WHERE required_approvals > 0 AND $1 = ANY(covers) LIMIT 1', [change]));
}

export async function savePolicy(db: Queryable, environment: string, policy: PolicyInput, actor: string): Promise<void> {
  await db.query(
    `INSERT INTO change_policies (environment, required_approvals, approver_role, approver_user_ids, covers, restore_requires_approval, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (environment) DO UPDATE SET required_approvals = EXCLUDED.required_approvals, approver_role = EXCLUDED.approver_role,
       approver_user_ids = EXCLUDED.approver_user_ids, covers = EXCLUDED.covers, restore_requires_approval = EXCLUDED.restore_requires_approval,
       updated_by = EXCLUDED.updated_by, updated_at = now()`,
    [environment, policy.requiredApprovals, policy.approverRole, policy.approverUserIds, policy.covers, policy.restoreRequiresApproval, actor],
  );
}

export interface NewChangeRequest {
  kind: ChangeRequest['kind'];
  source: string;
  /** Null for a segment request, which names `segmentKey` instead. */
  flagKey: string | null;
  segmentKey?: string;
  environment: string;
  /** Every environment whose policy covered it; default: [environment]. */
  environments?: string[];
  author: { id: string; name: string };
  reason: string | null;
  baseVersion: number;
  baseConfig: unknown;
  proposed: unknown;
  diff: ChangeRequest['diff'];
  applyAt: string | null;
  requiredApprovals: number;
}

export async function insertChangeRequest(db: Queryable, request: NewChangeRequest): Promise<string> {
  const result = await db.query<{ id: string }>(
    `INSERT INTO change_requests (kind, source, flag_key, environment, status, author_id, author_name, reason, base_version, base_config, proposed, diff, apply_at,
                                  required_approvals, segment_key, environments, segment_revision)
     VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, (SELECT revision FROM segment_revision)) RETURNING id`,
    [
      request.kind, request.source, request.flagKey, request.environment, request.author.id, request.author.name, request.reason,
      request.baseVersion, JSON.stringify(request.baseConfig), request.proposed === null ? null : JSON.stringify(request.proposed),
      JSON.stringify(request.diff), request.applyAt, request.requiredApprovals, request.segmentKey ?? null, request.environments ?? [request.environment],
    ],
  );
  return onlyRow(result).id;
}

/**
 * Which of `keys` (segments a request's config targets) were written since the request was made
 * (their version is past the segment revision it recorded); empty for requests that recorded none.
 */
export async function segmentsChangedSince(db: Queryable, requestId: string, keys: readonly string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  const { rows } = await db.query(
    `SELECT s.key FROM segments s JOIN change_requests r ON r.id = $1
      WHERE s.key = ANY($2::text[]) AND r.segment_revision IS NOT NULL AND s.version > r.segment_revision ORDER BY s.key`,
    [requestId, keys],
  );
  return rows.map((row) => row.key as string);
}

/** A request as stored, with what the API does not show (the base config, the Slack message). */
export interface ChangeRequestRecord extends Omit<ChangeRequest, 'workflow_url'> {
  baseConfig: unknown;
  slack: { channel: string; ts: string } | null;
}

const SELECT = `
  SELECT r.*, coalesce((SELECT jsonb_agg(jsonb_build_object('user_id', a.user_id, 'user_name', a.user_name, 'comment', a.comment, 'at', a.created_at)
                                         ORDER BY a.created_at)
                          FROM change_request_approvals a WHERE a.request_id = r.id), '[]') AS approvals
    FROM change_requests r`;

/** A row of SELECT: change_requests with its approvals (their `at` as JSON gives it: a timestamp string). */
interface RequestRow {
  id: string;
  kind: ChangeRequest['kind'];
  source: string;
  flag_key: string | null;
  segment_key: string | null;
  environment: string;
  environments: string[];
  status: ChangeRequestStatus;
  author_id: string;
  author_name: string;
  reason: string | null;
  base_version: number;
  base_config: unknown;
  proposed: unknown;
  diff: ChangeRequest['diff'];
  apply_at: Date | null;
  required_approvals: number;
  approvals: ChangeRequest['approvals'];
  decided_by: string | null;
  decided_by_name: string | null;
  decision_comment: string | null;
  outcome: string | null;
  applied_version: number | null;
  workflow_id: string | null;
  slack_channel: string | null;
  slack_ts: string | null;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: RequestRow): ChangeRequestRecord {
  return {
    id: row.id,
    kind: row.kind,
    source: row.source,
    flag: row.flag_key,
    segment: row.segment_key,
    environment: row.environment,
    environments: row.environments,
    status: row.status,
    author: { id: row.author_id, name: row.author_name },
    reason: row.reason,
    base_version: row.base_version,
    diff: row.diff,
    proposed: row.proposed ?? null,
    apply_at: iso(row.apply_at),
    required_approvals: row.required_approvals,
    approvals: row.approvals.map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
    decided_by: row.decided_by ? { id: row.decided_by, name: row.decided_by_name ?? row.decided_by } : null,
    decision_comment: row.decision_comment,
    outcome: row.outcome,
    applied_version: row.applied_version,
    workflow_id: row.workflow_id,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    baseConfig: row.base_config,
    slack: row.slack_channel && row.slack_ts ? { channel: row.slack_channel, ts: row.slack_ts } : null,
  };
}

/** One request; `lock` holds its row until the transaction ends (approvals, apply). */
export async function findChangeRequest(db: Queryable, id: string, lock = false): Promise<ChangeRequestRecord | null> {
  if (lock) await db.query('SELECT 1 FROM change_requests WHERE id = $1 FOR UPDATE', [id]);
  const { rows } = await db.query<RequestRow>(`${SELECT} WHERE r.id = $1`, [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

/** The id of `author`'s pending request to release this kill switch, made at `baseVersion` (the kill still in force), or null. */
export async function findOpenRestoreRequest(db: Queryable, flagKey: string, environment: string, authorId: string, baseVersion: number): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM change_requests WHERE kind = 'restore' AND status = 'pending' AND flag_key = $1 AND environment = $2 AND author_id = $3 AND base_version = $4
      ORDER BY created_at LIMIT 1`,
    [flagKey, environment, authorId, baseVersion],
  );
  return rows[0]?.id ?? null;
}

export interface ChangeRequestFilter {
  environment?: string;
  flag?: string;
  segment?: string;
  status?: ChangeRequestStatus;
  limit: number;
}

export async function listChangeRequests(db: Queryable, filter: ChangeRequestFilter): Promise<ChangeRequestRecord[]> {
  const { rows } = await db.query<RequestRow>(
    `${SELECT} WHERE ($1::text IS NULL OR $1 = ANY(r.environments)) AND ($2::text IS NULL OR r.flag_key = $2) AND ($3::text IS NULL OR r.status = $3)
        AND ($5::text IS NULL OR r.segment_key = $5)
      ORDER BY r.created_at DESC, r.id LIMIT $4`,
    [filter.environment ?? null, filter.flag ?? null, filter.status ?? null, filter.limit, filter.segment ?? null],
  );
  return rows.map(toRecord);
}

/** Records one approval; false when this user had already approved. */
export async function insertApproval(db: Queryable, requestId: string, user: { id: string; name: string }, comment: string | null): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO change_request_approvals (request_id, user_id, user_name, comment) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
    [requestId, user.id, user.name, comment],
  );
  return result.rowCount === 1;
}

export interface StatusChange {
  status: ChangeRequestStatus;
  decidedBy?: { id: string; name: string };
  comment?: string | null;
  workflowId?: string;
  outcome?: string;
  appliedVersion?: number;
}

export async function setChangeRequestStatus(db: Queryable, id: string, change: StatusChange): Promise<void> {
  await db.query(
    `UPDATE change_requests SET status = $2, decided_by = coalesce($3, decided_by), decided_by_name = coalesce($4, decided_by_name),
            decision_comment = coalesce($5, decision_comment), workflow_id = coalesce($6, workflow_id), outcome = coalesce($7, outcome),
            applied_version = coalesce($8, applied_version), updated_at = now()
      WHERE id = $1`,
    [id, change.status, change.decidedBy?.id ?? null, change.decidedBy?.name ?? null, change.comment ?? null, change.workflowId ?? null,
      change.outcome ?? null, change.appliedVersion ?? null],
  );
}

export async function setSlackMessage(db: Queryable, id: string, channel: string, ts: string): Promise<void> {
  await db.query('UPDATE change_requests SET slack_channel = $2, slack_ts = $3 WHERE id = $1', [id, channel, ts]);
}
