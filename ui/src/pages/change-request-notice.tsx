import { canBypassChangeRequests } from '../../../src/auth/rbac.ts';
import type { ChangePolicy, ChangeRequestCreated, ChangeRequestPage } from '../../../src/change-requests/change-request-schemas.ts';
import { ApiError, query } from '../api.ts';
import { approvals, requestPath, useChangeRequestsChanged } from '../change-requests.ts';
import { useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

/** A write the change policy turned into a request: the API's own words, and a link to the request. */
export function ChangeRequestNotice({ created }: { created: ChangeRequestCreated }) {
  return (
    <p role="status" className="warning" data-testid="change-request-created" data-change-request={created.change_request.id}>
      {created.message}. <Link to={requestPath(created.change_request.id)}>Open the change request</Link>
    </p>
  );
}

/** The flag page's banner: this flag's requests in one environment still waiting (pending, or approved and not yet applied). */
export function WaitingRequestsBanner({ flagKey, env, liveTick }: { flagKey: string; env: string; liveTick: number }) {
  const { api } = useSession();
  const list = useLoad((signal) => api.get<ChangeRequestPage>(`/api/v1/change-requests${query({ flag: flagKey, environment: env, limit: 50 })}`, signal), [flagKey, env, liveTick]);
  useChangeRequestsChanged(() => void list.reload());
  const waiting = (list.data?.change_requests ?? []).filter((r) => r.status === 'pending' || r.status === 'approved');
  if (waiting.length === 0) return null;
  return (
    <div className="cr-banner" role="status" data-testid="waiting-change-requests">
      <strong>{waiting.length} change request{waiting.length === 1 ? '' : 's'} waiting in {env}:</strong>{' '}
      {waiting.map((r, i) => (
        <span key={r.id}>{i > 0 && ', '}<Link to={requestPath(r.id)}>{r.kind} by {r.author.name} ({r.status}, {r.approvals.length}/{r.required_approvals})</Link></span>
      ))}
      {' · '}<Link to={`/change-requests${query({ flag: flagKey, environment: env })}`}>all of this flag’s requests</Link>
    </div>
  );
}

/**
 * Before a covered write: what saving will do under the environment's policy ("creates a change
 * request needing N approvals"), and for admins and emergency responders the bypass option (which
 * then needs a reason). Renders nothing when the policy does not cover the write.
 */
export function PolicyGate({ policy, gated, env, doing, bypass, onBypass, testId = 'creates-request' }: {
  policy: ChangePolicy | null; gated: boolean; env: string; doing: string; bypass: boolean; onBypass: (on: boolean) => void; testId?: string;
}) {
  const { me } = useSession();
  if (!gated || !policy) return null;
  const mayBypass = canBypassChangeRequests({ kind: 'user', role: me.role, grants: me.grants });
  return (
    <>
      {bypass
        ? <p className="warning" role="note" data-testid="bypass-notice">Bypassing {env}’s change policy: this applies at once, without the {approvals(policy.required_approvals)} it needs; the reason is required and the bypass is audited.</p>
        : <p className="warning" role="note" data-testid={testId}>{doing} creates a change request needing {approvals(policy.required_approvals)} in {env}: nothing changes until it is approved.</p>}
      {mayBypass && (
        <label className="inline"><input type="checkbox" checked={bypass} onChange={(e) => onBypass(e.target.checked)} /> Bypass the change policy (emergency)</label>
      )}
    </>
  );
}

/** The headers of a write sent past the change policy; refused at the reason field first when there is no reason. */
export function bypassHeaders(bypassing: boolean, reason: string): Record<string, string> {
  if (!bypassing) return {};
  if (!reason.trim()) throw new ApiError(0, 'INVALID', 'Not sent: bypassing the change policy needs a reason.', [{ path: 'body.reason', message: 'required to bypass the change policy (it is audited)' }]);
  return { 'x-change-request-bypass': 'true' };
}
