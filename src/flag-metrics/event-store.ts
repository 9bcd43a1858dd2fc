import type { ReporterShare } from '../domain/rollout-plan.js';
import type { Queryable } from '../connections/database.js';

export interface OutcomeCount {
  flagKey: string;
  variant: string;
  outcome: 'success' | 'error';
  count: number;
}

/**
 * Adds reported outcomes to the per-minute counters of their reporter (`token:<id>` or `user:<id>`),
 * in one statement.
 */
export async function recordOutcomes(db: Queryable, environment: string, reporter: string, at: Date, outcomes: OutcomeCount[]): Promise<void> {
  if (outcomes.length === 0) return;
  await db.query(
    `INSERT INTO flag_events (flag_key, environment, variant, reporter, minute, successes, errors)
     SELECT o.flag_key, $1, o.variant, $4, date_trunc('minute', $2::timestamptz), sum(o.successes), sum(o.errors)
       FROM jsonb_to_recordset($3::jsonb) AS o(flag_key text, variant text, successes bigint, errors bigint)
      GROUP BY o.flag_key, o.variant
     ON CONFLICT (flag_key, environment, minute, variant, reporter) DO UPDATE
       SET successes = flag_events.successes + EXCLUDED.successes, errors = flag_events.errors + EXCLUDED.errors`,
    [
      environment, at.toISOString(),
      JSON.stringify(outcomes.map((o) => ({
        flag_key: o.flagKey, variant: o.variant,
        successes: o.outcome === 'success' ? o.count : 0, errors: o.outcome === 'error' ? o.count : 0,
      }))),
      reporter,
    ],
  );
}

export interface CohortRates {
  treated: { samples: number; errors: number };
  untreated: { samples: number; errors: number };
}

/** Cohort rates for a guard: counted with the per-reporter cap, plus the raw sample counts and the reporters. */
export interface GuardCohorts extends CohortRates {
  /** Samples as reported, uncapped: what `min_samples` is compared with. */
  reported: { treated: number; untreated: number };
  /** The treated cohort's reporters with errors, most counted errors first (at most 10). */
  reporters: ReporterShare[];
}

/**
 * Outcomes since `since` split into treated (any variant but the config's off variant) and untreated, with each
 * reporter's samples in a cohort capped at `reporterCap` (0: no cap) and its errors scaled to match:
 * one reporter can then weigh no more than `reporterCap` events in the rate, however much it sends.
 */
export async function guardCohorts(
  db: Queryable, flagKey: string, environment: string, since: Date, reporterCap: number, treatedVariants?: readonly string[],
): Promise<GuardCohorts> {
  // A split rollout names its treated variants (those it moves traffic to); otherwise every variant but the off one is treated.
  const result = await db.query<{ treated: boolean; reporter: string; samples: number; errors: number; counted_samples: number; counted_errors: number }>(
    `WITH off AS (
       SELECT coalesce((SELECT c.off_variant FROM flag_configs c JOIN flags f ON f.id = c.flag_id WHERE f.key = $1 AND c.environment = $2), 'off') AS variant
     ), per_reporter AS (
       SELECT CASE WHEN $5::text[] IS NULL THEN e.variant IS DISTINCT FROM off.variant ELSE coalesce(e.variant = ANY($5::text[]), false) END AS treated, e.reporter, sum(e.successes + e.errors)::float8 AS samples, sum(e.errors)::float8 AS errors
         FROM flag_events e CROSS JOIN off WHERE e.flag_key = $1 AND e.environment = $2 AND e.minute >= date_trunc('minute', $3::timestamptz)
        GROUP BY 1, 2
     )
     SELECT treated, reporter, samples, errors,
            CASE WHEN $4 > 0 AND samples > $4 THEN $4::float8 ELSE samples END AS counted_samples,
            CASE WHEN $4 > 0 AND samples > $4 THEN errors * $4 / samples ELSE errors END AS counted_errors
       FROM per_reporter`,
    [flagKey, environment, since.toISOString(), reporterCap, treatedVariants ?? null],
  );
  const cohorts: GuardCohorts = {
    treated: { samples: 0, errors: 0 }, untreated: { samples: 0, errors: 0 }, reported: { treated: 0, untreated: 0 }, reporters: [],
  };
  for (const row of result.rows) {
    const cohort = row.treated ? 'treated' : 'untreated';
    cohorts[cohort].samples += row.counted_samples;
    cohorts[cohort].errors += row.counted_errors;
    cohorts.reported[cohort] += row.samples;
    if (row.treated && row.errors > 0) {
      cohorts.reporters.push({
        reporter: row.reporter, samples: row.samples, errors: row.errors, countedSamples: row.counted_samples, countedErrors: row.counted_errors,
      });
    }
  }
  cohorts.reporters.sort((a, b) => b.countedErrors - a.countedErrors || a.reporter.localeCompare(b.reporter));
  cohorts.reporters.splice(10);
  return cohorts;
}

/** Treated/untreated outcome counts per environment since `since`: what an events guard judges. */
export async function cohortRatesByEnvironment(db: Queryable, flagKey: string, environments: string[], since: Date): Promise<Map<string, CohortRates>> {
  const result = await db.query<{ environment: string; treated: boolean; samples: number; errors: number }>(
    `SELECT e.environment, e.variant IS DISTINCT FROM coalesce(c.off_variant, 'off') AS treated,
            sum(e.successes + e.errors)::float8 AS samples, sum(e.errors)::float8 AS errors
       FROM flag_events e
       LEFT JOIN flags f ON f.key = e.flag_key
       LEFT JOIN flag_configs c ON c.flag_id = f.id AND c.environment = e.environment
      WHERE e.flag_key = $1 AND e.environment = ANY($2) AND e.minute >= date_trunc('minute', $3::timestamptz)
      GROUP BY 1, 2`,
    [flagKey, environments, since.toISOString()],
  );
  const byEnvironment = new Map<string, CohortRates>();
  for (const row of result.rows) {
    let rates = byEnvironment.get(row.environment);
    if (!rates) byEnvironment.set(row.environment, (rates = { treated: { samples: 0, errors: 0 }, untreated: { samples: 0, errors: 0 } }));
    rates[row.treated ? 'treated' : 'untreated'] = { samples: row.samples, errors: row.errors };
  }
  return byEnvironment;
}
