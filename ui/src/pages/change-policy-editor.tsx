import { useEffect, useState } from 'react';
import { ROLES, type Role } from '../../../src/auth/rbac.ts';
import type { UserPage } from '../../../src/protocol/admin-api.ts';
import { changePolicyInputSchema, type ChangePolicyInput } from '../../../src/change-requests/change-request-inputs.ts';
import { COVERED_CHANGES, type ChangePolicy, type CoveredChange } from '../../../src/change-requests/change-request-schemas.ts';

/** What each covered write is, for people. */
const COVERED_WORDS: Record<CoveredChange, string> = {
  configs: 'config edits', scheduled_changes: 'scheduled changes', rollouts: 'starting rollouts', segments: 'segment edits',
};
/** "config edits, starting rollouts and segment edits". */
const coveredWords = (covers: readonly CoveredChange[]) => {
  const words = covers.map((c) => COVERED_WORDS[c]);
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words.at(-1)}` : (words[0] ?? '');
};
import { announceChangeRequests, policyPath } from '../change-requests.ts';
import { ErrorBox, Field, issuesAt, time, useAction } from '../components.tsx';
import { useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';
import { numberFrom, numberShown, refusal } from '../validation.ts';
import { ActorName } from '../names.tsx';

type Approvers = 'writers' | 'role' | 'users';

interface Draft {
  required_approvals: number;
  approvers: Approvers;
  approver_role: Role;
  approver_user_ids: string[];
  covers: CoveredChange[];
  restore_requires_approval: boolean;
  reason: string;
}

function draftOf(policy: ChangePolicy): Draft {
  return {
    required_approvals: policy.required_approvals,
    approvers: policy.approver_user_ids.length > 0 ? 'users' : policy.approver_role ? 'role' : 'writers',
    approver_role: policy.approver_role ?? 'admin',
    approver_user_ids: policy.approver_user_ids,
    covers: policy.covers,
    restore_requires_approval: policy.restore_requires_approval,
    reason: '',
  };
}

/** The PUT body for a draft: approvers are either a role or listed users (or neither: whoever may write there). */
function bodyOf(draft: Draft): ChangePolicyInput {
  return {
    required_approvals: draft.required_approvals,
    approver_role: draft.approvers === 'role' ? draft.approver_role : null,
    approver_user_ids: draft.approvers === 'users' ? draft.approver_user_ids : [],
    covers: draft.covers,
    restore_requires_approval: draft.restore_requires_approval,
    ...(draft.reason.trim() ? { reason: draft.reason.trim() } : {}),
  };
}

/**
 * One environment's change policy: admins edit it (checked with the API's own schema before it is
 * sent); everyone else reads it. The covered writes are the API's enum, whatever it holds.
 */
export function ChangePolicyEditor() {
  const { api, environments, can, me } = useSession();
  const [env, setEnv] = useState(environments.includes('production') ? 'production' : (environments[0] ?? 'production'));
  const admin = me.role === 'admin';
  const policy = useLoad((signal) => api.get<ChangePolicy>(policyPath(env), signal), [env]);
  const users = useLoad(async (signal) => (can({ resource: 'user', action: 'read' }).allowed ? api.get<UserPage>('/api/v1/users?limit=500', signal) : null), []);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [saved, setSaved] = useState(false);
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (policy.data) setDraft(draftOf(policy.data));
  }, [policy.data]);

  const problems = draft ? refusal(changePolicyInputSchema, bodyOf(draft)) : null;
  const save = useAction(async () => {
    setShown(true);
    setSaved(false);
    if (!draft || problems) return;
    const answer = await api.request<ChangePolicy>('PUT', policyPath(env), { body: bodyOf(draft) });
    policy.setData(answer);
    setSaved(true);
    // Who may decide what changed: the nav's count reads the policies again.
    announceChangeRequests();
  });
  const err = (shown ? problems : null) ?? save.error;
  const set = (patch: Partial<Draft>) => {
    if (draft) setDraft({ ...draft, ...patch });
    setSaved(false);
  };
  const nameOf = (id: string) => users.data?.users.find((u) => u.id === id)?.name ?? id;
  const activeUsers = (users.data?.users ?? []).filter((u) => !u.deactivated_at);
  const p = policy.data;

  return (
    <section className="card" aria-labelledby="policy-title" data-testid="change-policy">
      <h2 id="policy-title">Change policy</h2>
      <div className="field"><label htmlFor="policy-env">Environment</label>
        <select id="policy-env" value={env} onChange={(e) => { setEnv(e.target.value); setShown(false); setSaved(false); save.setError(null); }}>
          {environments.map((e) => <option key={e}>{e}</option>)}</select></div>
      <ErrorBox error={policy.error} />
      {p && (
        <p className="small muted" data-testid="policy-summary">
          {p.required_approvals === 0 ? `Off in ${env}: writes apply at once.` : `In ${env}, ${coveredWords(p.covers) || 'nothing'}${p.restore_requires_approval ? ' and releasing a kill switch' : ''} need ${p.required_approvals} approval${p.required_approvals === 1 ? '' : 's'}.`}
          {p.updated_at && <> Last set {time(p.updated_at)} by <ActorName id={p.updated_by} />.</>}
        </p>
      )}
      {!admin && <p className="note" role="note">Read-only: only admins set change policies.</p>}
      {draft && (
        <form noValidate aria-label={`Change policy of ${env}`} onSubmit={(e) => { e.preventDefault(); void save.run(); }}>
          <fieldset disabled={!admin} className="plainset">
            <div className="grid3">
              <Field label="Required approvals" hint="0 turns the policy off" error={err} path="required_approvals">{(props) => (
                <input {...props} type="number" min={0} max={10} value={numberShown(draft.required_approvals)} onChange={(e) => set({ required_approvals: numberFrom(e.target.value) })} />)}</Field>
              <Field label="Approvers" error={err} path="approver_role">{(props) => (
                <select {...props} value={draft.approvers} onChange={(e) => set({ approvers: e.target.value as Approvers })}>
                  <option value="writers">anyone who may change flags there</option>
                  <option value="role">a role (and admins)</option>
                  <option value="users">listed users</option>
                </select>)}</Field>
              {draft.approvers === 'role' && (
                <Field label="Approver role" error={err} path="approver_role">{(props) => (
                  <select {...props} value={draft.approver_role} onChange={(e) => set({ approver_role: e.target.value as Role })}>
                    {ROLES.map((r) => <option key={r}>{r}</option>)}
                  </select>)}</Field>
              )}
            </div>
            {draft.approvers === 'users' && (
              <fieldset className="rule" aria-describedby="approver-users-hint">
                <legend>Approving users</legend>
                <small id="approver-users-hint" className="hint">{users.data ? 'only these users may approve (never the author)' : 'the user list needs the users:read right'}</small>
                {users.data ? activeUsers.map((u) => (
                  <label key={u.id} className="inline check">
                    <input type="checkbox" checked={draft.approver_user_ids.includes(u.id)}
                      onChange={(e) => set({ approver_user_ids: e.target.checked ? [...draft.approver_user_ids, u.id] : draft.approver_user_ids.filter((x) => x !== u.id) })} />
                    {u.name} <span className="muted small">{u.email} · {u.role}</span>
                  </label>
                )) : <ul>{draft.approver_user_ids.map((id) => <li key={id}><code>{nameOf(id)}</code></li>)}</ul>}
                {issuesText(err, 'approver_user_ids')}
              </fieldset>
            )}
            <fieldset className="rule">
              <legend>Covered writes</legend>
              {COVERED_CHANGES.map((c) => (
                <label key={c} className="inline check">
                  <input type="checkbox" checked={draft.covers.includes(c)} onChange={(e) => set({ covers: e.target.checked ? [...draft.covers, c] : draft.covers.filter((x) => x !== c) })} />
                  {COVERED_WORDS[c]}
                </label>
              ))}
              <label className="inline check">
                <input type="checkbox" checked={draft.restore_requires_approval} onChange={(e) => set({ restore_requires_approval: e.target.checked })} />
                releasing a kill switch <span className="muted small">(killing is never gated)</span>
              </label>
            </fieldset>
            {admin && <Field label="Reason (for the audit log)" error={err} path="reason">{(props) => <input {...props} value={draft.reason} onChange={(e) => set({ reason: e.target.value })} />}</Field>}
          </fieldset>
          <ErrorBox error={err} showIssues={err !== problems} />
          {saved && <p role="status" className="ok" data-testid="policy-saved">Policy of {env} saved.</p>}
          {admin && <div className="actions"><button type="submit" className="primary" disabled={save.busy}>{save.busy ? 'Saving…' : `Save policy of ${env}`}</button></div>}
        </form>
      )}
    </section>
  );
}

/** A list field's messages (its own and its items'), where no single control carries them. */
function issuesText(error: unknown, path: string) {
  const text = issuesAt(error, path, true).map((i) => i.message).join('; ');
  return text ? <small className="field-error" data-field-error={path}>{text}</small> : null;
}
