import { useEffect, useRef } from 'react';
import type { ChangePolicy, ChangeRequestPage } from '../../src/change-requests/change-request-schemas.ts';
import { environmentsOf, mayDecide, policyPath, useChangeRequestsChanged } from './change-requests.ts';
import { useInterval, useLoad } from './hooks.ts';
import { useSession } from './session.tsx';

/**
 * The nav's count of pending change requests the signed-in user may decide (approve or reject). It
 * costs one list request (plus, once, the policy of each environment with requests by others): read
 * again when a view of this tab acts on a request (policies too), when the tab comes back into view,
 * and every five minutes.
 */
export function PendingDecisions() {
  const { api, me, can } = useSession();
  const policies = useRef(new Map<string, Promise<ChangePolicy>>());
  const count = useLoad(async (signal) => {
    const { change_requests: pending } = await api.get<ChangeRequestPage>('/api/v1/change-requests?status=pending&limit=200', signal);
    const others = pending.filter((r) => r.author.id !== me.id);
    const known = new Map<string, ChangePolicy>();
    for (const env of new Set(others.flatMap(environmentsOf))) {
      if (!policies.current.has(env)) policies.current.set(env, api.get<ChangePolicy>(policyPath(env)));
      known.set(env, await policies.current.get(env)!.catch((error: unknown) => {
        policies.current.delete(env);
        throw error;
      }));
    }
    return others.filter((r) => mayDecide(r, (env) => known.get(env), me, can)).length;
  }, [api, me.id]);
  useChangeRequestsChanged(() => {
    policies.current.clear();
    void count.reload();
  });
  useEffect(() => {
    const visible = () => {
      if (document.visibilityState === 'visible') void count.reload();
    };
    document.addEventListener('visibilitychange', visible);
    return () => document.removeEventListener('visibilitychange', visible);
  }, [count.reload]);
  useInterval(() => void count.reload(), 300_000);
  const n = count.data ?? 0;
  if (n === 0) return null;
  return <> <span className="badge cr-count" data-testid="pending-decisions" aria-label={`${n} waiting for your decision`}>{n}</span></>;
}
