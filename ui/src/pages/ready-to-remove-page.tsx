import type { ReadyToRemove } from '../../../src/protocol/admin-api.ts';
import { enc } from '../api.ts';
import { ErrorBox, time } from '../components.tsx';
import { useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { LifecycleBadge } from './lifecycle-badge.tsx';

const show = (value: unknown) => JSON.stringify(value);

/** Launched and stale flags: where each was last evaluated, what it serves, and whether code still mentions it. */
export function ReadyToRemovePage() {
  const { api, environments } = useSession();
  const list = useLoad((signal) => api.get<ReadyToRemove>('/api/v1/lifecycle/ready-to-remove', signal), []);
  const data = list.data;
  const t = data?.thresholds;
  return (
    <section aria-labelledby="ready-title">
      <h1 id="ready-title">Ready to remove</h1>
      {t && (
        <p className="muted">
          Flags that have served one value to everyone in every environment for {t.launched_days} days (launched; stale after {t.stale_launched_days}),
          or that no environment has evaluated for {t.unused_days} days (stale). Code references come from <code>npx ripcord refs . --upload</code>.
        </p>
      )}
      <ErrorBox error={list.error} />
      {!data && !list.error && <p role="status">Loading…</p>}
      {data && data.flags.length === 0 && <p data-testid="nothing-to-remove">No flag is launched or stale.</p>}
      {data && data.flags.length > 0 && (
        <div className="table-wrap">
          <table className="flags" data-testid="ready-to-remove">
            <thead>
              <tr><th scope="col">Flag</th><th scope="col">Serves</th>{environments.map((e) => <th scope="col" key={e}>Last evaluated in {e}</th>)}<th scope="col">Code references</th></tr>
            </thead>
            <tbody>
              {data.flags.map((f) => (
                <tr key={f.key} data-flag={f.key}>
                  <th scope="row">
                    <Link to={`/flags/${enc(f.key)}/production`}>{f.key}</Link> <LifecycleBadge lifecycle={f.lifecycle} />
                    <div className="muted small">{f.lifecycle.reason}</div>
                    <div>{f.tags.map((tag) => <span className="tag" key={tag}>{tag}</span>)}</div>
                  </th>
                  <td data-label="serves">{f.lifecycle.serves ? <code className="wrap-anywhere">{show(f.lifecycle.serves.value)}</code> : <span className="muted">differs</span>}</td>
                  {environments.map((e) => {
                    const at = f.lifecycle.environments[e]?.last_evaluated;
                    return <td key={e} data-env={e} data-label={`last evaluated in ${e}`}>{at ? time(at) : <span className="muted">never</span>}</td>;
                  })}
                  <td data-label="code references" data-files={f.referenced_files}>
                    {f.referenced_files > 0
                      ? <>referenced in <strong>{f.referenced_files}</strong> {f.referenced_files === 1 ? 'file' : 'files'}</>
                      : <span className="ok">none: safe to delete</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
