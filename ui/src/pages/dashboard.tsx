import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { AuditPage, DashboardPage, Pipeline, RunningRollout } from '../../../src/protocol/admin-api.ts';
import { actorLabel } from '../audit-events.tsx';
import { enc, query } from '../api.ts';
import { LifecycleBadge } from './lifecycle-badge.tsx';
import { ErrorBox, Field, ProgressBar, Sparkline, StateBadge, time, timeLeft, useAction, WriteButton } from '../components.tsx';
import { useDebounced, useInterval, useLoad } from '../hooks.ts';
import { useLiveEvents } from '../live.tsx';
import { Link, navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ActorName } from '../names.tsx';

const FILTER_KEYS = ['q', 'tag', 'environment', 'state', 'sort'] as const;
type Filters = Record<(typeof FILTER_KEYS)[number], string>;
const DEFAULTS: Filters = { q: '', tag: '', environment: '', state: 'active', sort: 'key' };
const PAGE_SIZE = 50;
// Search as you type: one request once typing pauses this long.
const SEARCH_DELAY_MS = 250;
// Rates move slowly (per-minute rollups) and every change arrives on the stream: refresh rarely.
const REFRESH_MS = 45_000;
// Several changes in a burst (a rollout step, a bulk edit) cost one reload.
const RELOAD_DEBOUNCE_MS = 250;

function filtersFrom(search: URLSearchParams): Filters {
  const f = { ...DEFAULTS };
  for (const k of FILTER_KEYS) f[k] = search.get(k) ?? DEFAULTS[k];
  return f;
}

/** The URL of a dashboard view: filters and page live in the address, so a view can be shared and reloaded. */
function dashboardUrl(filters: Filters, cursor?: string | null): string {
  const params: Record<string, string> = {};
  for (const k of FILTER_KEYS) if (filters[k] !== DEFAULTS[k]) params[k] = filters[k];
  return `/${query({ ...params, cursor: cursor ?? undefined })}`;
}

/**
 * Flags × environments at a glance, running rollouts and recent kills: three requests, then the
 * event stream keeps them current (a change anywhere reloads what it touches within a second).
 */
export function Dashboard() {
  const { api, environments } = useSession();
  const { search } = useLocation();
  const applied = filtersFrom(search);
  const cursor = search.get('cursor');
  const [filters, setFilters] = useState<Filters>(applied);
  const appliedKey = JSON.stringify(applied);
  // The filters apply as you type, once typing pauses, replacing the address (one history entry per search, not per key).
  const settled = useDebounced(filters, SEARCH_DELAY_MS);
  const navigated = useRef(appliedKey);
  useEffect(() => {
    const key = JSON.stringify(settled);
    if (key === appliedKey) return;
    navigated.current = key;
    navigate(dashboardUrl(settled), true);
  }, [JSON.stringify(settled)]);
  // An address from elsewhere (back, a link) sets the form; our own navigation does not (typing may have gone on since).
  useEffect(() => {
    if (appliedKey !== navigated.current) setFilters(filtersFrom(search));
    navigated.current = appliedKey;
  }, [appliedKey]);

  const flags = useLoad((signal) => api.get<DashboardPage>(`/api/v1/dashboard/flags${query({
    ...applied, limit: PAGE_SIZE, cursor: cursor ?? undefined,
  })}`, signal), [appliedKey, cursor]);
  const rollouts = useLoad((signal) => api.get<{ rollouts: RunningRollout[] }>('/api/v1/dashboard/rollouts', signal), []);
  const kills = useLoad((signal) => api.get<AuditPage>('/api/v1/audit?action=kill_switch.activated&limit=5', signal), []);
  // Which of those kills still hold: the flags killed somewhere now (read with the kills, one request).
  const killedNow = useLoad((signal) => api.get<DashboardPage>('/api/v1/dashboard/flags?state=killed&limit=200', signal), []);
  const pipelines = useLoad((signal) => api.get<{ pipelines: Pipeline[] }>('/api/v1/release-pipelines', signal), []);
  const stillKilled = (flagKey: string, environment: string | null) =>
    Boolean(environment && killedNow.data?.flags.find((f) => f.key === flagKey)?.environments[environment]?.killed);

  const pending = useRef<{ timer?: ReturnType<typeof setTimeout>; kills: boolean }>({ kills: false });
  const scheduleReload = (withKills: boolean) => {
    pending.current.kills ||= withKills;
    clearTimeout(pending.current.timer);
    pending.current.timer = setTimeout(() => {
      void flags.reload();
      void rollouts.reload();
      void pipelines.reload();
      if (pending.current.kills) {
        void kills.reload();
        void killedNow.reload();
      }
      pending.current.kills = false;
    }, RELOAD_DEBOUNCE_MS);
  };
  useEffect(() => () => clearTimeout(pending.current.timer), []);
  useLiveEvents((event) => {
    if (event.kind === 'resync') return scheduleReload(true);
    const { change } = event;
    // Show the new state at once from the event itself; the reload brings percentages and rollouts.
    flags.setData((page) => page && {
      ...page,
      flags: page.flags.map((f) => {
        const env = f.environments[change.environment];
        if (f.key !== change.key || !env) return f;
        const killed = change.kill_switch ?? env.killed;
        const enabled = change.enabled ?? env.enabled;
        const state = killed ? 'killed' : !enabled ? 'off' : env.state === 'percentage' ? 'percentage' : 'on';
        return { ...f, environments: { ...f.environments, [change.environment]: { ...env, killed, enabled, state } } };
      }),
    });
    scheduleReload(change.event === 'flag.killed' || change.event === 'flag.restored');
  });
  useInterval(() => {
    void flags.reload();
    void rollouts.reload();
  }, REFRESH_MS);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    navigated.current = JSON.stringify(filters);
    navigate(dashboardUrl(filters));
  };
  const page = flags.data;
  const loading = flags.loading && !page;

  return (
    <section aria-labelledby="dash-title">
      <div className="page-head">
        <h1 id="dash-title">Flags</h1>
        <NewFlag />
      </div>

      <form className="filters" onSubmit={apply} role="search" aria-label="Filter flags">
        <div className="field"><label htmlFor="f-q">Search</label>
          <input id="f-q" type="search" value={filters.q} placeholder="key, name or description (press / to search)" onChange={(e) => setFilters({ ...filters, q: e.target.value })} /></div>
        <div className="field"><label htmlFor="f-tag">Tag</label>
          <input id="f-tag" value={filters.tag} onChange={(e) => setFilters({ ...filters, tag: e.target.value })} /></div>
        <div className="field"><label htmlFor="f-env">Environment</label>
          <select id="f-env" value={filters.environment} onChange={(e) => setFilters({ ...filters, environment: e.target.value })}>
            <option value="">any</option>{environments.map((e) => <option key={e}>{e}</option>)}
          </select></div>
        <div className="field"><label htmlFor="f-state">State</label>
          <select id="f-state" value={filters.state} onChange={(e) => setFilters({ ...filters, state: e.target.value })}>
            {['active', 'enabled', 'disabled', 'killed', 'archived', 'all'].map((s) => <option key={s}>{s}</option>)}
          </select></div>
        <div className="field"><label htmlFor="f-sort">Sort</label>
          <select id="f-sort" value={filters.sort} onChange={(e) => setFilters({ ...filters, sort: e.target.value })}>
            <option value="key">key A→Z</option><option value="-key">key Z→A</option>
            <option value="-updated">recently changed</option><option value="updated">least recently changed</option>
          </select></div>
      </form>

      <div className="two-col">
        <section aria-labelledby="ro-title" className="card" aria-busy={rollouts.loading && !rollouts.data}>
          <h2 id="ro-title">Running rollouts</h2>
          <ErrorBox error={rollouts.error} />
          {!rollouts.data && !rollouts.error && <SkeletonLines n={2} />}
          {rollouts.data?.rollouts.length === 0 && !pipelines.data?.pipelines.length && <p className="muted">None running.</p>}
          <ErrorBox error={pipelines.error} />
          {pipelines.data && pipelines.data.pipelines.length > 0 && (
            <ul className="plain" aria-label="Release pipelines">
              {pipelines.data.pipelines.map((p) => {
                const phase = p.phases[p.phase];
                return (
                  <li key={p.id} data-pipeline={p.flag} data-status={p.status}>
                    <Link to={`/flags/${enc(p.flag)}${phase ? `/${enc(phase.environment)}` : ''}?tab=rollouts`}><strong>{p.flag}</strong></Link> — release pipeline <code>{p.template}</code>,
                    {' '}{p.status === 'waiting_approval' ? <strong className="badge st-waiting_approval">waiting for approval</strong> : <span className={`badge st-${p.status}`}>{p.status.replace('_', ' ')}</span>}
                    {phase && <> at phase {p.phase + 1} of {p.phases.length} ({phase.name}{phase.name !== phase.environment ? `, ${phase.environment}` : ''})</>}
                    {p.status === 'waiting_approval' && phase?.approval && <small className="muted"> · needs {phase.approval.role === 'admin' ? 'an admin' : `an ${phase.approval.role.replace('_', ' ')}`}, not whoever started it</small>}
                  </li>
                );
              })}
            </ul>
          )}
          <ul className="plain">
            {rollouts.data?.rollouts.map((r) => (
              <li key={r.rollout_id} data-rollout={`${r.flag_key}:${r.environment}`}>
                <Link to={`/flags/${enc(r.flag_key)}/${enc(r.environment)}`}><strong>{r.flag_key}</strong></Link> in {r.environment} — {r.status.replace('_', ' ')}, at {r.percentage ?? 0}%
                <ProgressBar value={r.step - 1} max={r.total_steps} label={`${r.flag_key} in ${r.environment}: step ${r.step} of ${r.total_steps}`} />
                <small className="muted">step {r.step} of {r.total_steps}; {r.status === 'paused' ? `paused${r.paused_reason ? `: ${r.paused_reason}` : ''}` : r.status === 'waiting_approval' ? `waiting for approval${r.approval_deadline ? ` (${timeLeft(r.approval_deadline)} left, until ${time(r.approval_deadline)})` : ''}` : r.next_change_at ? `next change ${time(r.next_change_at)}` : 'applying'}
                  {r.started_by ? <> · started by <ActorName id={r.started_by} /></> : ''} · <a href={r.url} target="_blank" rel="noreferrer">workflow</a></small>
              </li>
            ))}
          </ul>
        </section>
        <section aria-labelledby="kills-title" className="card" aria-busy={kills.loading && !kills.data}>
          <h2 id="kills-title">Recent kills</h2>
          <ErrorBox error={kills.error} />
          {!kills.data && !kills.error && <SkeletonLines n={2} />}
          {kills.data?.events.length === 0 && <p className="muted">None.</p>}
          <ul className="plain">
            {kills.data?.events.map((e) => (
              <li key={e.id} data-kill={`${e.resource_id}:${e.environment ?? ''}`}>
                <Link to={`/flags/${enc(e.resource_id)}/${enc(e.environment ?? '')}`}><strong>{e.resource_id}</strong></Link> in {e.environment} by {actorLabel(e)}{' '}
                {killedNow.data && (stillKilled(e.resource_id, e.environment)
                  ? <span className="badge kill-active" data-testid="kill-state">still killed</span>
                  : <span className="badge kill-restored" data-testid="kill-state">restored</span>)}
                <div className="small muted">{time(e.timestamp)} — {e.reason ?? ''}</div>
              </li>
            ))}
          </ul>
        </section>
      </div>

      <ErrorBox error={flags.error} />
      {page && <p className="muted small" role="status">{page.total === 1 ? '1 flag matches' : `${page.total} flags match`}{cursor ? ' (a later page)' : ''}.</p>}
      <div className="table-wrap">
        <table className="flags" aria-busy={flags.loading}>
          <caption className="sr-only">Flags and their state in each environment</caption>
          <thead>
            <tr><th scope="col">Flag</th>{environments.map((e) => <th scope="col" key={e}>{e}</th>)}<th scope="col">Evaluations/min</th></tr>
          </thead>
          <tbody>
            {loading && Array.from({ length: 8 }, (_, i) => (
              <tr key={i} className="skeleton-row" aria-hidden="true">
                <th scope="row"><span className="skeleton" /></th>{environments.map((e) => <td key={e} data-label={e}><span className="skeleton short" /></td>)}<td><span className="skeleton short" /></td>
              </tr>
            ))}
            {page?.flags.map((f) => {
              const rates = f.evaluations_per_minute;
              const last = rates.at(-2) ?? 0;
              return (
                <tr key={f.key} data-flag={f.key}>
                  <th scope="row">
                    <Link to={`/flags/${enc(f.key)}`}>{f.key}</Link>{f.lifecycle && <> <LifecycleBadge lifecycle={f.lifecycle} /></>}
                    <div className="muted small">{f.name}{f.archived ? ' · archived' : ''} · revision {f.revision}</div>
                    <div>{f.tags.map((t) => <span className="tag" key={t}>{t}</span>)}</div>
                    {f.rollouts.map((r) => <div key={r.rollout_id} className="small">rollout in {r.environment}: {r.status.replace('_', ' ')}, step {r.step} of {r.total_steps}</div>)}
                  </th>
                  {environments.map((e) => {
                    const s = f.environments[e];
                    return (
                      <td key={e} data-env={e} data-state={s?.state} data-label={e}>
                        {s ? <Link to={`/flags/${enc(f.key)}/${enc(e)}`} aria-label={`${f.key} in ${e}: ${s.state === 'percentage' ? `${s.percentage}%` : s.state}`}>
                          <StateBadge state={s.state} percentage={s.percentage ?? undefined} /></Link> : '–'}
                      </td>
                    );
                  })}
                  <td data-label="evaluations/min">
                    <Sparkline values={rates} label={`evaluations per minute of ${f.key}: ${last} in the last full minute`} />
                    <span className="small muted"> {last}</span>
                  </td>
                </tr>
              );
            })}
            {page && page.flags.length === 0 && <tr><td colSpan={environments.length + 2}>No flags match.</td></tr>}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages of flags">
        {cursor && <Link to={dashboardUrl(applied)}>First page</Link>}
        {page?.next_cursor && <Link to={dashboardUrl(applied, page.next_cursor)}>Next page</Link>}
      </nav>
    </section>
  );
}

function SkeletonLines({ n }: { n: number }) {
  return <div aria-hidden="true">{Array.from({ length: n }, (_, i) => <span key={i} className="skeleton block" />)}</div>;
}

function NewFlag() {
  const { api, can } = useSession();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ key: '', name: '', description: '', type: 'boolean', tags: '' });
  const create = useAction(async () => {
    const tags = form.tags.split(',').map((t) => t.trim()).filter(Boolean);
    const flag = await api.request<{ key: string }>('POST', '/api/v1/flags', { body: { key: form.key, name: form.name, description: form.description || undefined, type: form.type, tags } });
    navigate(`/flags/${enc(flag.key)}`);
  });
  const allowed = can({ resource: 'flag', action: 'write', tags: form.tags.split(',').map((t) => t.trim()).filter(Boolean) });
  if (!open) return <WriteButton allowed={can({ resource: 'flag', action: 'write', tags: [] })} className="primary" onClick={() => setOpen(true)}>New flag</WriteButton>;
  return (
    <form className="card new-flag" aria-label="New flag" noValidate onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
      <Field label="Key" error={create.error} path="key">{(p) => <input {...p} required value={form.key} onChange={(e) => setForm({ ...form, key: e.target.value })} />}</Field>
      <Field label="Name" error={create.error} path="name">{(p) => <input {...p} required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}</Field>
      <Field label="Type" error={create.error} path="type">{(p) => (
        <select {...p} value={form.type} onChange={(e) => setForm({ ...form, type: e.target.value })}>
          {['boolean', 'string', 'number', 'json'].map((t) => <option key={t}>{t}</option>)}
        </select>)}</Field>
      <Field label="Tags" hint="comma-separated" error={create.error} path="tags">{(p) => <input {...p} value={form.tags} onChange={(e) => setForm({ ...form, tags: e.target.value })} />}</Field>
      <Field label="Description" error={create.error} path="description" className="wide">{(p) => <input {...p} value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} />}</Field>
      <ErrorBox error={create.error} showIssues={false} />
      <div className="actions">
        <WriteButton allowed={allowed} className="primary" type="submit" disabled={create.busy}>Create flag</WriteButton>
        <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}
