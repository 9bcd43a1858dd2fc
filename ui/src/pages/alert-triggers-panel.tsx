import { useId, useMemo, useState } from 'react';
import { ALERT_SOURCES, type AlertSource } from '../../../src/domain/alert-sources.ts';
import { alertTriggerInputSchema, type AlertTrigger, type AlertTriggerCreated, type AlertTriggerInput, type AlertTriggerList, type AlertTriggerPatch, type Flag } from '../../../src/protocol/admin-api.ts';
import { enc } from '../api.ts';
import { ErrorBox, Field, time, useAction, WriteButton } from '../components.tsx';
import { useConfirm } from '../confirm.tsx';
import { useInterval, useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';
import { numberFrom, refusal } from '../validation.ts';
import { SOURCE_NAMES, TestAlertButton, TestAlertResult, TriggerSetup, useTestAlert } from './trigger-setup.tsx';
import { ActorName } from '../names.tsx';


interface TriggerForm { name: string; source: AlertSource; restore: boolean; minAlerts: string; windowSeconds: string; onlyDuringRollout: boolean }
const EMPTY: TriggerForm = { name: '', source: 'alertmanager', restore: false, minAlerts: '1', windowSeconds: '300', onlyDuringRollout: false };

/** The POST body the form stands for (numbers as typed: the API's schema names a bad one at its field). */
function bodyOf(form: TriggerForm): AlertTriggerInput {
  return {
    name: form.name, source: form.source, restore_on_resolved: form.restore,
    min_alerts: numberFrom(form.minAlerts), window_seconds: numberFrom(form.windowSeconds),
    only_during_rollout: form.onlyDuringRollout,
  };
}

/** How often the list is read again while a trigger is enabled (its counters move without the flag changing). */
const TRIGGER_POLL_MS = 10_000;

/** In words: what the trigger has done, for the counters cell. */
function countsOf(t: AlertTrigger): string {
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return `${count(t.deliveries_received, 'delivery', 'deliveries')}, ${count(t.kills_fired, 'kill', 'kills')}, ${count(t.restores_fired, 'restore', 'restores')}`;
}

/** In words: what makes the trigger act. */
function conditionOf(t: AlertTrigger): string {
  const what = t.min_alerts === 1 ? 'any firing alert' : `${t.min_alerts} distinct alerts firing within ${t.window_seconds} s`;
  return `${what}${t.only_during_rollout ? ', only while a rollout runs' : ''}`;
}

/**
 * A flag's alert triggers in one environment: secret URLs an alerting system calls to pull the kill
 * switch (and, if set, restore on resolved). The URL is shown once, at creation; the list never has it.
 */
export function AlertTriggersPanel({ flag, env, liveTick = 0 }: { flag: Flag; env: string; liveTick?: number }) {
  const { api, can } = useSession();
  const confirm = useConfirm();
  const id = useId();
  const allowed = can({ resource: 'flag', action: 'kill_switch', environment: env, tags: flag.tags });
  const path = `/api/v1/flags/${enc(flag.key)}/environments/${enc(env)}/triggers`;
  // Read again on every change of this flag: a trigger that fired has killed it, and shows when.
  const list = useLoad((signal) => api.get<AlertTriggerList>(path, signal), [path, liveTick]);
  // Deliveries that do not change the flag (repeats, N-of-M not reached) still move the counters.
  const anyEnabled = list.data?.triggers.some((t) => t.enabled) ?? false;
  useInterval(() => void list.reload(), anyEnabled ? TRIGGER_POLL_MS : null);
  const [form, setForm] = useState<TriggerForm>(EMPTY);
  const [open, setOpen] = useState(false);
  const [showProblems, setShowProblems] = useState(false);
  const [created, setCreated] = useState<(AlertTriggerCreated & { url: string }) | null>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const problems = useMemo(() => refusal(alertTriggerInputSchema, bodyOf(form)), [form]);

  const create = useAction(async () => {
    setShowProblems(true);
    if (problems) return;
    const answer = await api.request<AlertTriggerCreated>('POST', path, { body: bodyOf(form) });
    setCreated({ ...answer, url: new URL(answer.path, window.location.origin).href });
    setCopied(null);
    setForm(EMPTY);
    setShowProblems(false);
    setOpen(false);
    await list.reload();
  });
  const remove = useAction(async (trigger: AlertTrigger) => {
    const ok = await confirm({
      title: `Delete the trigger “${trigger.name}”?`,
      effect: <p>Its URL stops working at once: {SOURCE_NAMES[trigger.source]} can no longer kill <strong>{flag.key}</strong> in {env} through it. The flag's state does not change. A deleted trigger cannot be brought back; a new one has a new URL.</p>,
      confirmLabel: 'Delete trigger',
    });
    if (!ok) return;
    await api.request('DELETE', `/api/v1/triggers/${enc(trigger.id)}`);
    await list.reload();
  });
  const toggle = useAction(async (trigger: AlertTrigger) => {
    const enabling = !trigger.enabled;
    const ok = await confirm(enabling ? {
      title: `Enable the trigger “${trigger.name}”?`,
      effect: <p>Its URL works again: the next firing alert from {SOURCE_NAMES[trigger.source]} kills <strong>{flag.key}</strong> in {env}{trigger.restore_on_resolved ? ', and a resolve restores it' : ''}.</p>,
      confirmLabel: 'Enable trigger',
    } : {
      title: `Disable the trigger “${trigger.name}”?`,
      effect: <p>Its URL answers as if it did not exist (404): alerts sent to it are ignored and not recorded, so {SOURCE_NAMES[trigger.source]} cannot kill <strong>{flag.key}</strong> in {env} through it until you enable it again. The URL, its settings and its counts are kept; the flag's state does not change.</p>,
      confirmLabel: 'Disable trigger',
    });
    if (!ok) return;
    await api.request('PATCH', `/api/v1/triggers/${enc(trigger.id)}`, { body: { enabled: enabling } satisfies AlertTriggerPatch });
    await list.reload();
  });
  const test = useTestAlert(() => void list.reload());
  const copy = async (url: string) => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
  };
  const err = (showProblems ? problems : null) ?? create.error;
  const triggers = list.data?.triggers ?? [];

  return (
    <section className="card triggers" aria-labelledby={`${id}-h`} data-testid="alert-triggers">
      <h3 id={`${id}-h`}>Alert triggers in {env}</h3>
      <p className="muted small">A secret URL your alerting system calls: a firing alert pulls the kill switch of {flag.key} in {env}, as the trigger, audited and announced in Slack.</p>

      {created && (
        <div className="secret" role="alert" data-testid="trigger-secret">
          <p><strong>Copy the URL of “{created.name}” now: you will not see it again.</strong> Ripcord keeps only its hash; anyone with the URL can kill this flag.</p>
          <p className="wrap-anywhere"><code className="mono" data-testid="trigger-url">{created.url}</code></p>
          <div className="actions">
            <button type="button" onClick={() => void copy(created.url)}>{copied === 'yes' ? 'Copied' : 'Copy URL'}</button>
            <button type="button" className="link" onClick={() => setCreated(null)}>I have stored it</button>
          </div>
          {copied === 'no' && <p className="field-error">The browser refused the clipboard: select the URL and copy it by hand.</p>}
          <TriggerSetup trigger={created} url={created.url} open />
        </div>
      )}
      <TestAlertResult state={test} />

      <ErrorBox error={list.error ?? remove.error ?? toggle.error} />
      {list.data && triggers.length === 0 && <p className="muted" data-testid="no-triggers">No triggers: nothing outside Ripcord can kill this flag in {env}.</p>}
      {triggers.length > 0 && (
        <div className="table-wrap"><table className="cards" aria-label={`Alert triggers in ${env}`}>
          <thead><tr><th scope="col">Name</th><th scope="col">Source</th><th scope="col">Action</th><th scope="col">Fires on</th><th scope="col">State</th><th scope="col">Counts</th><th scope="col">Last delivery</th><th scope="col">Last fired</th><th scope="col">Created</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>{triggers.map((t) => (
            <tr key={t.id} data-trigger={t.id} data-fired={t.last_fired_at ? 'yes' : 'no'} data-enabled={t.enabled ? 'yes' : 'no'} data-deliveries={t.deliveries_received}>
              <th scope="row" data-field="name">{t.name}</th>
              <td data-label="Source" data-field="source">{SOURCE_NAMES[t.source]}</td>
              <td data-label="Action" data-field="action">{t.restore_on_resolved ? 'kill; restore when resolved' : 'kill'}</td>
              <td data-label="Fires on" data-field="condition">{conditionOf(t)}</td>
              <td data-label="State" data-field="state">{t.enabled ? 'enabled' : <strong>disabled: its URL answers 404</strong>}</td>
              <td data-label="Counts" data-field="counts">{countsOf(t)}</td>
              <td data-label="Last delivery" data-field="last-delivery">{t.last_delivery_at ? time(t.last_delivery_at) : 'never'}</td>
              <td data-label="Last fired" data-field="last-fired">{t.last_fired_at ? `${time(t.last_fired_at)}${t.last_fired_alert ? ` (${t.last_fired_alert})` : ''}` : 'never'}</td>
              <td data-label="Created">{time(t.created_at)} by <ActorName id={t.created_by} /></td>
              <td data-field="actions"><div className="actions">
                <TestAlertButton trigger={t} allowed={allowed} busy={test.send.busy} run={(x) => void test.send.run(x)} />
                <WriteButton allowed={allowed} type="button" className="link" disabled={toggle.busy} onClick={() => void toggle.run(t)}>{t.enabled ? 'Disable' : 'Enable'} {t.name}</WriteButton>
                <WriteButton allowed={allowed} type="button" className="danger-link" disabled={remove.busy} onClick={() => void remove.run(t)}>Delete {t.name}</WriteButton>
              </div></td>
            </tr>
          ))}</tbody>
        </table></div>
      )}
      {triggers.map((t) => <TriggerSetup key={t.id} trigger={t} />)}

      {open ? (
        <form noValidate aria-label={`New alert trigger in ${env}`} onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
          <div className="grid3">
            <Field label="Name" hint="e.g. checkout 5xx rate" error={err} path="name">{(p) => <input {...p} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}</Field>
            <Field label="Alerting system" error={err} path="source">{(p) => (
              <select {...p} value={form.source} onChange={(e) => setForm({ ...form, source: e.target.value as AlertSource })}>
                {ALERT_SOURCES.map((s) => <option key={s} value={s}>{SOURCE_NAMES[s]}</option>)}
              </select>)}</Field>
            <Field label="Action" error={err} path="restore_on_resolved">{(p) => (
              <select {...p} value={form.restore ? 'kill-restore' : 'kill'} onChange={(e) => setForm({ ...form, restore: e.target.value === 'kill-restore' })}>
                <option value="kill">kill on firing</option><option value="kill-restore">kill on firing, restore when resolved</option>
              </select>)}</Field>
            <Field label="Alerts needed" hint="distinct alerts firing within the window" error={err} path="min_alerts">{(p) => (
              <input {...p} type="number" min={1} max={100} step={1} value={form.minAlerts} onChange={(e) => setForm({ ...form, minAlerts: e.target.value })} />)}</Field>
            <Field label="Window (seconds)" hint="10 to 86,400" error={err} path="window_seconds">{(p) => (
              <input {...p} type="number" min={10} max={86_400} step={1} value={form.windowSeconds} onChange={(e) => setForm({ ...form, windowSeconds: e.target.value })} />)}</Field>
            <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span>
              <label className="inline"><input type="checkbox" checked={form.onlyDuringRollout} onChange={(e) => setForm({ ...form, onlyDuringRollout: e.target.checked })} /> Armed only while a rollout runs</label></div>
          </div>
          <ErrorBox error={err} showIssues={false} />
          <div className="actions">
            <WriteButton allowed={allowed} className="primary" type="submit" disabled={create.busy}>{create.busy ? 'Creating…' : 'Create trigger'}</WriteButton>
            <button type="button" onClick={() => { setOpen(false); setShowProblems(false); create.setError(null); }}>Cancel</button>
          </div>
        </form>
      ) : (
        <WriteButton allowed={allowed} type="button" onClick={() => setOpen(true)}>New alert trigger</WriteButton>
      )}
    </section>
  );
}
