import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useLiveEvents } from '../live.tsx';
import { MetricsPanel } from './metrics-panel.tsx';
import { ApiError, enc } from '../api.ts';
import type { Flag, ScheduledChangeCreated } from '../../../src/protocol/admin-api.ts';
import { ErrorBox, Field, StateBadge, time, useAction, WriteButton } from '../components.tsx';
import { stateOf } from '../flag-state.ts';
import { useLoad } from '../hooks.ts';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import { AlertTriggersPanel } from './alert-triggers-panel.tsx';
import { CodeReferencesPanel } from './code-references-panel.tsx';
import { PipelinesPanel } from './pipelines-panel.tsx';
import { LifecycleBadge } from './lifecycle-badge.tsx';
import { ConfigEditor } from './config-editor.tsx';
import { WaitingRequestsBanner } from './change-request-notice.tsx';
import { ExplainPanel } from './explain-panel.tsx';
import { KillSwitchPanel } from './kill-switch-panel.tsx';
import { RolloutsPanel } from './rollouts-panel.tsx';
import { ScheduledChangesPanel } from './scheduled-changes-panel.tsx';
import { ServedVariants } from './variants-panel.tsx';

/** One flag: identity, per environment its kill switch, served variants, alert triggers, config, scheduled changes, rollouts and "evaluate as…"; its code references. */
export function FlagPage({ flagKey, env }: { flagKey: string; env?: string }) {
  const { api, environments } = useSession();
  const flag = useLoad((signal) => api.get<Flag>(`/api/v1/flags/${enc(flagKey)}`, signal), [flagKey]);
  // On-call comes here to act on production: open it unless the address names another environment.
  const selected = env && environments.includes(env) ? env : environments.includes('production') ? 'production' : (environments[0] ?? 'production');
  // A change to this flag by anyone (API, Slack, a workflow, another tab) reloads it within a second.
  const [liveTick, setLiveTick] = useState(0);
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(reloadTimer.current), []);
  useLiveEvents((event) => {
    if (event.kind === 'change' && event.change.key !== flagKey) return;
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(() => {
      void flag.reload();
      setLiveTick((t) => t + 1);
    }, 150);
  });
  const [scheduled, setScheduled] = useState<{ env: string; change: ScheduledChangeCreated } | null>(null);
  const select = (e: string) => navigate(`/flags/${enc(flagKey)}/${enc(e)}`, true);

  const onTabKey = (event: KeyboardEvent) => {
    const i = environments.indexOf(selected);
    const next = event.key === 'ArrowRight' ? i + 1 : event.key === 'ArrowLeft' ? i - 1 : null;
    if (next === null) return;
    event.preventDefault();
    const target = environments[(next + environments.length) % environments.length]!;
    select(target);
    document.getElementById(`tab-${target}`)?.focus();
  };

  if (flag.error) return <section><p><Link to="/">← Flags</Link></p><ErrorBox error={flag.error} /></section>;
  if (!flag.data) return <p role="status">Loading {flagKey}…</p>;
  const f = flag.data;
  const config = f.environments[selected];
  return (
    <section aria-labelledby="flag-title">
      <p><Link to="/">← Flags</Link></p>
      <div className="page-head">
        <h1 id="flag-title"><code>{f.key}</code> <span className="muted small">{f.type} · revision <span data-testid="revision">{f.revision}</span>{f.archived ? ' · archived' : ''}</span>{f.lifecycle && <> <LifecycleBadge lifecycle={f.lifecycle} /></>}</h1>
        <div className="env-states">{environments.map((e) => <span key={e} className="small">{e} <StateBadge {...stateOf(f.environments[e])} /> </span>)}</div>
      </div>
      <Identity flag={f} onSaved={() => void flag.reload()} />

      <div role="tablist" aria-label="Environments" className="tabs" onKeyDown={onTabKey}>
        {environments.map((e) => (
          <button key={e} role="tab" id={`tab-${e}`} aria-selected={e === selected} aria-controls={`panel-${e}`} tabIndex={e === selected ? 0 : -1} onClick={() => select(e)}>
            {e} <StateBadge {...stateOf(f.environments[e])} />
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${selected}`} aria-labelledby={`tab-${selected}`} className="env-panel">
        {config ? (
          <>
            <WaitingRequestsBanner key={`w-${selected}`} flagKey={f.key} env={selected} liveTick={liveTick} />
            <KillSwitchPanel key={`k-${selected}`} flag={f} env={selected} config={config} liveTick={liveTick} onChanged={() => void flag.reload()} />
            <ServedVariants config={config} />
            <AlertTriggersPanel key={`t-${selected}`} flag={f} env={selected} liveTick={liveTick} />
            <MetricsPanel key={`m-${selected}`} flagKey={f.key} env={selected} />
            <div className="two-col wide-left">
              <ConfigEditor key={`c-${selected}`} flag={f} env={selected} config={config} onSaved={() => void flag.reload()} onScheduled={(change) => setScheduled({ env: selected, change })} />
              <ExplainPanel key={`e-${selected}`} flagKey={f.key} env={selected} />
            </div>
            <ScheduledChangesPanel key={`s-${selected}`} flag={f} env={selected} scheduled={scheduled?.env === selected ? scheduled.change : null} onApplied={() => void flag.reload()} />
            <RolloutsPanel key={`r-${selected}`} flag={f} env={selected} liveTick={liveTick} onChanged={() => void flag.reload()} />
          </>
        ) : <p>This flag has no config in {selected}.</p>}
      </div>
      <PipelinesPanel flagKey={f.key} />
      <CodeReferencesPanel flagKey={f.key} />
    </section>
  );
}

/** Name, description and tags (PATCH with If-Match); archive and unarchive. The type is fixed at creation. */
function Identity({ flag, onSaved }: { flag: Flag; onSaved: () => void }) {
  const { api, can } = useSession();
  const [form, setForm] = useState({ name: flag.name, description: flag.description, tags: flag.tags.join(', ') });
  const tags = form.tags.split(',').map((t: string) => t.trim()).filter(Boolean);
  const allowed = can({ resource: 'flag', action: 'write', tags: [...flag.tags, ...tags] });
  const deletable = can({ resource: 'flag', action: 'delete', tags: flag.tags });
  const [conflict, setConflict] = useState<string | null>(null);
  const save = useAction(async () => {
    try {
      await api.request('PATCH', `/api/v1/flags/${enc(flag.key)}`, { body: { name: form.name, description: form.description, tags }, headers: { 'if-match': String(flag.version) } });
      setConflict(null);
      onSaved();
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        setConflict(`Someone changed this flag since you opened it (you had version ${flag.version}). Reload to see their name, description and tags, then apply yours again.`);
        return;
      }
      throw error;
    }
  });
  const archive = useAction(async (action: 'archive' | 'unarchive') => {
    await api.request('POST', `/api/v1/flags/${enc(flag.key)}/${action}`, { body: {} });
    onSaved();
  });
  const dirty = form.name !== flag.name || form.description !== flag.description || tags.join(',') !== flag.tags.join(',');
  return (
    <details className="card identity">
      <summary>Details — {flag.name}{flag.tags.length ? ` · ${flag.tags.join(', ')}` : ''} · updated {time(flag.updated_at)} by {flag.updated_by}</summary>
      <form onSubmit={(e) => { e.preventDefault(); void save.run(); }}>
        <fieldset disabled={!allowed.allowed} className="plainset grid3">
          <Field label="Name" error={save.error} path="name">{(p) => <input {...p} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}</Field>
          <Field label="Tags" hint="comma-separated" error={save.error} path="tags">{(p) => <input {...p} value={form.tags} onChange={(e) => setForm({ ...form, tags: e.target.value })} />}</Field>
          <Field label="Type" hint="fixed at creation">{(p) => <input {...p} value={flag.type} readOnly disabled />}</Field>
          <Field label="Description" error={save.error} path="description" className="wide">{(p) => <textarea {...p} rows={2} value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} />}</Field>
        </fieldset>
        {conflict && <p className="error" role="alert">{conflict}</p>}
        <ErrorBox error={save.error ?? archive.error} />
        <div className="actions">
          <WriteButton allowed={allowed} type="submit" disabled={!dirty || save.busy}>Save details</WriteButton>
          {flag.archived
            ? <WriteButton allowed={deletable} type="button" onClick={() => void archive.run('unarchive')}>Unarchive</WriteButton>
            : <WriteButton allowed={deletable} type="button" className="danger-outline" onClick={() => void archive.run('archive')}>Archive (stop serving everywhere)</WriteButton>}
        </div>
      </form>
    </details>
  );
}
