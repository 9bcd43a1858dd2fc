import { useState } from 'react';
import type { AuditEventView, AuditPage } from '../../src/protocol/admin-api.ts';
import { enc, query } from './api.ts';
import { Diff, time } from './components.tsx';
import { withNamedVariants } from './config-shape.ts';
import { useLoad } from './hooks.ts';
import { Link } from './router.tsx';
import { useSession } from './session.tsx';
import { ActorName, actorWords } from './names.tsx';

/** Who acted, for people: the user's name; the bootstrap token and automations in words rather than ids. */
export function actorLabel(event: Pick<AuditEventView, 'user_id' | 'actor_name'>): string {
  if (event.actor_name && event.actor_name !== event.user_id) return event.actor_name;
  return actorWords(event.user_id);
}

/** Whether the event names its actor itself (a user, or a name it recorded); else the names endpoint is asked. */
const namedByEvent = (event: Pick<AuditEventView, 'user_id' | 'actor_name'>) =>
  Boolean(event.actor_name && event.actor_name !== event.user_id) || !/^(trigger|token):/.test(event.user_id);

/** The resource of an event that has a name of its own elsewhere: users, alert triggers (deleted ones too) and API tokens. */
function ResourceName({ type, id }: { type: string; id: string }) {
  if (type === 'trigger' || type === 'token') return <ActorName id={`${type}:${id}`} />;
  if (type === 'user') return <ActorName id={id} />;
  return <>{id}</>;
}

/**
 * The audit events matching `params`, newest first, a page at a time: `more()` appends the next page.
 * A change of `params` (or of `tick`) starts again from the newest.
 */
export function useAuditEvents(params: Record<string, string | number | undefined>, tick = 0) {
  const { api } = useSession();
  const [pages, setPages] = useState<AuditPage[]>([]);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);
  const first = useLoad(async (signal) => {
    setPages([]);
    return api.get<AuditPage>(`/api/v1/audit${query(params)}`, signal);
  }, [JSON.stringify(params), tick]);
  const all = first.data ? [first.data, ...pages] : [];
  const cursor = all.at(-1)?.next_cursor ?? null;
  const more = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await api.get<AuditPage>(`/api/v1/audit${query({ ...params, cursor })}`);
      setPages((p) => [...p, page]);
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  };
  return { first, events: all.flatMap((p) => p.events), cursor, more, loadingMore, moreError };
}

/** One audit event: what, on what, where, by whom, when and why; opened, the field-level diff and its provenance. */
export function AuditEventItem({ event: e, showResource = true }: { event: AuditEventView; showResource?: boolean }) {
  const flagLike = e.resource_type === 'flag' || e.resource_type === 'rollout';
  return (
    <li className="event" data-action={e.action} data-resource={e.resource_id}>
      <details>
        <summary>
          <span className="mono small">#{e.seq}</span> <strong>{e.action}</strong>{' '}
          {showResource && (flagLike ? <Link to={`/flags/${enc(e.resource_id)}${e.environment ? `/${enc(e.environment)}` : ''}`}>{e.resource_id}</Link> : <span>{e.resource_type} <ResourceName type={e.resource_type} id={e.resource_id} /></span>)}
          {e.environment && <> in {e.environment}</>} by {namedByEvent(e) ? <span className="actor" title={e.actor_email ?? e.user_id}>{actorLabel(e)}</span> : <ActorName id={e.user_id} />} · {time(e.timestamp)}
          {e.reason && <span className="muted"> — “{e.reason}”</span>}
        </summary>
        <Diff before={withNamedVariants(e.old_value ?? undefined)} after={withNamedVariants(e.new_value ?? undefined)} label={`old and new value of event ${e.seq}`} />
        <p className="small muted">IP {e.ip_address ?? '–'} · {e.user_agent ?? '–'} · hash <code>{String(e.hash).slice(0, 16)}…</code>{Object.keys(e.metadata ?? {}).length ? <> · metadata <code>{JSON.stringify(e.metadata)}</code></> : null}</p>
      </details>
    </li>
  );
}
