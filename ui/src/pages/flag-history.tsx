import { useState } from 'react';
import { enc } from '../api.ts';
import { AuditEventItem, useAuditEvents } from '../audit-events.tsx';
import { ErrorBox } from '../components.tsx';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

/** The flag's own audit trail (its configs, kills, rollouts, scheduled changes, pipelines and requests), newest first, kept current as it changes. */
export function FlagHistory({ flagKey, liveTick }: { flagKey: string; liveTick: number }) {
  const { environments } = useSession();
  const [environment, setEnvironment] = useState('');
  const history = useAuditEvents({ flag: flagKey, environment: environment || undefined, limit: 25 }, liveTick);
  return (
    <section className="card" aria-labelledby="history-title" data-testid="flag-history">
      <div className="page-head">
        <h3 id="history-title">History of {flagKey}</h3>
        <div className="field inline-field">
          <label htmlFor="history-env">Environment</label>
          <select id="history-env" value={environment} onChange={(e) => setEnvironment(e.target.value)}>
            <option value="">every environment</option>{environments.map((e) => <option key={e}>{e}</option>)}
          </select>
        </div>
      </div>
      <ErrorBox error={history.first.error} />
      <ol className="events" aria-busy={history.first.loading}>
        {history.events.map((e) => <AuditEventItem key={e.id} event={e} showResource={false} />)}
      </ol>
      {history.first.data && history.events.length === 0 && <p>No events{environment ? ` in ${environment}` : ''}.</p>}
      <ErrorBox error={history.moreError} />
      <div className="actions">
        {history.cursor && <button onClick={() => void history.more()} disabled={history.loadingMore}>{history.loadingMore ? 'Loading…' : 'Load older events'}</button>}
        <Link to={`/audit?flag=${enc(flagKey)}`}>Open in the audit log</Link>
      </div>
    </section>
  );
}
