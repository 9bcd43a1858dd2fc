import { useState } from 'react';
import type { Fleet, InstanceListing } from '../../../src/protocol/instances-api.ts';
import { enc } from '../api.ts';
import { ErrorBox, time } from '../components.tsx';
import { useInterval, useLoad } from '../hooks.ts';
import { navigate } from '../router.tsx';
import { useSession } from '../session.tsx';

const KIND_LABEL: Record<InstanceListing['kind'], string> = {
  'node-local': 'Node SDK (local)',
  'node-remote': 'Node SDK (remote)',
  browser: 'Browser (React SDK)',
  'ofrep-stream': 'OFREP provider',
  'flagd-sync': 'flagd sync stream',
};

/** "1.2 s", "3 min": how long an instance has been behind. */
function lag(ms: number): string {
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

function state(i: InstanceListing): { label: string; className: string } {
  if (i.versions_behind > 0) return { label: `behind by ${i.versions_behind} version${i.versions_behind === 1 ? '' : 's'}`, className: 'bad' };
  if (i.counted_as === 'delivered') return { label: 'delivered', className: 'ok' };
  if (i.counted_as === 'not_counted') return { label: 'asks per call', className: 'muted' };
  return { label: 'current', className: 'ok' };
}

/** The SDK instances of one environment (every replica), laggards first, refreshed every 5 s. */
export function FleetPage({ env }: { env?: string }) {
  const { api, environments } = useSession();
  const environment = env && environments.includes(env) ? env : (environments.includes('production') ? 'production' : environments[0]!);
  const [limit] = useState(500);
  const fleet = useLoad((signal) => api.get<Fleet>(`/api/v1/instances?environment=${enc(environment)}&limit=${limit}`, signal), [environment, limit]);
  useInterval(() => void fleet.reload(), 5_000);
  const data = fleet.data;
  const behind = data?.instances.filter((i) => i.versions_behind > 0).length ?? 0;
  const delivered = data?.instances.filter((i) => i.counted_as === 'delivered').length ?? 0;
  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title">SDK instances</h1>
      <p className="muted">
        The Node SDKs, browsers, OFREP providers and flagd sync streams connected to each API replica, and the
        environment version each holds. A kill is confirmed on them: flagd streams count as delivered (flagd does not
        acknowledge); remote-mode SDKs ask a replica per call and hold no copy. An instance silent for three heartbeats leaves the list.
      </p>
      <div className="field inline-field">
        <label htmlFor="fleet-env">Environment</label>
        <select id="fleet-env" value={environment} onChange={(e) => navigate(`/instances/${enc(e.target.value)}`)}>
          {environments.map((e) => <option key={e} value={e}>{e}</option>)}
        </select>
      </div>
      <ErrorBox error={fleet.error} />
      {!data && !fleet.error && <p role="status">Loading…</p>}
      {data && (
        <p role="status" data-testid="fleet-summary">
          <strong>{data.total}</strong> {data.total === 1 ? 'instance' : 'instances'}
          {data.total > 0 && <>: {behind === 0 ? <span className="ok">all current</span> : <span className="bad">{behind} behind</span>}</>}
          {delivered > 0 && <>, {delivered} flagd {delivered === 1 ? 'stream' : 'streams'}</>}
          {' '}· {data.replicas.answered}/{data.replicas.asked} replicas answered
          {data.total > data.instances.length && <> · showing the first {data.instances.length}, laggards first</>}
        </p>
      )}
      {data && data.instances.length === 0 && <p data-testid="no-instances">No SDK instance reports to this environment.</p>}
      {data && data.instances.length > 0 && (
        <div className="table-wrap">
          <table className="flags" data-testid="fleet">
            <thead>
              <tr>
                <th scope="col">App</th><th scope="col">State</th><th scope="col">Version held</th><th scope="col">Behind for</th>
                <th scope="col">Kind</th><th scope="col">Host</th><th scope="col">SDK</th><th scope="col">Connected since</th><th scope="col">Last seen</th><th scope="col">Replica</th>
              </tr>
            </thead>
            <tbody>
              {data.instances.map((i) => {
                const s = state(i);
                return (
                  <tr key={`${i.replica}/${i.id}`} data-instance={i.id} data-behind={i.versions_behind}>
                    <th scope="row">{i.app ?? <span className="muted">unnamed</span>}{i.app_version && <span className="muted small"> {i.app_version}</span>}<div className="muted small"><code>{i.id.slice(0, 8)}</code></div></th>
                    <td data-label="state" className={s.className}>{s.label}</td>
                    <td data-label="version held"><code>v{i.version}</code></td>
                    <td data-label="behind for">{i.lag_ms > 0 ? lag(i.lag_ms) : '–'}</td>
                    <td data-label="kind">{KIND_LABEL[i.kind]}</td>
                    <td data-label="host">{i.host ?? '–'}</td>
                    <td data-label="sdk">{i.sdk_version ?? '–'}</td>
                    <td data-label="connected since">{time(i.connected_since)}</td>
                    <td data-label="last seen">{time(i.last_seen)}</td>
                    <td data-label="replica"><code className="wrap-anywhere small">{i.replica}</code></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
