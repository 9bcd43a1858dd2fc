import { useId, useState } from 'react';
import { ApiError, enc } from '../api.ts';
import type { User } from '../../../src/protocol/admin-api.ts';
import { ErrorBox, Field, issuesAt, useAction, WriteButton } from '../components.tsx';
import { useSession } from '../session.tsx';
import type { Decision, Grant } from '../../../src/auth/rbac.ts';

const RESOURCES = ['flag', 'environment', 'audit'] as const;
const ACTIONS = ['read', 'write', 'delete', 'kill_switch'] as const;

/** A grant as the form edits it: tags as the typed comma list. */
interface GrantRow { resource: string; action: string; environments: string[]; tags: string }

type GrantView = User['grants'][number];

const toRow = (g: GrantView): GrantRow => ({
  resource: g.resource, action: g.action, environments: g.conditions?.environments ?? [], tags: (g.conditions?.flag_tags ?? []).join(', '),
});

/** The body the API takes (src/auth/rbac.ts grantSchema): empty conditions left out, since present lists need an entry. */
function toGrant(row: GrantRow): GrantView {
  const tags = row.tags.split(',').map((t) => t.trim()).filter(Boolean);
  const conditions: GrantView['conditions'] = {};
  if (row.environments.length) conditions.environments = row.environments;
  if (tags.length) conditions.flag_tags = tags;
  return { resource: row.resource as GrantView['resource'], action: row.action as GrantView['action'], conditions };
}

/** Why an action doesn't apply to a resource (the same rules the API checks), or null. */
function actionProblem(resource: string, action: string): string | null {
  if (action === 'kill_switch' && resource !== 'flag') return 'kill_switch applies to flags only';
  if (resource === 'audit' && action !== 'read') return 'the audit log can only be read';
  return null;
}

/** One readable line per grant, e.g. "flag:write in staging, tags payments". */
export function grantText(g: Grant | GrantView): string {
  const parts = [`${g.resource}:${g.action}`];
  if (g.conditions?.environments?.length) parts.push(`in ${g.conditions.environments.join(', ')}`);
  if (g.conditions?.flag_tags?.length) parts.push(`tags ${g.conditions.flag_tags.join(', ')}`);
  return parts.join(' ');
}

/** Edits a user's grants as rows (resource, action, conditions) and replaces them with PUT /users/{id}/grants. */
export function GrantsEditor({ user, allowed, onSaved, onClose }: { user: User; allowed: Decision; onSaved: (user: User) => void; onClose: () => void }) {
  const { api, environments } = useSession();
  const id = useId();
  const [base, setBase] = useState<GrantView[]>(() => user.grants);
  const [rows, setRows] = useState<GrantRow[]>(() => base.map(toRow));
  const [reason, setReason] = useState('');
  const [saved, setSaved] = useState(false);
  const ro = !allowed.allowed;
  const envChoices = [...new Set([...environments, ...rows.flatMap((r) => r.environments)])];

  const save = useAction(async () => {
    const answer = await api.request<User>('PUT', `/api/v1/users/${enc(user.id)}/grants`, {
      body: { grants: rows.map(toGrant), ...(reason.trim() ? { reason: reason.trim() } : {}) },
    });
    setBase(answer.grants);
    setRows(answer.grants.map(toRow));
    setReason('');
    setSaved(true);
    onSaved(answer);
  });
  const err = save.error;
  const dirty = JSON.stringify(rows.map(toGrant)) !== JSON.stringify(base.map((g) => toGrant(toRow(g))));

  const setRow = (i: number, patch: Partial<GrantRow>) => {
    setSaved(false);
    setRows(rows.map((r, j) => {
      if (j !== i) return r;
      const next = { ...r, ...patch };
      // Keep the pair valid: the audit log is read-only; kill_switch exists on flags only.
      if (actionProblem(next.resource, next.action)) next.action = 'read';
      if (next.resource !== 'flag') next.tags = '';
      return next;
    }));
  };
  const toggleEnv = (i: number, env: string, on: boolean) => {
    const current = rows[i]!.environments;
    setRow(i, { environments: on ? [...current, env].sort((a, b) => envChoices.indexOf(a) - envChoices.indexOf(b)) : current.filter((e) => e !== env) });
  };

  return (
    <form className="card grants" aria-labelledby={`${id}-h`} data-testid="grants-editor" onSubmit={(e) => { e.preventDefault(); void save.run(); }}>
      <h2 id={`${id}-h`} tabIndex={-1}>Grants of {user.name} <span className="muted small">{user.email} · role {user.role}</span></h2>
      <p className="muted small">Grants add to what the role allows. Conditions narrow a grant; leave them empty for every environment and every flag.</p>
      {ro && <p className="note" role="note">Read-only: {allowed.reason}.</p>}
      <fieldset disabled={ro} className="plainset">
        {rows.length === 0 && <p className="muted">No grants: {user.name} may do what the {user.role} role allows.</p>}
        {rows.map((row, i) => {
          const envIssues = issuesAt(err, `grants.${i}.conditions.environments`, true);
          return (
            <fieldset key={i} className="rule grant" data-grant={i}>
              <legend>Grant {i + 1}</legend>
              <div className="grid4">
                <Field label="Resource" error={err} path={`grants.${i}.resource`}>{(p) => (
                  <select {...p} value={row.resource} onChange={(e) => setRow(i, { resource: e.target.value })}>
                    {RESOURCES.map((r) => <option key={r}>{r}</option>)}
                  </select>)}</Field>
                <Field label="Action" error={err} path={`grants.${i}.action`} hint={row.resource === 'audit' ? 'the audit log can only be read' : row.resource === 'flag' ? 'kill_switch pulls and releases kill switches' : undefined}>{(p) => (
                  <select {...p} value={row.action} onChange={(e) => setRow(i, { action: e.target.value })}>
                    {ACTIONS.map((a) => {
                      const problem = actionProblem(row.resource, a);
                      return <option key={a} value={a} disabled={Boolean(problem)}>{a}{problem ? ` (${problem})` : ''}</option>;
                    })}
                  </select>)}</Field>
                <fieldset className="plainset field env-choices" aria-describedby={envIssues.length ? `${id}-env-${i}` : undefined}>
                  <legend>Environments <span className="muted small">(none: all)</span></legend>
                  {envChoices.map((env) => (
                    <label key={env} className="inline">
                      <input type="checkbox" checked={row.environments.includes(env)} onChange={(e) => toggleEnv(i, env, e.target.checked)} aria-invalid={envIssues.length ? true : undefined} /> {env}
                    </label>
                  ))}
                  {envIssues.length > 0 && <small id={`${id}-env-${i}`} className="field-error" data-field-error={`grants.${i}.conditions.environments`}>{envIssues.map((x) => x.message).join('; ')}</small>}
                </fieldset>
                {row.resource === 'flag' ? (
                  <Field label="Flag tags" hint="comma-separated; none: any flag" error={err} path={`grants.${i}.conditions.flag_tags`} nested>{(p) => (
                    <input {...p} value={row.tags} onChange={(e) => setRow(i, { tags: e.target.value })} />)}</Field>
                ) : <div className="field"><span className="label-spacer" aria-hidden="true">&nbsp;</span><span className="muted small">tags apply to flags only</span></div>}
              </div>
              <div className="actions">
                <button type="button" className="danger-link" onClick={() => { setSaved(false); setRows(rows.filter((_, j) => j !== i)); }}>Remove grant {i + 1}</button>
              </div>
            </fieldset>
          );
        })}
        <div className="actions">
          <button type="button" onClick={() => { setSaved(false); setRows([...rows, { resource: 'flag', action: 'read', environments: [], tags: '' }]); }}>Add grant</button>
        </div>
        <Field label="Reason (for the audit log)" error={err} path="reason">{(p) => <input {...p} value={reason} onChange={(e) => setReason(e.target.value)} />}</Field>
      </fieldset>
      <ErrorBox error={err} showIssues={!(err instanceof ApiError && err.status === 400 && err.issues.length > 0)} />
      {err instanceof ApiError && err.status === 400 && err.issues.length > 0 && (
        <p className="field-error" role="alert">The API refused the grants: see the messages at the fields ({err.issues.map((x) => x.path).join(', ')}).</p>
      )}
      {saved && !dirty && <p role="status" className="ok">Grants saved.</p>}
      <div className="actions">
        <WriteButton allowed={allowed} className="primary" type="submit" disabled={!dirty || save.busy}>{save.busy ? 'Saving…' : 'Save grants'}</WriteButton>
        <button type="button" disabled={!dirty} onClick={() => { setRows(base.map(toRow)); save.setError(null); }}>Discard changes</button>
        <button type="button" onClick={onClose}>Close</button>
      </div>
    </form>
  );
}
