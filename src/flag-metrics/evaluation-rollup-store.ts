import type { Queryable } from '../connections/database.js';
import { iso } from '../connections/rows.js';
import type { EvaluationBucket, RollupStore } from '../serving/evaluation-rollups.js';

export type { EvaluationBucket } from '../serving/evaluation-rollups.js';

/**
 * Adds buckets to the per-minute rollups and moves each flag's durable last-evaluated time forward, in
 * one statement (several replicas add to the same rows; the two never disagree after a failure). The
 * last-evaluated upsert is one row per flag and environment, and only ever moves forward.
 */
export async function addEvaluationBuckets(db: Queryable, buckets: EvaluationBucket[]): Promise<void> {
  if (buckets.length === 0) return;
  await db.query(
    `WITH b AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(flag_key text, environment text, variant text, minute bigint, evaluations bigint, errors bigint, last bigint)
     ), minutes AS (
       INSERT INTO flag_evaluation_minutes (flag_key, environment, variant, minute, evaluations, errors, last_evaluated)
       SELECT b.flag_key, b.environment, b.variant, to_timestamp(b.minute / 1000.0), b.evaluations, b.errors, to_timestamp(b.last / 1000.0) FROM b
       ON CONFLICT (flag_key, environment, minute, variant) DO UPDATE
         SET evaluations = flag_evaluation_minutes.evaluations + EXCLUDED.evaluations,
             errors = flag_evaluation_minutes.errors + EXCLUDED.errors,
             last_evaluated = greatest(flag_evaluation_minutes.last_evaluated, EXCLUDED.last_evaluated)
     )
     INSERT INTO flag_last_evaluated (flag_key, environment, last_evaluated)
     SELECT flag_key, environment, to_timestamp(max(last) / 1000.0) FROM b GROUP BY flag_key, environment
     ON CONFLICT (flag_key, environment) DO UPDATE SET last_evaluated = EXCLUDED.last_evaluated
       WHERE flag_last_evaluated.last_evaluated < EXCLUDED.last_evaluated`,
    [JSON.stringify(buckets.map((b) => ({
      flag_key: b.flagKey, environment: b.environment, variant: b.variant, minute: b.minute,
      evaluations: b.evaluations, errors: b.errors, last: b.lastEvaluated,
    })))],
  );
}

/** Drops rollups older than `before`; answers how many rows went. */
export async function pruneEvaluationBuckets(db: Queryable, before: Date): Promise<number> {
  const result = await db.query('DELETE FROM flag_evaluation_minutes WHERE minute < $1', [before.toISOString()]);
  return result.rowCount ?? 0;
}

export interface EvaluationSeriesPoint {
  environment: string;
  variant: string;
  /** ISO start of the bucket. */
  at: string;
  evaluations: number;
  errors: number;
}

/** One flag's evaluations since `since`, per environment and variant, in buckets of `bucketSeconds`. */
export async function evaluationSeries(db: Queryable, flagKey: string, environments: string[], since: Date, bucketSeconds: number) {
  const points = await db.query<{ environment: string; variant: string; bucket: Date; evaluations: number; errors: number }>(
    `SELECT environment, variant, date_bin(make_interval(secs => $4), minute, TIMESTAMPTZ '2000-01-01') AS bucket,
            sum(evaluations)::float8 AS evaluations, sum(errors)::float8 AS errors
       FROM flag_evaluation_minutes
      WHERE flag_key = $1 AND environment = ANY($2) AND minute >= $3
      GROUP BY 1, 2, 3 ORDER BY 3, 1, 2`,
    [flagKey, environments, since.toISOString(), bucketSeconds],
  );
  const last = await db.query<{ environment: string; last: Date }>(
    `SELECT environment, max(last_evaluated) AS last FROM flag_evaluation_minutes
      WHERE flag_key = $1 AND environment = ANY($2) GROUP BY 1`,
    [flagKey, environments],
  );
  return {
    points: points.rows.map((r): EvaluationSeriesPoint => ({
      environment: r.environment, variant: r.variant, at: iso(r.bucket), evaluations: r.evaluations, errors: r.errors,
    })),
    lastEvaluated: Object.fromEntries(last.rows.map((r) => [r.environment, iso(r.last)])),
  };
}

/** Evaluations per flag and minute since `since` (all environments), for the dashboard's rate column. */
export async function recentEvaluationsByFlag(db: Queryable, flagKeys: string[], since: Date): Promise<Map<string, Map<number, number>>> {
  const byFlag = new Map<string, Map<number, number>>();
  if (flagKeys.length === 0) return byFlag;
  const result = await db.query<{ flag_key: string; minute: Date; evaluations: number }>(
    `SELECT flag_key, minute, sum(evaluations)::float8 AS evaluations FROM flag_evaluation_minutes
      WHERE flag_key = ANY($1) AND minute >= $2 GROUP BY 1, 2`,
    [flagKeys, since.toISOString()],
  );
  for (const row of result.rows) {
    let minutes = byFlag.get(row.flag_key);
    if (!minutes) byFlag.set(row.flag_key, (minutes = new Map()));
    minutes.set(row.minute.getTime(), row.evaluations);
  }
  return byFlag;
}

/** The rollups in Postgres, as the API replicas' flush writes them. */
export function evaluationRollupStore(db: Queryable): RollupStore {
  return {
    add: (buckets) => addEvaluationBuckets(db, buckets),
    prune: (before) => pruneEvaluationBuckets(db, before),
  };
}
