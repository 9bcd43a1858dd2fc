import { useState, type FormEvent } from 'react';
import { enc, query, type Json } from '../api.ts';
import { ErrorBox, Field, ProgressBar, Sparkline, StateBadge, time, useAction, WriteButton } from '../components.tsx';
import { RUNNING, ratesOf, recordEvaluations, stateOf } from '../flag-state.ts';
import { useInterval, useLoad } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';

interface Filters { q: string; tag: string; environment: string; state: string }

/** Flags × environments at a glance, running rollouts, recent kills, evaluation rates. */
export function Dashboard() {
  const { api, environments } = useSession();
  const [filters, setFilters] = useState<Filters>({ q: '', tag: '', environment: '', state: 'active' });
  const [applied, setApplied] = useState<Filters>(filters);
  const [, setTick] = useState(0);

  const flags = useLoad(async (signal) => {
    const page = await api.get(`/api/v1/flags${query({ ...applied, limit: 100 })}`, signal);
    // The list has on/off/killed; the configs add percentages and rollout blocks.
    const details = await Promise.all(page.flags.map((f: Json) => api.get(`/api/v1/flags/${enc(f.key)}`, signal).catch(() => f)));
    return { flags: details as Json[], more: Boolean(page.next_cursor) };
  }, [applied]);

  const rollouts = useLoad(async (signal) => {
    const list = flags.data?.flags ?? [];
    const candidates = list.flatMap((f) => Object.entries(f.environments ?? {})
      .filter(([, c]) => (c as Json)?.rollout).map(([env]) => ({ key: f.key as string, env })));
    const answers = await Promise.all(candidates.map(async ({ key, env }) => {
      const r = await api.get(`/api/v1/flags/${enc(key)}/environments/${enc(env)}/rollouts`, signal).catch(() => null);
      return r?.current && RUNNING.has(r.current.status) ? r.current : null;
    }));
    return answers.filter(Boolean) as Json[];
  }, [flags.data]);

  const kills = useLoad((signal) => api.get('/api/v1/audit?action=kill_switch.activated&limit=5', signal), []);

  const pollMetrics = async () => {
    const list = (flags.data?.flags ?? []).filter((f) => !f.archived).slice(0, 50);
    await Promise.all(list.map(async (f) => {
      const m = await api.get(`/api/v1/flags/${enc(f.key)}/metrics`).catch(() => null);
      if (m) recordEvaluations(f.key, m.evaluation_count);
    }));
    setTick((t) => t + 1);
  };
  useInterval(() => void pollMetrics(), flags.data ? 5000 : null);
  useInterval(() => void rollouts.reload(), 10_000);
  // A kill's audit event is written by its workflow a moment after the kill itself.
  useInterval(() => void kills.reload(), 5000);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setApplied(filters);
  };

  return (
    <section aria-labelledby="dash-title">
      <div className="page-head">
        <h1 id="dash-title">Flags</h1>
        <NewFlag />
      </div>

      <form className="filters" onSubmit={apply} role="search" aria-label="Filter flags">
        <div className="field"><label htmlFor="f-q">Search</label>
          <input id="f-q" type="search" value={filters.q} placeholder="key, name or description" onChange={(e) => setFilters({ ...filters, q: e.target.value })} /></div>
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
        <button type="submit">Filter</button>
      </form>

      <ErrorBox error={flags.error} />
      <div className="table-wrap">
        <table className="flags" aria-busy={flags.loading}>
          <caption className="sr-only">Flags and their state in each environment</caption>
          <thead>
            <tr><th scope="col">Flag</th>{environments.map((e) => <th scope="col" key={e}>{e}</th>)}<th scope="col">Evaluations/s</th></tr>
          </thead>
          <tbody>
            {flags.data?.flags.map((f) => {
              const rates = ratesOf(f.key);
              return (
                <tr key={f.key} data-flag={f.key}>
                  <th scope="row">
                    <Link to={`/flags/${enc(f.key)}`}>{f.key}</Link>
                    <div className="muted small">{f.name}{f.archived ? ' · archived' : ''}</div>
                    <div>{f.tags?.map((t: string) => <span className="tag" key={t}>{t}</span>)}</div>
                  </th>
                  {environments.map((e) => {
                    const s = stateOf(f.environments?.[e]);
                    return <td key={e} data-env={e} data-state={s.state}><StateBadge {...s} /></td>;
                  })}
                  <td>
                    <Sparkline values={rates} label={`evaluations per second of ${f.key}: ${rates.length ? rates.at(-1)!.toFixed(1) : 'no data yet'}`} />
                    <span className="small muted"> {rates.length ? rates.at(-1)!.toFixed(1) : ''}</span>
                  </td>
                </tr>
              );
            })}
            {flags.data && flags.data.flags.length === 0 && <tr><td colSpan={environments.length + 2}>No flags match.</td></tr>}
          </tbody>
        </table>
      </div>
      {flags.data?.more && <p className="muted">Showing the first 100 flags; narrow the filters to see others.</p>}

      <div className="two-col">
        <section aria-labelledby="ro-title" className="card">
          <h2 id="ro-title">Running rollouts</h2>
          {rollouts.data?.length === 0 && <p className="muted">None.</p>}
          <ul className="plain">
            {rollouts.data?.map((r) => (
              <li key={r.rolloutId} data-rollout={`${r.flagKey}:${r.environment}`}>
                <Link to={`/flags/${enc(r.flagKey)}/${enc(r.environment)}`}><strong>{r.flagKey}</strong></Link> in {r.environment} — {r.status.replace('_', ' ')}, at {r.percentage ?? 0}%
                <ProgressBar value={r.step} max={r.totalSteps} label={`${r.flagKey} in ${r.environment}: step ${r.step} of ${r.totalSteps}`} />
                <small className="muted">step {Math.min(r.step + 1, r.totalSteps)} of {r.totalSteps}; next change {r.status === 'paused' ? 'when resumed' : r.status === 'waiting_approval' ? 'after approval' : r.nextChangeAt ? time(r.nextChangeAt) : '–'}</small>
              </li>
            ))}
          </ul>
        </section>
        <section aria-labelledby="kills-title" className="card">
          <h2 id="kills-title">Recent kills</h2>
          <ErrorBox error={kills.error} />
          {kills.data?.events.length === 0 && <p className="muted">None.</p>}
          <ul className="plain">
            {kills.data?.events.map((e: Json) => (
              <li key={e.id}>
                <Link to={`/flags/${enc(e.resourceId)}/${enc(e.environment ?? '')}`}><strong>{e.resourceId}</strong></Link> in {e.environment} by {e.userId}
                <div className="small muted">{time(e.timestamp)} — {e.reason ?? e.newValue?.kill_switch?.reason ?? ''}</div>
              </li>
            ))}
          </ul>
        </section>
      </div>
    </section>
  );
}

function NewFlag() {
  const { api, can } = useSession();
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ key: '', name: '', description: '', type: 'boolean', tags: '' });
  const create = useAction(async () => {
    const tags = form.tags.split(',').map((t) => t.trim()).filter(Boolean);
    const flag = await api.request('POST', '/api/v1/flags', { body: { key: form.key, name: form.name, description: form.description || undefined, type: form.type, tags } });
    navigate(`/flags/${enc(flag.key)}`);
  });
  const allowed = can({ resource: 'flag', action: 'write', tags: form.tags.split(',').map((t) => t.trim()).filter(Boolean) });
  if (!open) return <WriteButton allowed={can({ resource: 'flag', action: 'write', tags: [] })} className="primary" onClick={() => setOpen(true)}>New flag</WriteButton>;
  return (
    <form className="card new-flag" aria-label="New flag" onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
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
