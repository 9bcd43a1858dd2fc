import { canBypassChangeRequests, type Subject } from '../auth/rbac.js';
import { hasVisibleCharacter } from '../domain/text.js';
import { ForbiddenError, ValidationError } from '../errors.js';

/**
 * The one rule for bypassing change policies, whatever the write (a config, a segment edit, a rollout
 * or pipeline start, a kill switch's release): the caller needs change_request:bypass (admin,
 * emergency_responder) and a reason with a visible character, which the write's audit event records.
 * `environments` names the policies bypassed; `otherwise` says what happens without the bypass.
 */
export function requireBypassRight(caller: { subject: Subject; reason?: string | null }, environments: readonly string[], otherwise: string): void {
  const named = environments.map((e) => `'${e}'`).join(', ');
  if (!canBypassChangeRequests(caller.subject)) {
    throw new ForbiddenError(`Bypassing the change policy of ${named} needs change_request:bypass (admin or emergency_responder); without the header ${otherwise}`);
  }
  if (!hasVisibleCharacter(caller.reason ?? '')) {
    throw new ValidationError('A bypass needs a reason', [{ path: 'body.reason', message: 'required when X-Change-Request-Bypass is set (or X-Audit-Reason)' }]);
  }
}
