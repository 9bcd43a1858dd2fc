import { z } from 'zod';
import { roleSchema } from '../auth/rbac.js';
import { text, visibleText } from '../domain/text.js';
import { COVERED_CHANGES, coveredChangeSchema, DEFAULT_COVERS } from './change-request-schemas.js';

/**
 * The bodies the change-request routes parse, in one module the admin UI imports too, so its forms
 * refuse at the field, in the API's words, what the API would refuse.
 */

export const changePolicyInputSchema = z.strictObject({
  required_approvals: z.number().int().min(0).max(10).meta({ description: '0 turns the policy off' }),
  approver_role: roleSchema.nullable().optional(),
  approver_user_ids: z.array(z.uuid()).max(50).optional(),
  covers: z.array(coveredChangeSchema).max(COVERED_CHANGES.length).optional().meta({ description: `default: ${DEFAULT_COVERS.join(', ')} (segments is opt-in)` }),
  restore_requires_approval: z.boolean().optional(),
  reason: text(500).trim().optional(),
});
export type ChangePolicyInput = z.infer<typeof changePolicyInputSchema>;

/** Approve and withdraw: an optional comment. */
export const changeRequestCommentSchema = z.strictObject({ comment: text(500).trim().optional() }).optional();

/** Reject: a comment is required. */
export const changeRequestRejectSchema = z.strictObject({ comment: visibleText(500).meta({ description: 'why, for the author and the audit log' }) });
