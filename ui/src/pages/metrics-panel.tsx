import { useState } from 'react';
import type { FlagMetricsHistory } from '../../../src/protocol/admin-api.ts';
import { enc } from '../api.ts';
import { ErrorBox, time } from '../components.tsx';
import { useInterval, useLoad } from '../hooks.ts';
import { useSession } from '../session.tsx';

const COLORS = ['#1d4ed8', '#b45309', '#15803d', '#7c3aed', '#be123c', '#0e7490'];
const pct = (r: number) => `${(r * 100).toFixed(2)}%`;

/** Evaluations of a flag over the last hour or day per variant in one environment, from the server's rollups. */
export function MetricsPanel({ flagKey, env }: { flagKey: string; env: string }) {
  const { api } = useSession();
  const [window, setWindow] = useState<'hour' | 'day'>('hour');
  const history = useLoad((signal) => api.get<FlagMetricsHistory>(
    `/api/v1/flags/${enc(flagKey)}/metrics/history?window=${window}&environment=${enc(env)}`, signal), [flagKey, env, window]);
  useInterval(() => void history.reload(), 60_000);
  const data = history.data;
  const outcome = data?.outcomes.find((o) => o.environment === env);
  return (
    <section className="card metrics" aria-labelledby={`metrics-${env}`}>
      <div className="page-head">
        <h3 id={`metrics-${env}`}>Evaluations in {env}</h3>
        <div role="group" aria-label="Time window" className="segmented">
          {(['hour', 'day'] as const).map((w) => (
            <button key={w} type="button" aria-pressed={window === w} onClick={() => setWindow(w)}>last {w}</button>
          ))}
        </div>
      </div>
      <ErrorBox error={history.error} />
      {!data && !history.error && <span className="skeleton block" aria-hidden="true" />}
      {data && (
        <>
          <EvaluationChart data={data} />
          <p className="small">
            Last evaluated: <strong data-testid="last-evaluated">{data.last_evaluated[env] ? time(data.last_evaluated[env]) : 'never in the last two days'}</strong>
            {outcome && <> · reported outcomes (what event guards judge): treated error rate {pct(outcome.treated.error_rate)} of {outcome.treated.samples},
              untreated {pct(outcome.untreated.error_rate)} of {outcome.untreated.samples}</>}
          </p>
        </>
      )}
    </section>
  );
}

/** Stacked-free line chart, one line per variant, buckets from the window's start to now; no dependency. */
function EvaluationChart({ data }: { data: FlagMetricsHistory }) {
  const W = 560, H = 140, PAD = 28;
  const from = Date.parse(data.from), to = Date.parse(data.to);
  const bucketMs = data.bucket_seconds * 1000;
  const buckets = Math.max(1, Math.ceil((to - from) / bucketMs));
  const start = Math.floor(from / bucketMs) * bucketMs;
  const series = data.series.map((s) => {
    const values = new Array<number>(buckets + 1).fill(0);
    for (const p of s.points) {
      const i = Math.round((Date.parse(p.at) - start) / bucketMs);
      if (i >= 0 && i < values.length) values[i] = (values[i] ?? 0) + p.evaluations;
    }
    return { label: s.variant, values, total: values.reduce((a, b) => a + b, 0) };
  });
  const total = series.reduce((n, s) => n + s.total, 0);
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (i: number) => PAD + (i / buckets) * (W - PAD - 4);
  const y = (v: number) => H - 18 - (v / max) * (H - 28);
  const summary = series.length
    ? `${total} evaluations in the last ${data.window}: ${series.map((s) => `${s.label} ${s.total}`).join(', ')}`
    : `no evaluations in the last ${data.window}`;
  return (
    <figure className="chart" data-testid="metrics-chart" data-total={total}>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={summary} preserveAspectRatio="none">
        <rect x="0" y="0" width={W} height={H} fill="#f7f8fa" />
        <line x1={PAD} x2={W - 4} y1={y(0)} y2={y(0)} stroke="#9ca3af" />
        <text x="2" y="12" fontSize="10" fill="#4b5563">{max}</text>
        <text x="2" y={y(0)} fontSize="10" fill="#4b5563">0</text>
        <text x={PAD} y={H - 4} fontSize="10" fill="#4b5563">{new Date(start).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</text>
        <text x={W - 40} y={H - 4} fontSize="10" fill="#4b5563">now</text>
        {series.map((s, k) => (
          <polyline key={s.label} fill="none" stroke={COLORS[k % COLORS.length]} strokeWidth="1.8"
            points={s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')} />
        ))}
      </svg>
      <figcaption className="small">
        {series.length === 0 ? 'No evaluations in this window.' : series.map((s, k) => (
          <span key={s.label} className="legend"><span aria-hidden="true" style={{ color: COLORS[k % COLORS.length] }}>■</span> {s.label}: {s.total}</span>
        ))}
        <span className="muted"> · per {data.bucket_seconds >= 60 ? `${data.bucket_seconds / 60} min` : `${data.bucket_seconds} s`}</span>
      </figcaption>
    </figure>
  );
}
