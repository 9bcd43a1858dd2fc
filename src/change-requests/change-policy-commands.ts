import { requireRole, writeMetaOf, type Caller } from '../auth/caller.js';
import type { Role } from '../auth/rbac.js';
import type { ChangePolicyInput } from './change-request-inputs.js';
import { DEFAULT_COVERS } from './change-request-schemas.js';
import type { ChangeRequestService } from './change-request-service.js';

/** A change policy decides which writes need approvals: only admins set it (no grant gives it). */
const POLICY_SETTERS: readonly Role[] = ['admin'];

/**
 * Setting an environment's change policy, as every entry point asks for it (the HTTP route, so the
 * admin UI). The command decides in one place that the caller is an admin user (client and server
 * tokens never are), fills the defaults of what the caller left out, and has the change-request
 * service check the approvers, write the policy and record the one audit event naming the caller.
 */
export function createChangePolicyCommands(deps: { changeRequests: Pick<ChangeRequestService, 'setPolicy'> }) {
  return {
    async set(caller: Caller, command: { environment: string; policy: Omit<ChangePolicyInput, 'reason'> }) {
      requireRole(caller, POLICY_SETTERS);
      const { policy } = command;
      return deps.changeRequests.setPolicy(command.environment, {
        requiredApprovals: policy.required_approvals, approverRole: policy.approver_role ?? null, approverUserIds: [...new Set(policy.approver_user_ids ?? [])],
        covers: [...new Set(policy.covers ?? DEFAULT_COVERS)], restoreRequiresApproval: policy.restore_requires_approval ?? false,
      }, writeMetaOf(caller));
    },
  };
}

export type ChangePolicyCommands = ReturnType<typeof createChangePolicyCommands>;
