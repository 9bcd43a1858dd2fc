import type { ChangeRequestCreated, ChangeRequestPage } from '../../../src/protocol/change-requests.ts';
import { query } from '../api.ts';
import { requestPath, useChangeRequestsChanged } from '../change-requests.ts';
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
