import { useState, type FormEvent } from 'react';
import { changeRequestRejectSchema } from '../../../src/change-requests/change-request-inputs.ts';
import { CHANGE_REQUEST_STATUSES, type ChangePolicy, type ChangeRequest, type ChangeRequestPage } from '../../../src/change-requests/change-request-schemas.ts';
import type { Flag } from '../../../src/protocol/admin-api.ts';
import { enc, query } from '../api.ts';
import { age, announceChangeRequests, environmentsOf, mayDecide, policyPath, requestPath, subjectOf, useChangeRequestsChanged } from '../change-requests.ts';
import { Diff, ErrorBox, Field, time, useAction } from '../components.tsx';
import { useInterval, useLoad } from '../hooks.ts';
import { useLiveEvents } from '../live.tsx';
import { Link, navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import { refusal } from '../validation.ts';
import { ChangePolicyEditor } from './change-policy-editor.tsx';

type Filters = { environment: string; status: string; flag: string };

/** Change requests: the list with its filters and each environment's policy, or one request. */
export function ChangeRequestsPage({ id }: { id?: string }) {
  return id ? <ChangeRequestDetail id={id} /> : <ChangeRequestList />;
}

function StatusBadge({ status }: { status: string }) {
  return <span className={`badge cr-${status}`} data-testid="cr-status">{status}</span>;
}

/** Newest first, filtered by environment, status and flag (kept in the address, so a flag page can link here). */
function ChangeRequestList() {
  const { api, environments } = useSession();
  const { search } = useLocation();
  const applied: Filters = { environment: search.get('environment') ?? '', status: search.get('status') ?? '', flag: search.get('flag') ?? '' };
  const [filters, setFilters] = useState<Filters>(applied);
  const qs = query({ ...applied, limit: 100 });
  const list = useLoad((signal) => api.get<ChangeRequestPage>(`/api/v1/change-requests${qs}`, signal), [qs]);
  useChangeRequestsChanged(() => void list.reload());
  // An approved request applies in a workflow: its flag changes then (the stream says so).
  useLiveEvents(() => void list.reload());
  // Approved requests apply within moments; pending ones wait for people (decided elsewhere too).
  const statuses = new Set(list.data?.change_requests.map((r) => r.status));
  useInterval(() => void list.reload(), statuses.has('approved') ? 2000 : statuses.has('pending') ? 30_000 : null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    navigate(`/change-requests${query(filters)}`, true);
  };
  const requests = list.data?.change_requests ?? [];
  return (
    <section aria-labelledby="cr-title">
      <h1 id="cr-title">Change requests</h1>
      <p className="muted">Writes an environment’s policy covers wait here for approval by people other than their author; the last approval applies them in a workflow, checked against the version they were made on.</p>
      <form className="filters" role="search" aria-label="Filter change requests" onSubmit={submit}>
        <div className="field"><label htmlFor="cr-env">Environment</label>
          <select id="cr-env" value={filters.environment} onChange={(e) => setFilters({ ...filters, environment: e.target.value })}>
            <option value="">any</option>{environments.map((e) => <option key={e}>{e}</option>)}</select></div>
        <div className="field"><label htmlFor="cr-status">Status</label>
          <select id="cr-status" value={filters.status} onChange={(e) => setFilters({ ...filters, status: e.target.value })}>
            <option value="">any</option>{CHANGE_REQUEST_STATUSES.map((s) => <option key={s}>{s}</option>)}</select></div>
        <div className="field"><label htmlFor="cr-flag">Flag</label>
          <input id="cr-flag" value={filters.flag} onChange={(e) => setFilters({ ...filters, flag: e.target.value.trim() })} /></div>
        <button type="submit">Filter</button>
        <button type="button" onClick={() => { setFilters({ environment: '', status: '', flag: '' }); navigate('/change-requests', true); }}>Clear</button>
      </form>
      <ErrorBox error={list.error} />
      {list.data && requests.length === 0 ? <p data-testid="no-change-requests">No change requests match.</p> : (
        <div className="table-wrap"><table className="cards" aria-label="Change requests" aria-busy={list.loading}>
          <thead><tr><th scope="col">Request</th><th scope="col">Kind</th><th scope="col">Environment</th><th scope="col">Author</th><th scope="col">Status</th><th scope="col">Approvals</th><th scope="col">Applies</th><th scope="col">Age</th></tr></thead>
          <tbody>{requests.map((r) => (
            <tr key={r.id} data-change-request={r.id} data-status={r.status}>
              <th scope="row"><Link to={requestPath(r.id)}>{subjectOf(r).label}</Link></th>
              <td data-label="Kind"><span className="badge cr-kind">{r.kind}</span> <span className="muted small">{r.source}</span></td>
              <td data-label="Environment">{r.environment}</td>
              <td data-label="Author">{r.author.name}</td>
              <td data-label="Status"><StatusBadge status={r.status} /></td>
              <td data-label="Approvals">{r.approvals.length}/{r.required_approvals}</td>
              <td data-label="Applies">{r.apply_at ? time(r.apply_at) : 'at once'}</td>
              <td data-label="Age" title={time(r.created_at)}>{age(r.created_at)}</td>
            </tr>
          ))}</tbody>
        </table></div>
      )}
      <ChangePolicyEditor />
    </section>
  );
}

/** A value of a diff entry, pretty-printed (absent: "not set"). */
function Value({ value, label }: { value: unknown; label: string }) {
  return <pre className="cr-value" aria-label={label} tabIndex={0}>{value === undefined ? '(not set)' : JSON.stringify(value, null, 2)}</pre>;
}

/** One request: its diff, reason, approvals, outcome, and the actions the signed-in user may take. */
function ChangeRequestDetail({ id }: { id: string }) {
  const { api, me, can } = useSession();
  const path = `/api/v1/change-requests/${enc(id)}`;
  const request = useLoad((signal) => api.get<ChangeRequest>(path, signal), [path]);
  const r = request.data;
  const envs = r ? environmentsOf(r) : [];
  const policies = useLoad(async (signal) => new Map(await Promise.all(envs.map(async (e) => [e, await api.get<ChangePolicy>(policyPath(e), signal)] as const))), [envs.join(',')]);
  // The flag's tags, for RBAC's tag-limited grants (the request does not carry them).
  const tags = useLoad(async (signal) => (r?.flag ? (await api.get<Flag>(`/api/v1/flags/${enc(r.flag)}`, signal)).tags : undefined), [r?.flag]);
  // Others approve, and an approved request applies in a workflow: follow it until it settles.
  useInterval(() => void request.reload(), r?.status === 'approved' ? 1000 : r?.status === 'pending' ? 5000 : null);
  useLiveEvents((event) => {
    if (event.kind === 'resync' || (r && event.change.key === r.flag)) void request.reload();
  });
  useChangeRequestsChanged(() => void request.reload());

  const [comment, setComment] = useState('');
  const [refused, setRefused] = useState<unknown>(null);
  const act = useAction(async (verb: 'approve' | 'reject' | 'withdraw') => {
    setRefused(null);
    if (verb === 'reject') {
      const problem = refusal(changeRequestRejectSchema, { comment });
      if (problem) {
        setRefused(problem);
        return;
      }
    }
    const trimmed = comment.trim();
    try {
      const answer = await api.request<ChangeRequest>('POST', `${path}/${verb}`, { body: trimmed ? { comment: trimmed } : {} });
      request.setData(answer);
      setComment('');
    } finally {
      // Whatever the answer (a 409 means someone else decided first), show the request as it is now.
      announceChangeRequests();
    }
  });

  if (request.error && !r) return <section><p><Link to="/change-requests">← Change requests</Link></p><ErrorBox error={request.error} /></section>;
  if (!r) return <p role="status">Loading change request…</p>;
  const subject = subjectOf(r);
  const decider = mayDecide(r, (env) => policies.data?.get(env), me, can, tags.data);
  const author = r.author.id === me.id;
  const withdrawable = author && (r.status === 'pending' || r.status === 'approved');
  const err = refused ?? act.error;
  return (
    <section aria-labelledby="crd-title" data-testid="change-request" data-status={r.status}>
      <p><Link to="/change-requests">← Change requests</Link></p>
      <div className="page-head">
        <h1 id="crd-title"><span className="badge cr-kind">{r.kind}</span> {subject.flag ? <Link to={`/flags/${enc(subject.flag)}/${enc(r.environment)}`}><code>{subject.label}</code></Link> : <code>{subject.label}</code>} in {r.environment}</h1>
        <StatusBadge status={r.status} />
      </div>
      <dl className="cr-facts">
        {r.environments.length > 1 && <><dt>Environments</dt><dd>{r.environments.join(', ')} <span className="muted small">(every covering policy must allow the approver)</span></dd></>}
        <dt>Author</dt><dd>{r.author.name}</dd>
        <dt>Made</dt><dd>{time(r.created_at)} ({age(r.created_at)} ago), {sourceWords(r.source)}, on version {r.base_version}</dd>
        <dt>Reason</dt><dd>{r.reason ?? <span className="muted">none given</span>}</dd>
        <dt>Applies</dt><dd>{r.apply_at ? time(r.apply_at) : 'at once when approved'}</dd>
        <dt>Approvals</dt><dd data-testid="cr-approvals">{r.approvals.length}/{r.required_approvals}</dd>
        {r.applied_version !== null && <><dt>Applied as</dt><dd data-testid="cr-applied-version">version {r.applied_version}</dd></>}
        {r.workflow_id && <><dt>Workflow</dt><dd><code data-testid="workflow-id">{r.workflow_id}</code>{r.workflow_url && <> <a href={r.workflow_url} target="_blank" rel="noreferrer" data-testid="workflow-link">open in Temporal</a></>}</dd></>}
      </dl>
      {r.outcome && <p className={r.status === 'applied' ? 'ok' : 'error'} role="status" data-testid="cr-outcome">Outcome: {r.outcome}</p>}
      {r.decided_by && <p data-testid="cr-decision">{r.status === 'withdrawn' ? 'Withdrawn' : 'Rejected'} by {r.decided_by.name}{r.decision_comment ? `: “${r.decision_comment}”` : ''}</p>}

      <h2>Changes</h2>
      {r.diff.length === 0 ? <p className="muted">No fields differ from version {r.base_version}.</p> : r.diff.map((d) => (
        <section key={d.field} className="card cr-diff" data-field={d.field} aria-label={`Change of ${d.field}`}>
          <h3><code>{d.field}</code></h3>
          <Diff before={d.before} after={d.after} at={d.field} label={`What changes in ${d.field}`} />
          <details>
            <summary>Whole value before and after</summary>
            <div className="before-after">
              <div><h4>Before</h4><Value value={d.before} label={`${d.field} before`} /></div>
              <div><h4>After</h4><Value value={d.after} label={`${d.field} after`} /></div>
            </div>
          </details>
        </section>
      ))}

      <h2>Approvals</h2>
      {r.approvals.length === 0 ? <p className="muted">None yet.</p> : (
        <ul className="plain" data-testid="cr-approval-list">{r.approvals.map((a) => (
          <li key={a.user_id}><strong>{a.user_name}</strong> approved {time(a.at)}{a.comment ? `: “${a.comment}”` : ''}</li>
        ))}</ul>
      )}

      {(decider || withdrawable) && (
        <form className="card cr-actions" aria-label="Decide this change request" noValidate onSubmit={(e) => e.preventDefault()}>
          <Field label={decider ? 'Comment (optional to approve, required to reject)' : 'Comment (optional)'} error={err} path="comment">{(p) => (
            <textarea {...p} rows={2} value={comment} onChange={(e) => { setComment(e.target.value); setRefused(null); }} />)}</Field>
          <div className="actions">
            {decider && <button type="button" className="primary" disabled={act.busy} onClick={() => void act.run('approve')}>Approve</button>}
            {decider && <button type="button" className="danger-outline" disabled={act.busy} onClick={() => void act.run('reject')}>Reject</button>}
            {withdrawable && <button type="button" disabled={act.busy} onClick={() => void act.run('withdraw')}>Withdraw</button>}
          </div>
        </form>
      )}
      {!decider && r.status === 'pending' && (
        <p className="note" role="note">{author ? 'You made this request: someone else must approve it.' : 'You are not among the approvers of this environment’s policy.'}</p>
      )}
      <ErrorBox error={err} showIssues={err !== refused} />
      <ErrorBox error={request.error} />
    </section>
  );
}

/** The write that made a request, in words ("by a config edit"); an unknown one as the API names it. */
const SOURCE_WORDS: Record<string, string> = {
  put: 'by a config edit', copy: 'by copying another environment', scheduled: 'by a scheduled change', restore: 'by a restore',
  rollout: 'by starting a rollout', update: 'by a segment edit', members: 'by adding or removing members',
  replace_members: 'by replacing the members', delete: 'by deleting the segment',
};
function sourceWords(source: string): string {
  return SOURCE_WORDS[source] ?? `by ${source}`;
}
