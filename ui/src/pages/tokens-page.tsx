import { useState } from 'react';
import { enc } from '../api.ts';
import type { Token, TokenCreated, TokenPage, UserPage } from '../../../src/protocol/admin-api.ts';
import { ErrorBox, Field, time, useAction, WriteButton } from '../components.tsx';
import { useConfirm } from '../confirm.tsx';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';

/** API tokens: create (the secret is shown once, here), list, revoke. */
export function TokensPage() {
  const { api, can, me, environments } = useSession();
  const isAdmin = can({ resource: 'user', action: 'write' }).allowed;
  const list = useLoad((signal) => api.get<TokenPage>('/api/v1/tokens?limit=500', signal), []);
  const users = useLoad(async (signal) => (isAdmin ? (await api.get<UserPage>('/api/v1/users?limit=500', signal)).users : []), [isAdmin]);
  const [form, setForm] = useState({ name: '', kind: 'server', environment: environments.at(-1) ?? 'production', user_id: '' });
  const [secret, setSecret] = useState<TokenCreated | null>(null);
  const [copied, setCopied] = useState(false);
  const allowedFor = (kind: string, environment: string) =>
    kind === 'admin' ? (form.user_id && form.user_id !== me.id ? can({ resource: 'user', action: 'write' }) : { allowed: true as const })
      : can({ resource: 'environment', action: 'write', environment });
  const allowed = allowedFor(form.kind, form.environment);
  const create = useAction(async () => {
    const body: { name: string; kind: string; environment?: string; user_id?: string } = { name: form.name, kind: form.kind };
    if (form.kind !== 'admin') body.environment = form.environment;
    else if (form.user_id) body.user_id = form.user_id;
    const answer = await api.request<TokenCreated>('POST', '/api/v1/tokens', { body });
    setSecret(answer);
    setCopied(false);
    setForm({ ...form, name: '' });
    await list.reload();
  });
  const confirm = useConfirm();
  const nameOf = (id: string | null) => (!id ? '–' : id === me.id ? `${me.name} (you)` : (users.data ?? []).find((u) => u.id === id)?.name ?? id);
  const revoke = useAction(async (token: Token) => {
    const ok = await confirm({
      title: `Revoke the token “${token.name}”?`,
      effect: <p>Every request with this {token.kind} token{token.environment ? ` (${token.environment})` : ''} is refused from now on, in every API process at once{token.kind === 'admin' ? `; it acts as ${nameOf(token.user_id)}` : ''}. A revoked token cannot be restored: whoever uses it needs a new one.</p>,
      confirmLabel: 'Revoke token',
    });
    if (!ok) return;
    await api.request('DELETE', `/api/v1/tokens/${enc(token.id)}`);
    await list.reload();
  });
  return (
    <section aria-labelledby="tokens-title">
      <h1 id="tokens-title">API tokens</h1>
      {secret && (
        <div className="card secret" role="alert" data-testid="token-secret">
          <p><strong>Copy the secret of “{secret.name}” now — it is shown only once.</strong></p>
          <p><code className="mono">{secret.token}</code></p>
          <button onClick={() => void navigator.clipboard?.writeText(secret.token).then(() => setCopied(true), () => undefined)}>{copied ? 'Copied' : 'Copy'}</button>
          <button className="link" onClick={() => setSecret(null)}>I have stored it</button>
        </div>
      )}
      <form className="card" aria-label="New token" noValidate onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
        <h2>New token</h2>
        <div className="grid4">
          <Field label="Name" error={create.error} path="name">{(p) => <input {...p} required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}</Field>
          <Field label="Kind" error={create.error} path="kind" hint={form.kind === 'client' ? 'evaluate only' : form.kind === 'server' ? 'evaluate, stream, read definitions' : 'acts as a user under RBAC'}>{(p) => (
            <select {...p} value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value })}><option>client</option><option>server</option><option>admin</option></select>)}</Field>
          {form.kind !== 'admin' ? (
            <Field label="Environment" error={create.error} path="environment">{(p) => (
              <select {...p} value={form.environment} onChange={(e) => setForm({ ...form, environment: e.target.value })}>{environments.map((e) => <option key={e}>{e}</option>)}</select>)}</Field>
          ) : isAdmin ? (
            <Field label="Acts as" error={create.error} path="user_id">{(p) => (
              <select {...p} value={form.user_id} onChange={(e) => setForm({ ...form, user_id: e.target.value })}>
                <option value="">me ({me.name})</option>{(users.data ?? []).filter((u) => !u.deactivated_at).map((u) => <option key={u.id} value={u.id}>{u.name} ({u.role})</option>)}
              </select>)}</Field>
          ) : null}
        </div>
        <ErrorBox error={create.error} showIssues={false} />
        <WriteButton allowed={allowed} className="primary" type="submit" disabled={create.busy}>Create token</WriteButton>
      </form>
      <ErrorBox error={list.error ?? revoke.error} />
      <div className="table-wrap"><table className="cards" aria-label="Tokens">
        <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Environment</th><th scope="col">Owner / acts as</th><th scope="col">Prefix</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Status</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>{list.data?.tokens.map((t) => (
          <tr key={t.id} data-token={t.id}>
            <th scope="row" data-field="name">{t.name}</th><td data-label="Kind" data-field="kind">{t.kind}</td><td data-label="Environment" data-field="environment">{t.environment ?? 'any'}</td>
            <td data-label="Owner / acts as" data-field="owner">{t.kind === 'admin' ? <>acts as {nameOf(t.user_id)}</> : <>made by {nameOf(t.created_by)}</>}</td><td data-label="Prefix"><code>{t.prefix ?? ''}…</code></td>
            <td data-label="Created">{time(t.created_at)}</td><td data-label="Last used">{time(t.last_used_at)}</td><td data-label="Status" data-field="status">{t.revoked_at ? `revoked ${time(t.revoked_at)}` : 'active'}</td>
            <td data-field="actions">{!t.revoked_at && <button className="danger-link" data-write="" onClick={() => void revoke.run(t)}>Revoke</button>}</td>
          </tr>
        ))}</tbody>
      </table></div>
    </section>
  );
}
