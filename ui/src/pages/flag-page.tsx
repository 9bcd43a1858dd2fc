import { useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { useLiveEvents } from '../live.tsx';
import { MetricsPanel } from './metrics-panel.tsx';
import { ApiError, enc } from '../api.ts';
import type { Flag, ScheduledChangeCreated } from '../../../src/protocol/admin-api.ts';
import { ErrorBox, Field, StateBadge, time, useAction, WriteButton } from '../components.tsx';
import { stateOf } from '../flag-state.ts';
import { useLoad } from '../hooks.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { FlagHistory } from './flag-history.tsx';
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
import { ActorName } from '../names.tsx';

/** The flag page's sections, in the order LaunchDarkly's and Unleash's users know. */
export const FLAG_TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'targeting', label: 'Targeting & variants' },
  { id: 'rollouts', label: 'Rollouts' },
  { id: 'insights', label: 'Insights' },
  { id: 'history', label: 'History' },
  { id: 'settings', label: 'Settings' },
] as const;
export type FlagTab = (typeof FLAG_TABS)[number]['id'];
const isTab = (t: string | null): t is FlagTab => FLAG_TABS.some((x) => x.id === t);

/** Where the last environment someone opened a flag in is kept: the next flag opens there. */
const LAST_ENV_KEY = 'ripcord.lastEnvironment';

/** Moves focus and selection along a tablist with the arrow keys (WAI-ARIA tabs). */
function arrowKeys<T extends string>(items: readonly T[], selected: T, select: (item: T) => void, idOf: (item: T) => string) {
  return (event: KeyboardEvent) => {
    const i = items.indexOf(selected);
    const next = event.key === 'ArrowRight' ? i + 1 : event.key === 'ArrowLeft' ? i - 1 : event.key === 'Home' ? 0 : event.key === 'End' ? items.length - 1 : null;
    if (next === null) return;
    event.preventDefault();
    const target = items[(next + items.length) % items.length]!;
    select(target);
    document.getElementById(idOf(target))?.focus();
  };
}

/**
 * One flag: its state in every environment, then tabs (the tab is in the address, `?tab=`): overview
 * (kill switch, what is served, waiting requests, alert triggers), targeting and variants (the config
 * editor, "evaluate as…", scheduled changes), rollouts (rollouts, release pipelines), insights
 * (evaluations, code references), history (the flag's audit trail) and settings (name, tags, archive).
 */
export function FlagPage({ flagKey, env }: { flagKey: string; env?: string }) {
  const { api, environments } = useSession();
  const { search } = useLocation();
  const flag = useLoad((signal) => api.get<Flag>(`/api/v1/flags/${enc(flagKey)}`, signal), [flagKey]);
  // The address names the environment; without one, the flag opens where the last one was used (else production).
  const remembered = localStorage.getItem(LAST_ENV_KEY);
  const selected = env && environments.includes(env) ? env
    : remembered && environments.includes(remembered) ? remembered
    : environments.includes('production') ? 'production' : (environments[0] ?? 'production');
  useEffect(() => localStorage.setItem(LAST_ENV_KEY, selected), [selected]);
  const tabParam = search.get('tab');
  const tab: FlagTab = isTab(tabParam) ? tabParam : 'overview';
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
  const address = (e: string, t: FlagTab) => `/flags/${enc(flagKey)}/${enc(e)}${t === 'overview' ? '' : `?tab=${t}`}`;
  const selectEnv = (e: string) => navigate(address(e, tab), true);
  const selectTab = (t: FlagTab) => navigate(address(selected, t), true);
  const onEnvKey = arrowKeys(environments, selected, selectEnv, (e) => `tab-${e}`);
  const tabIds = FLAG_TABS.map((t) => t.id);
  const onTabKey = arrowKeys(tabIds, tab, selectTab, (t) => `section-${t}`);

  if (flag.error) return <section><p><Link to="/">← Flags</Link></p><ErrorBox error={flag.error} /></section>;
  if (!flag.data) return <p role="status">Loading {flagKey}…</p>;
  const f = flag.data;
  const config = f.environments[selected];
  const reload = () => void flag.reload();
  const perEnvironment = tab === 'overview' || tab === 'targeting' || tab === 'rollouts' || tab === 'insights';
  const envPanel = (content: ReactNode) => (config ? content : <p>This flag has no config in {selected}.</p>);
  return (
    <section aria-labelledby="flag-title">
      <p><Link to="/">← Flags</Link></p>
      <div className="page-head">
        <h1 id="flag-title"><code>{f.key}</code> <span className="muted small">{f.name !== f.key ? `${f.name} · ` : ''}{f.type} · revision <span data-testid="revision">{f.revision}</span>{f.archived ? ' · archived' : ''}</span>{f.lifecycle && <> <LifecycleBadge lifecycle={f.lifecycle} /></>}</h1>
      </div>

      <div role="tablist" aria-label="Environments" className="tabs env-tabs" onKeyDown={onEnvKey}>
        {environments.map((e) => (
          <button key={e} role="tab" id={`tab-${e}`} aria-selected={e === selected} aria-controls="flag-section" tabIndex={e === selected ? 0 : -1} onClick={() => selectEnv(e)}>
            {e} <StateBadge {...stateOf(f.environments[e])} />
          </button>
        ))}
      </div>
      <div role="tablist" aria-label="Sections" className="tabs section-tabs" onKeyDown={onTabKey}>
        {FLAG_TABS.map((t) => (
          <button key={t.id} role="tab" id={`section-${t.id}`} aria-selected={t.id === tab} aria-controls="flag-section" tabIndex={t.id === tab ? 0 : -1} onClick={() => selectTab(t.id)}>
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="flag-section" aria-labelledby={`section-${tab}`} className="env-panel" data-tab={tab} data-environment={perEnvironment ? selected : undefined}>
        {(tab === 'overview' || tab === 'targeting' || tab === 'rollouts') && config && <WaitingRequestsBanner key={`w-${selected}`} flagKey={f.key} env={selected} liveTick={liveTick} />}
        {tab === 'overview' && envPanel(config && <>
          <KillSwitchPanel key={`k-${selected}`} flag={f} env={selected} config={config} liveTick={liveTick} onChanged={reload} />
          <ServedVariants config={config} />
          <AlertTriggersPanel key={`t-${selected}`} flag={f} env={selected} liveTick={liveTick} />
        </>)}
        {tab === 'targeting' && envPanel(config && <>
          <ServedVariants config={config} />
          <div className="two-col wide-left">
            <ConfigEditor key={`c-${selected}`} flag={f} env={selected} config={config} onSaved={reload} onScheduled={(change) => setScheduled({ env: selected, change })} />
            <ExplainPanel key={`e-${selected}`} flagKey={f.key} env={selected} />
          </div>
          <ScheduledChangesPanel key={`s-${selected}`} flag={f} env={selected} scheduled={scheduled?.env === selected ? scheduled.change : null} onApplied={reload} />
        </>)}
        {tab === 'rollouts' && envPanel(<>
          <RolloutsPanel key={`r-${selected}`} flag={f} env={selected} liveTick={liveTick} onChanged={reload} />
          <PipelinesPanel flagKey={f.key} />
        </>)}
        {tab === 'insights' && <>
          {config && <MetricsPanel key={`m-${selected}`} flagKey={f.key} env={selected} />}
          <CodeReferencesPanel flagKey={f.key} />
        </>}
        {tab === 'history' && <FlagHistory flagKey={f.key} liveTick={liveTick} />}
        {tab === 'settings' && <Identity flag={f} onSaved={reload} />}
      </div>
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
    <section className="card identity" aria-labelledby="identity-title">
      <h3 id="identity-title">Details</h3>
      <p className="small muted">Updated {time(flag.updated_at)} by <ActorName id={flag.updated_by} />.</p>
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
    </section>
  );
}
