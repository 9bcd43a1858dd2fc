import type { FlagMetricsHistory } from '../protocol/admin-api.js';
import type { Database } from '../connections/database.js';
import { evaluationSeries } from './evaluation-rollup-store.js';
import { cohortRatesByEnvironment } from './event-store.js';
import { unknownFlag } from '../flags/unknown-flag.js';

const WINDOWS = {
  hour: { spanMs: 60 * 60_000, bucketSeconds: 60 },
  day: { spanMs: 24 * 60 * 60_000, bucketSeconds: 15 * 60 },
} as const;

const rate = (c: { samples: number; errors: number }) => ({ ...c, error_rate: c.samples === 0 ? 0 : c.errors / c.samples });

/** A flag's evaluations over the last hour or day per environment and variant, from the per-minute rollups. */
async function flagMetricsHistory(db: Database, flagKey: string, environments: string[], window: keyof typeof WINDOWS, now = Date.now()): Promise<FlagMetricsHistory> {
  const { spanMs, bucketSeconds } = WINDOWS[window];
  const since = new Date(now - spanMs);
  const [{ points, lastEvaluated }, cohorts] = await Promise.all([
    evaluationSeries(db, flagKey, environments, since, bucketSeconds),
    cohortRatesByEnvironment(db, flagKey, environments, since),
  ]);
  const series = new Map<string, FlagMetricsHistory['series'][number]>();
  for (const p of points) {
    const id = `${p.environment}\u0000${p.variant}`;
    let s = series.get(id);
    if (!s) series.set(id, (s = { environment: p.environment, variant: p.variant, points: [] }));
    s.points.push({ at: p.at, evaluations: p.evaluations, errors: p.errors });
  }
  return {
    flag_key: flagKey, window, bucket_seconds: bucketSeconds, from: since.toISOString(), to: new Date(now).toISOString(),
    series: [...series.values()], last_evaluated: lastEvaluated,
    outcomes: [...cohorts].map(([environment, c]) => ({ environment, treated: rate(c.treated), untreated: rate(c.untreated) })),
  };
}

/** The metrics-history route's reads: the series, and the 404 (with "did you mean") for a flag no environment serves. */
export function createFlagMetricsHistoryService(deps: { db: Database }) {
  return {
    history: (flagKey: string, environments: string[], window: keyof typeof WINDOWS, now = Date.now()) => flagMetricsHistory(deps.db, flagKey, environments, window, now),
    unknownFlag: (key: string) => unknownFlag(deps.db, key),
  };
}

export type FlagMetricsHistoryService = ReturnType<typeof createFlagMetricsHistoryService>;
