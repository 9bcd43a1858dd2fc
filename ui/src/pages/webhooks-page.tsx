import { useState } from 'react';
import { enc } from '../api.ts';
import type { WebhookCreated, WebhookDeliveries, WebhookList } from '../../../src/protocol/admin-api.ts';
import { ErrorBox, Field, time, useAction } from '../components.tsx';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';

const EVENTS = ['flag.updated', 'flag.killed', 'flag.restored', 'rollout.*', 'rollout.step', 'rollout.rolled_back', 'rollout.aborted', '*'];

/** Webhooks (admins): register a URL with event filters (the signing secret is shown once), enable/disable, delivery log. */
export function WebhooksPage() {
  const { api, can } = useSession();
  const allowed = can({ resource: 'user', action: 'write' });
  const list = useLoad(async (signal) => (allowed.allowed ? api.get<WebhookList>('/api/v1/webhooks', signal) : null), []);
  const [form, setForm] = useState<{ url: string; events: string[] }>({ url: '', events: ['flag.killed', 'flag.restored'] });
  const [secret, setSecret] = useState<WebhookCreated | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const create = useAction(async () => {
    setSecret(await api.request<WebhookCreated>('POST', '/api/v1/webhooks', { body: form }));
    setForm({ ...form, url: '' });
    await list.reload();
  });
  const change = useAction(async (id: string, method: string, body?: { enabled: boolean }) => {
    await api.request(method, `/api/v1/webhooks/${enc(id)}`, { body });
    await list.reload();
  });
  if (!allowed.allowed) return <section><h1>Webhooks</h1><p className="note">Webhooks are for admins: {allowed.reason}.</p></section>;
  return (
    <section aria-labelledby="wh-title">
      <h1 id="wh-title">Webhooks</h1>
      {secret && (
        <div className="card secret" role="alert">
          <p><strong>Signing secret of {secret.url} — shown only once:</strong></p>
          <p><code>{secret.secret}</code></p>
          <button className="link" onClick={() => setSecret(null)}>I have stored it</button>
        </div>
      )}
      <ErrorBox error={list.error ?? change.error} />
      <div className="table-wrap"><table>
        <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Enabled</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>{list.data?.webhooks.map((w) => (
          <tr key={w.id}>
            <th scope="row">{w.url}</th><td>{w.events.join(', ')}</td><td>{w.enabled ? 'yes' : 'no'}</td>
            <td className="actions">
              <button data-write="" onClick={() => void change.run(w.id, 'PATCH', { enabled: !w.enabled })}>{w.enabled ? 'Disable' : 'Enable'}</button>
              <button onClick={() => setOpen(open === w.id ? null : w.id)} aria-expanded={open === w.id}>Deliveries</button>
              <button data-write="" className="danger-link" onClick={() => void change.run(w.id, 'DELETE')}>Delete</button>
            </td>
          </tr>
        ))}
        {list.data?.webhooks.length === 0 && <tr><td colSpan={4}>No webhooks.</td></tr>}</tbody>
      </table></div>
      {open && <Deliveries id={open} />}
      <form className="card" aria-label="New webhook" noValidate onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
        <h2>New webhook</h2>
        <Field label="URL" error={create.error} path="url">{(p) => <input {...p} type="url" required value={form.url} onChange={(e) => setForm({ ...form, url: e.target.value })} />}</Field>
        <fieldset className="plainset"><legend>Events</legend>
          {EVENTS.map((ev) => (
            <label key={ev} className="inline" style={{ marginRight: '1rem' }}>
              <input type="checkbox" checked={form.events.includes(ev)} onChange={(e) => setForm({ ...form, events: e.target.checked ? [...form.events, ev] : form.events.filter((x) => x !== ev) })} /> {ev}
            </label>
          ))}
        </fieldset>
        <ErrorBox error={create.error} />
        <button className="primary" type="submit" data-write="" disabled={create.busy}>Create webhook</button>
      </form>
    </section>
  );
}

function Deliveries({ id }: { id: string }) {
  const { api } = useSession();
  const list = useLoad((signal) => api.get<WebhookDeliveries>(`/api/v1/webhooks/${enc(id)}/deliveries?limit=50`, signal), [id]);
  return (
    <section className="card" aria-label="Delivery log">
      <h2>Delivery log</h2>
      <ErrorBox error={list.error} />
      <div className="table-wrap"><table>
        <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Created</th><th scope="col">Delivered</th></tr></thead>
        <tbody>{list.data?.deliveries.map((d) => (
          <tr key={d.id}><td>{d.event}</td><td>{d.status}</td><td>{d.attempts}</td><td>{d.last_status_code ?? d.last_error ?? '–'}</td><td>{time(d.created_at)}</td><td>{time(d.delivered_at)}</td></tr>
        ))}</tbody>
      </table></div>
    </section>
  );
}
