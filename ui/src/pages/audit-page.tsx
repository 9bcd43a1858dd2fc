import { useState, type FormEvent } from 'react';
import type { AuditVerification } from '../../../src/protocol/admin-api.ts';
import { AUDIT_RESOURCE_TYPES } from '../../../src/protocol/audit-resource-types.ts';
import { AuditEventItem, useAuditEvents } from '../audit-events.tsx';
import { ErrorBox } from '../components.tsx';
import { useDebounced, useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';

const FILTER_DELAY_MS = 300;
/** Words people search the log by; the API matches any part of an action's name. */
const ACTION_WORDS = ['kill', 'kill_switch.activated', 'kill_switch.deactivated', 'config', 'rollout', 'approve', 'abort', 'pipeline', 'change_request', 'scheduled', 'segment', 'token', 'user', 'archive'];
/** Spaces typed between words stand for the underscores and dots of action names ("kill switch" → "kill_switch"). */
const actionQuery = (typed: string) => typed.trim().toLowerCase().replace(/\s+/g, '_') || undefined;

const EMPTY = { flag: '', actor: '', action: '', environment: '', resource_type: '', from: '', to: '' };

/** The audit trail: filters, cursor pages, old/new diff per event, and the hash chain's verification. */
export function AuditPage() {
  const { api, environments } = useSession();
  const initial = { ...EMPTY, flag: new URLSearchParams(location.search).get('flag') ?? '' };
  const [filters, setFilters] = useState(initial);
  // Filters apply as you type, once typing pauses (one request, not one per key).
  const applied = useDebounced(filters, FILTER_DELAY_MS);
  const iso = (v: string) => (v ? new Date(v).toISOString() : undefined);
  const params = { ...applied, action: actionQuery(applied.action), from: iso(applied.from), to: iso(applied.to), limit: 50 };
  const { first, events, cursor, more, loadingMore, moreError } = useAuditEvents(params);
  const verify = useLoad((signal) => api.get<AuditVerification>('/api/v1/audit/verify', signal), []);

  const submit = (e: FormEvent) => e.preventDefault();
  const input = (name: keyof typeof EMPTY, label: string, type = 'text', hint?: string) => (
    <div className="field"><label htmlFor={`a-${name}`}>{label}</label>
      <input id={`a-${name}`} type={type} value={filters[name]} list={name === 'action' ? 'audit-actions' : undefined} onChange={(e) => setFilters({ ...filters, [name]: e.target.value })} />
      {hint && <small className="hint">{hint}</small>}</div>
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
            : <span className="badge state-killed">chain BROKEN at seq {verify.data.first_broken?.seq} ({verify.data.first_broken?.problem})
              {verify.data.broken_count > 1 ? `, and ${verify.data.broken_count - 1} more break(s): seq ${verify.data.broken.slice(1, 6).map((b) => b.seq).join(', ')}${verify.data.broken_count > 6 ? '…' : ''}` : ''}</span>}
          <button className="link" onClick={() => void verify.reload()}>re-verify</button>
        </div>
      </div>
      <form className="filters" role="search" aria-label="Filter audit events" onSubmit={submit}>
        {input('flag', 'Flag')}
        {input('actor', 'Actor (name, email or id)')}
        {input('action', 'Action', 'text', 'a word is enough: kill, rollout, approve')}
        <datalist id="audit-actions">{ACTION_WORDS.map((w) => <option key={w} value={w} />)}</datalist>
        <div className="field"><label htmlFor="a-env">Environment</label>
          <select id="a-env" value={filters.environment} onChange={(e) => setFilters({ ...filters, environment: e.target.value })}>
            <option value="">any</option>{environments.map((e) => <option key={e}>{e}</option>)}</select></div>
        <div className="field"><label htmlFor="a-rt">Resource</label>
          <select id="a-rt" value={filters.resource_type} onChange={(e) => setFilters({ ...filters, resource_type: e.target.value })}>
            <option value="">any</option>{AUDIT_RESOURCE_TYPES.map((r) => <option key={r}>{r}</option>)}</select></div>
        {input('from', 'From', 'datetime-local')}
        {input('to', 'To', 'datetime-local')}
        <button type="button" onClick={() => setFilters(EMPTY)}>Clear</button>
      </form>
      <ErrorBox error={first.error} />
      <ol className="events" aria-busy={first.loading}>
        {events.map((e) => <AuditEventItem key={e.id} event={e} />)}
      </ol>
      {first.data && events.length === 0 && <p>No events match.</p>}
      <ErrorBox error={moreError} />
      {cursor && <button onClick={() => void more()} disabled={loadingMore}>{loadingMore ? 'Loading…' : 'Load older events'}</button>}
    </section>
  );
}
