import { z } from 'zod';
import { roleSchema } from '../auth/rbac.js';

/**
 * Change requests' shapes: the routes document themselves with these and the admin
 * UI takes its types from them.
 */

/** The writes a policy can cover; the kill switch is never among them. */
export const COVERED_CHANGES = ['configs', 'scheduled_changes', 'rollouts', 'segments'] as const;
export const coveredChangeSchema = z.enum(COVERED_CHANGES);
export type CoveredChange = z.infer<typeof coveredChangeSchema>;
/**
 * What a policy set without `covers` covers: every write to its own environment. Segment edits are
 * opt-in: a segment is global, so covering them gates edits made for other environments' sake too.
 */
export const DEFAULT_COVERS: readonly CoveredChange[] = COVERED_CHANGES.filter((c) => c !== 'segments');

export const changePolicySchema = z
  .object({
    environment: z.string(),
    required_approvals: z.number().int().min(0).max(10).meta({ description: 'distinct approvals a covered change needs; 0: the policy is off' }),
    approver_role: roleSchema.nullable().meta({ description: 'when set (and no users are listed), only users of this role, and admins, may approve' }),
    approver_user_ids: z.array(z.string()).meta({ description: 'when not empty, only these users may approve' }),
    covers: z.array(coveredChangeSchema).meta({
      description: 'the writes that become requests: configs (PUT, copy), scheduled_changes, rollouts (starting one; steering a running rollout and the kill switch are never covered), '
        + 'segments (edits and deletes of a segment some live flag config in this environment targets)',
    }),
    restore_requires_approval: z.boolean().meta({ description: 'whether releasing a kill switch becomes a request (killing never does)' }),
    updated_by: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .meta({ id: 'ChangePolicy' });
export type ChangePolicy = z.infer<typeof changePolicySchema>;

export const CHANGE_REQUEST_STATUSES = ['pending', 'approved', 'applied', 'conflicted', 'failed', 'rejected', 'withdrawn'] as const;
export const changeRequestStatusSchema = z.enum(CHANGE_REQUEST_STATUSES);
export type ChangeRequestStatus = z.infer<typeof changeRequestStatusSchema>;

export const changeDiffEntrySchema = z.object({
  field: z.string().meta({ description: 'a top-level config field: enabled, value, off_value, rules, targeting, rollout, variants…; or a segment field: name, description, conditions, members, deleted' }),
  before: z.unknown(),
  after: z.unknown(),
});

export const changeRequestSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['config', 'restore', 'rollout', 'segment']).meta({
      description: 'config: replaces the config; restore: releases the kill switch; rollout: starts a rollout (proposed is its plan); segment: changes or deletes a segment',
    }),
    source: z.string().meta({
      description: 'the write that made it: put, copy, scheduled, restore, rollout; for segments: update, members (add/remove), replace_members, delete',
    }),
    flag: z.string().nullable().meta({ description: 'the flag (null for a segment request)' }),
    segment: z.string().nullable().meta({ description: 'the segment a segment request edits (null for the other kinds)' }),
    environment: z.string().meta({ description: 'the environment whose policy applies; for a segment request, the strictest of `environments`' }),
    environments: z.array(z.string()).meta({
      description: 'every environment whose policy covered the change (one for flag requests; for a segment, each covered environment where a live flag config targets it)',
    }),
    status: changeRequestStatusSchema.meta({
      description: 'pending → approved → applied, or conflicted (the config changed since base_version: nothing was overwritten), or failed; pending → rejected / withdrawn',
    }),
    author: z.object({ id: z.string(), name: z.string() }),
    reason: z.string().nullable(),
    base_version: z.number().int().meta({ description: 'the config (or segment) version the request was made against' }),
    diff: z.array(changeDiffEntrySchema).meta({ description: 'what differs from the config (or segment) at base_version' }),
    proposed: z.unknown().meta({ description: 'the whole config that applies (a rollout: its plan; a segment: the whole new segment; null for a restore or a segment delete)' }),
    apply_at: z.string().nullable().meta({ description: 'when it applies once approved; null: at once' }),
    required_approvals: z.number().int(),
    approvals: z.array(z.object({ user_id: z.string(), user_name: z.string(), comment: z.string().nullable(), at: z.string() })),
    decided_by: z.object({ id: z.string(), name: z.string() }).nullable().meta({ description: 'who rejected or withdrew it' }),
    decision_comment: z.string().nullable(),
    outcome: z.string().nullable().meta({ description: 'what applying found: the new version, or why it conflicted or failed' }),
    applied_version: z.number().int().nullable(),
    workflow_id: z.string().nullable(),
    workflow_url: z.string().nullable().meta({ description: "the apply workflow's page in the Temporal UI (TEMPORAL_UI_URL)" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'ChangeRequest' });
export type ChangeRequest = z.infer<typeof changeRequestSchema>;

/** The 202 answer of a write a policy turned into a request. */
export const changeRequestCreatedSchema = z
  .object({
    change_request: changeRequestSchema,
    message: z.string().meta({ description: 'says the change was not applied and what it waits for' }),
  })
  .meta({ id: 'ChangeRequestCreated' });
export type ChangeRequestCreated = z.infer<typeof changeRequestCreatedSchema>;

export const changeRequestPageSchema = z.object({ change_requests: z.array(changeRequestSchema) });
export type ChangeRequestPage = z.infer<typeof changeRequestPageSchema>;

/** What a request changes, for messages: the flag, or the segment. */
export function changeRequestSubject(request: Pick<ChangeRequest, 'flag' | 'segment'>): string {
  return request.segment !== null ? `segment \`${request.segment}\`` : `\`${request.flag}\``;
}
