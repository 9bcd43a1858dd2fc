import { useState, type FormEvent } from 'react';
import type { AuditPage as AuditEventPage, AuditVerification } from '../../../src/protocol/admin-api.ts';
import { enc, query } from '../api.ts';
import { Diff, ErrorBox, time } from '../components.tsx';
import { useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

const EMPTY = { flag: '', actor: '', action: '', environment: '', resource_type: '', from: '', to: '' };

/** The audit trail: filters, cursor pages, old/new diff per event, and the hash chain's verification. */
export function AuditPage() {
  const { api, environments } = useSession();
  const initial = { ...EMPTY, flag: new URLSearchParams(location.search).get('flag') ?? '' };
  const [filters, setFilters] = useState(initial);
  const [applied, setApplied] = useState(initial);
  const [pages, setPages] = useState<AuditEventPage[]>([]);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);
  const iso = (v: string) => (v ? new Date(v).toISOString() : undefined);
  const params = { ...applied, from: iso(applied.from), to: iso(applied.to), limit: 50 };

  const first = useLoad(async (signal) => {
    setPages([]);
    return api.get<AuditEventPage>(`/api/v1/audit${query(params)}`, signal);
  }, [JSON.stringify(applied)]);
  const verify = useLoad((signal) => api.get<AuditVerification>('/api/v1/audit/verify', signal), []);

  const all = first.data ? [first.data, ...pages] : [];
  const events = all.flatMap((p) => p.events);
  const cursor = all.at(-1)?.next_cursor ?? null;

  const more = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await api.get<AuditEventPage>(`/api/v1/audit${query({ ...params, cursor })}`);
      setPages([...pages, page]);
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setApplied(filters);
  };
  const input = (name: keyof typeof EMPTY, label: string, type = 'text') => (
    <div className="field"><label htmlFor={`a-${name}`}>{label}</label>
      <input id={`a-${name}`} type={type} value={filters[name]} onChange={(e) => setFilters({ ...filters, [name]: e.target.value })} /></div>
  );

  return (
    <section aria-labelledby="audit-title">
      <div className="page-head">
        <h1 id="audit-title">Audit log</h1>
        <div className="verify" role="status" data-testid="chain-status">
          {verify.error ? <span className="badge state-killed">chain check failed to run</span>
            : !verify.data ? <span className="muted">verifying the hash chain…</span>
            : verify.data.ok ? <span className="badge state-on" title="Each event's hash was recomputed in Postgres from its content and the previous event's hash">
              chain verified: all {verify.data.checked} events intact, #1 to #{verify.data.last_seq ?? 0}
              {verify.data.gaps > 0 ? ` (${verify.data.gaps} numbers unused: writes that rolled back or repeated take a number; the chain links events, not numbers)` : ''}</span>
            : <span className="badge state-killed">chain BROKEN at seq {verify.data.first_broken?.seq} ({verify.data.first_broken?.problem})</span>}
          <button className="link" onClick={() => void verify.reload()}>re-verify</button>
        </div>
      </div>
      <form className="filters" role="search" aria-label="Filter audit events" onSubmit={submit}>
        {input('flag', 'Flag')}
        {input('actor', 'Actor (name, email or id)')}
        {input('action', 'Action')}
        <div className="field"><label htmlFor="a-env">Environment</label>
          <select id="a-env" value={filters.environment} onChange={(e) => setFilters({ ...filters, environment: e.target.value })}>
            <option value="">any</option>{environments.map((e) => <option key={e}>{e}</option>)}</select></div>
        <div className="field"><label htmlFor="a-rt">Resource</label>
          <select id="a-rt" value={filters.resource_type} onChange={(e) => setFilters({ ...filters, resource_type: e.target.value })}>
            <option value="">any</option>{['flag', 'rollout', 'scheduled_change', 'segment', 'user', 'token', 'webhook'].map((r) => <option key={r}>{r}</option>)}</select></div>
        {input('from', 'From', 'datetime-local')}
        {input('to', 'To', 'datetime-local')}
        <button type="submit">Filter</button>
        <button type="button" onClick={() => { setFilters(EMPTY); setApplied(EMPTY); }}>Clear</button>
      </form>
      <ErrorBox error={first.error} />
      <ol className="events" aria-busy={first.loading}>
        {events.map((e) => (
          <li key={e.id} className="event" data-action={e.action} data-resource={e.resourceId}>
            <details>
              <summary>
                <span className="mono small">#{e.seq}</span> <strong>{e.action}</strong>{' '}
                {e.resourceType === 'flag' || e.resourceType === 'rollout' ? <Link to={`/flags/${enc(e.resourceId)}${e.environment ? `/${enc(e.environment)}` : ''}`}>{e.resourceId}</Link> : <span>{e.resourceType} {e.resourceId}</span>}
                {e.environment && <> in {e.environment}</>} by <span className="actor" title={e.actorEmail ?? e.userId}>{e.actorName ?? e.userId}</span> · {time(e.timestamp)}
                {e.reason && <span className="muted"> — “{e.reason}”</span>}
              </summary>
              <Diff before={e.oldValue ?? undefined} after={e.newValue ?? undefined} label={`old and new value of event ${e.seq}`} />
              <p className="small muted">IP {e.ipAddress ?? '–'} · {e.userAgent ?? '–'} · hash <code>{String(e.hash).slice(0, 16)}…</code>{Object.keys(e.metadata ?? {}).length ? <> · metadata <code>{JSON.stringify(e.metadata)}</code></> : null}</p>
            </details>
          </li>
        ))}
      </ol>
      {first.data && events.length === 0 && <p>No events match.</p>}
      <ErrorBox error={moreError} />
      {cursor && <button onClick={() => void more()} disabled={loadingMore}>{loadingMore ? 'Loading…' : 'Load older events'}</button>}
    </section>
  );
}
