import { useEffect, useState } from 'react';
import { enc } from '../api.ts';
import type { User, UserPage } from '../../../src/protocol/admin-api.ts';
import { ErrorBox, Field, time, useAction, WriteButton } from '../components.tsx';
import { useConfirm } from '../confirm.tsx';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';
import { GrantsEditor, grantText } from './grants-editor.tsx';

const ROLES = ['viewer', 'editor', 'emergency_responder', 'admin'];

/** Users and roles (admins only): create, change role, edit grants, deactivate. */
export function UsersPage() {
  const { api, can } = useSession();
  const readable = can({ resource: 'user', action: 'read' });
  const allowed = can({ resource: 'user', action: 'write' });
  const list = useLoad(async (signal) => (readable.allowed ? api.get<UserPage>('/api/v1/users?limit=500&include_deactivated=true', signal) : null), []);
  const [form, setForm] = useState({ email: '', name: '', role: 'viewer', slack_user_id: '' });
  const [editing, setEditing] = useState<string | null>(null);
  const editedUser = editing ? list.data?.users.find((u) => u.id === editing) : undefined;
  // Opening the editor moves focus to it; closing returns focus to the user's button.
  useEffect(() => {
    if (editing) document.getElementById('grants-editor')?.querySelector('h2')?.focus();
  }, [editing]);
  const closeEditor = () => {
    const id = editing;
    setEditing(null);
    setTimeout(() => document.getElementById(`grants-${id}`)?.focus(), 0);
  };
  const [created, setCreated] = useState<User | null>(null);
  const create = useAction(async () => {
    const user = await api.request<User>('POST', '/api/v1/users', { body: { ...form, slack_user_id: form.slack_user_id || undefined } });
    // The form clears only once the user exists, and says so.
    setCreated(user);
    setForm({ email: '', name: '', role: 'viewer', slack_user_id: '' });
    await list.reload();
  });
  const confirm = useConfirm();
  const deactivate = async (u: User) => {
    const ok = await confirm({
      title: `Deactivate ${u.name}?`,
      effect: <p><strong>{u.name}</strong> ({u.email}) can no longer sign in or act: every token of theirs is revoked in every API process at once, and Slack commands from their account are refused. Their audit history stays.</p>,
      confirmLabel: `Deactivate ${u.name}`,
    });
    if (ok) await update.run(u.id, {}, 'DELETE');
  };
  const update = useAction(async (id: string, body: { role?: string }, method: string = 'PATCH') => {
    await api.request(method, `/api/v1/users/${enc(id)}`, { body });
    await list.reload();
  });
  if (!readable.allowed) return <section><h1>Users</h1><p className="note">{readable.reason}.</p></section>;
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      {allowed.allowed && (
        <form className="card" aria-label="New user" noValidate onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
          <h2>New user</h2>
          <div className="grid4">
            <Field label="Email" error={create.error} path="email">{(p) => <input {...p} type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />}</Field>
            <Field label="Name" error={create.error} path="name">{(p) => <input {...p} required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}</Field>
            <Field label="Role" error={create.error} path="role">{(p) => <select {...p} value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>{ROLES.map((r) => <option key={r}>{r}</option>)}</select>}</Field>
            <Field label="Slack member id" hint="e.g. U012AB3CD" error={create.error} path="slack_user_id">{(p) => <input {...p} value={form.slack_user_id} onChange={(e) => setForm({ ...form, slack_user_id: e.target.value })} />}</Field>
          </div>
          <ErrorBox error={create.error} showIssues={false} />
          {created && !create.error && <p role="status" className="ok" data-testid="user-created">Created {created.name} ({created.email}) as {created.role}.</p>}
          <button className="primary" type="submit" data-write="" disabled={create.busy}>Create user</button>
        </form>
      )}
      <ErrorBox error={list.error ?? update.error} />
      <div className="table-wrap"><table className="cards" aria-label="Users">
        <thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Slack</th><th scope="col">Grants</th><th scope="col">Status</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>{list.data?.users.map((u) => (
          <tr key={u.id} data-user={u.id}>
            <th scope="row" data-field="name">{u.name}<div className="small muted">{u.email}</div><div className="small muted mono">{u.id}</div></th>
            <td data-label="Role" data-field="role">
              <label className="sr-only" htmlFor={`role-${u.id}`}>Role of {u.email}</label>
              <select id={`role-${u.id}`} value={u.role} disabled={!allowed.allowed || Boolean(u.deactivated_at)} onChange={(e) => void update.run(u.id, { role: e.target.value })}>
                {ROLES.map((r) => <option key={r}>{r}</option>)}
              </select>
            </td>
            <td data-label="Slack">{u.slack_user_id ?? '–'}</td>
            <td data-label="Grants" data-field="grants">
              {u.grants.length ? <ul className="plain grant-list small">{u.grants.map((g, i) => <li key={i}><code>{grantText(g)}</code></li>)}</ul> : <span className="muted">none</span>}
              {!u.deactivated_at && (
                <button type="button" id={`grants-${u.id}`} className="link small" aria-expanded={editing === u.id} aria-controls="grants-editor" aria-label={`Edit grants of ${u.email}`}
                  onClick={() => (editing === u.id ? closeEditor() : setEditing(u.id))}>{editing === u.id ? 'Close grants' : 'Edit grants'}</button>
              )}
            </td>
            <td data-label="Status" data-field="status">{u.deactivated_at ? `deactivated ${time(u.deactivated_at)}` : 'active'}</td>
            <td data-field="actions">{!u.deactivated_at && <WriteButton allowed={allowed} className="danger-link" onClick={() => void deactivate(u)}>Deactivate</WriteButton>}</td>
          </tr>
        ))}</tbody>
      </table></div>
      {editedUser && (
        <div id="grants-editor">
          <GrantsEditor key={editedUser.id} user={editedUser} allowed={allowed} onSaved={() => void list.reload()} onClose={closeEditor} />
        </div>
      )}
    </section>
  );
}
