import { useState } from 'react';
import { enc } from '../api.ts';
import type { Segment, SegmentPage } from '../../../src/protocol/admin-api.ts';
import { ErrorBox, Field, useAction, WriteButton } from '../components.tsx';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';
import { jsonFrom } from '../validation.ts';
import type { ChangeRequestCreated } from '../../../src/change-requests/change-request-schemas.ts';
import { announceChangeRequests, isChangeRequestCreated } from '../change-requests.ts';
import { ChangeRequestNotice } from './change-request-notice.tsx';

/** Segments: rule segments (conditions as JSON) and list segments (members one per line). */
export function SegmentsPage() {
  const { api, can } = useSession();
  const list = useLoad((signal) => api.get<SegmentPage>('/api/v1/segments?limit=500', signal), []);
  const allowed = can({ resource: 'segment', action: 'write' });
  const deletable = can({ resource: 'segment', action: 'delete' });
  const [form, setForm] = useState({ key: '', name: '', kind: 'rule', conditions: '[{"field": "country", "operator": "in", "value": ["NL", "BE"]}]', members: '' });
  const [editing, setEditing] = useState<string | null>(null);
  // An edit or delete of a segment that a covering policy's environment targets waits as a change request (202).
  const [requested, setRequested] = useState<ChangeRequestCreated | null>(null);
  const onAnswer = (answer: unknown) => {
    const request = isChangeRequestCreated(answer) ? answer : null;
    setRequested(request);
    if (request) announceChangeRequests();
  };
  const create = useAction(async () => {
    const body: { key: string; name?: string; kind: string; conditions?: unknown; members?: string[] } = { key: form.key, name: form.name || undefined, kind: form.kind };
    if (form.kind === 'rule') body.conditions = jsonFrom(form.conditions, 'conditions');
    else body.members = form.members.split('\n').map((m) => m.trim()).filter(Boolean);
    await api.request('POST', '/api/v1/segments', { body });
    setForm({ ...form, key: '', name: '', members: '' });
    await list.reload();
  });
  const remove = useAction(async (key: string) => {
    onAnswer(await api.request<unknown>('DELETE', `/api/v1/segments/${enc(key)}`));
    await list.reload();
  });
  return (
    <section aria-labelledby="seg-title">
      <h1 id="seg-title">Segments</h1>
      <ErrorBox error={list.error ?? remove.error} />
      {requested && <ChangeRequestNotice created={requested} />}
      <div className="table-wrap"><table>
        <thead><tr><th scope="col">Key</th><th scope="col">Kind</th><th scope="col">Definition</th><th scope="col">Members</th><th scope="col">Version</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {list.data?.segments.map((s) => (
            <tr key={s.key}>
              <th scope="row">{s.key}<div className="small muted">{s.name}</div></th>
              <td>{s.kind}</td>
              <td>{s.kind === 'rule' ? <code className="small">{JSON.stringify(s.conditions)}</code> : '–'}</td>
              <td>{s.user_count ?? '–'}</td>
              <td>{s.version}</td>
              <td className="actions">
                <WriteButton allowed={allowed} onClick={() => setEditing(editing === s.key ? null : s.key)}>Edit</WriteButton>
                <WriteButton allowed={deletable} className="danger-link" onClick={() => void remove.run(s.key)}>Delete</WriteButton>
              </td>
            </tr>
          ))}
          {list.data?.segments.length === 0 && <tr><td colSpan={6}>No segments yet.</td></tr>}
        </tbody>
      </table></div>
      {editing && list.data && <EditSegmentOf segment={list.data.segments.find((s) => s.key === editing)} onDone={(answer) => { setEditing(null); onAnswer(answer); void list.reload(); }} />}
      {allowed.allowed ? (
        <form className="card" aria-label="New segment" noValidate onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
          <h2>New segment</h2>
          <div className="grid3">
            <Field label="Key" error={create.error} path="key">{(p) => <input {...p} required value={form.key} onChange={(e) => setForm({ ...form, key: e.target.value })} />}</Field>
            <Field label="Name" error={create.error} path="name">{(p) => <input {...p} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}</Field>
            <Field label="Kind" error={create.error} path="kind">{(p) => (
              <select {...p} value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value })}><option value="rule">rule (conditions)</option><option value="list">list (members)</option></select>)}</Field>
          </div>
          {form.kind === 'rule'
            ? <Field label="Conditions (JSON array of {field, operator, value})" error={create.error} path="conditions">{(p) => <textarea {...p} className="mono" rows={3} value={form.conditions} onChange={(e) => setForm({ ...form, conditions: e.target.value })} />}</Field>
            : <Field label="Members (one targeting key per line)" error={create.error} path="members">{(p) => <textarea {...p} className="mono" rows={4} value={form.members} onChange={(e) => setForm({ ...form, members: e.target.value })} />}</Field>}
          <ErrorBox error={create.error} />
          <button className="primary" type="submit" data-write="" disabled={create.busy}>Create segment</button>
        </form>
      ) : <p className="note">Creating segments is not allowed: {allowed.reason}.</p>}
    </section>
  );
}

/** The editor of the segment being edited, if it is still listed. */
function EditSegmentOf({ segment, onDone }: { segment: Segment | undefined; onDone: (answer?: unknown) => void }) {
  return segment ? <EditSegment key={segment.key} segment={segment} onDone={onDone} /> : null;
}

/** Edits a segment; `onDone` gets the API's answer (a change request when a policy covers the edit). */
function EditSegment({ segment, onDone }: { segment: Segment; onDone: (answer?: unknown) => void }) {
  const { api } = useSession();
  const [text, setText] = useState(() => (segment.kind === 'rule' ? JSON.stringify(segment.conditions, null, 2) : ''));
  const [members, setMembers] = useState({ add: '', remove: '' });
  const save = useAction(async () => {
    const lines = (s: string) => s.split('\n').map((m) => m.trim()).filter(Boolean);
    onDone(segment.kind === 'rule'
      ? await api.request<unknown>('PUT', `/api/v1/segments/${enc(segment.key)}`, { body: { conditions: jsonFrom(text, 'conditions') }, headers: { 'if-match': String(segment.version) } })
      : await api.request<unknown>('POST', `/api/v1/segments/${enc(segment.key)}/members`, { body: { add: lines(members.add), remove: lines(members.remove) } }));
  });
  return (
    <form className="card" aria-label={`Edit segment ${segment.key}`} noValidate onSubmit={(e) => { e.preventDefault(); void save.run(); }}>
      <h2>Edit {segment.key}</h2>
      {segment.kind === 'rule'
        ? <Field label="Conditions (JSON)" error={save.error} path="conditions">{(p) => <textarea {...p} className="mono" rows={5} value={text} onChange={(e) => setText(e.target.value)} />}</Field>
        : <div className="grid3">
            <Field label="Add members (one per line)" error={save.error} path="add">{(p) => <textarea {...p} rows={3} value={members.add} onChange={(e) => setMembers({ ...members, add: e.target.value })} />}</Field>
            <Field label="Remove members (one per line)" error={save.error} path="remove">{(p) => <textarea {...p} rows={3} value={members.remove} onChange={(e) => setMembers({ ...members, remove: e.target.value })} />}</Field>
          </div>}
      <ErrorBox error={save.error} />
      <div className="actions"><button className="primary" type="submit" data-write="">Save</button><button type="button" onClick={() => onDone()}>Cancel</button></div>
    </form>
  );
}
