import { useEffect, useId, useRef, useState } from 'react';
import { enc } from '../api.ts';
import type { Flag, ScheduledChange, ScheduledChangeCreated, ScheduledChangeList } from '../../../src/protocol/admin-api.ts';
import { ErrorBox, time, useAction, WorkflowLink, WriteButton } from '../components.tsx';
import { useInterval, useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';

/** The path of a flag's scheduled changes in one environment. */
export const scheduledChangesPath = (flagKey: string, env: string) => `/api/v1/flags/${enc(flagKey)}/environments/${enc(env)}/scheduled-changes`;

/** A `datetime-local` value (the browser's local time) as an ISO 8601 instant with its UTC offset, e.g. 2030-01-01T09:00:00+01:00. */
export function localToIso(value: string): string | null {
  const d = new Date(value);
  if (!value || Number.isNaN(d.getTime())) return null;
  const pad = (n: number) => String(Math.trunc(Math.abs(n))).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    + `${offset < 0 ? '-' : '+'}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** A `datetime-local` value for an instant, in the browser's local time (seconds included). */
export function isoToLocal(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const STATUS_TEXT: Record<string, string> = { RUNNING: 'pending', COMPLETED: 'applied', CANCELLED: 'cancelled', FAILED: 'failed', TERMINATED: 'terminated', TIMED_OUT: 'timed out' };

/**
 * Scheduled changes of a flag in one environment (scheduledChange workflows): when, state, who, why, the workflow;
 * cancel a pending one. New ones are scheduled from the config editor; `scheduled` is the answer of the latest.
 */
export function ScheduledChangesPanel({ flag, env, scheduled, onApplied }: { flag: Flag; env: string; scheduled: ScheduledChangeCreated | null; onApplied: () => void }) {
  const { api, can } = useSession();
  const allowed = can({ resource: 'flag', action: 'write', environment: env, tags: flag.tags });
  const base = scheduledChangesPath(flag.key, env);
  const list = useLoad((signal) => api.get<ScheduledChangeList>(base, signal), [base]);
  const changes = list.data?.changes ?? [];
  const [workflow, setWorkflow] = useState<{ id: string; url: string; status: string } | null>(null);
  const id = useId();

  // The list comes from Temporal's visibility store, which trails a start or a cancel by a moment: poll quickly
  // until the latest change shows, then every few seconds while one is pending (to see it apply).
  const missing = scheduled && !changes.some((c) => c.id === scheduled.id);
  const pending = changes.some((c) => c.status === 'RUNNING');
  useInterval(() => void list.reload(), missing ? 1000 : pending ? 2000 : null);
  useEffect(() => {
    if (scheduled) {
      setWorkflow({ id: scheduled.workflow_id, url: scheduled.url, status: `scheduled for ${time(scheduled.at)}` });
      void list.reload();
    }
  }, [scheduled]);

  // A change that went from pending to applied changed the config: tell the page to load it.
  const seen = useRef(new Map<string, string>());
  useEffect(() => {
    let applied = false;
    for (const c of changes) {
      if (seen.current.get(c.id) === 'RUNNING' && c.status === 'COMPLETED') applied = true;
      seen.current.set(c.id, c.status);
    }
    if (applied) onApplied();
  }, [list.data]);

  const cancel = useAction(async (change: ScheduledChange) => {
    await api.request('DELETE', `${base}/${enc(change.id)}`);
    setWorkflow({ id: change.workflow_id, url: change.url, status: 'cancelled' });
    await list.reload();
  });

  return (
    <section className="card" aria-labelledby={`${id}-h`} data-testid="scheduled-changes">
      <h3 id={`${id}-h`}>Scheduled changes in {env}</h3>
      <p className="muted small">A scheduled change replaces the whole {env} config at its time. Schedule one from the configuration editor: “Review changes”, then “Schedule these edits instead of saving now”.</p>
      <ErrorBox error={list.error ?? cancel.error} />
      {workflow && <WorkflowLink workflow={workflow} />}
      {changes.length === 0 ? <p className="muted">{list.loading && !list.data ? 'Loading…' : 'None.'}</p> : (
        <div className="table-wrap"><table>
          <caption className="sr-only">Scheduled changes of {flag.key} in {env}</caption>
          <thead><tr><th scope="col">At</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">By</th><th scope="col">Workflow</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>{changes.map((c) => (
            <tr key={c.id} data-change={c.id} data-status={c.status}>
              <th scope="row">{time(c.at)}</th>
              <td><span className={`badge sc-${c.status}`} data-testid="change-status">{STATUS_TEXT[c.status] ?? c.status.toLowerCase()}</span></td>
              <td>{c.reason ?? '–'}</td>
              <td>{c.scheduled_by ?? '–'}</td>
              <td><code className="small" data-testid="change-workflow-id">{c.workflow_id}</code>{c.url && <> — <a href={c.url} target="_blank" rel="noreferrer" aria-label={`open ${c.workflow_id} in Temporal UI`}>open in Temporal UI</a></>}</td>
              <td>{c.status === 'RUNNING' && (
                <WriteButton allowed={allowed} className="danger-link" disabled={cancel.busy} onClick={() => void cancel.run(c)} aria-label={`Cancel the change scheduled for ${time(c.at)}`}>Cancel</WriteButton>
              )}</td>
            </tr>
          ))}</tbody>
        </table></div>
      )}
    </section>
  );
}
