import type { Queryable } from './database.js';

export interface OutcomeCount {
  flagKey: string;
  variant: string;
  outcome: 'success' | 'error';
  count: number;
}

/** Adds reported outcomes to the per-minute counters, in one statement. */
export async function recordOutcomes(db: Queryable, environment: string, at: Date, outcomes: OutcomeCount[]): Promise<void> {
  if (outcomes.length === 0) return;
  await db.query(
    `INSERT INTO flag_events (flag_key, environment, variant, minute, successes, errors)
     SELECT o.flag_key, $1, o.variant, date_trunc('minute', $2::timestamptz), sum(o.successes), sum(o.errors)
       FROM jsonb_to_recordset($3::jsonb) AS o(flag_key text, variant text, successes bigint, errors bigint)
      GROUP BY o.flag_key, o.variant
     ON CONFLICT (flag_key, environment, minute, variant) DO UPDATE
       SET successes = flag_events.successes + EXCLUDED.successes, errors = flag_events.errors + EXCLUDED.errors`,
    [
      environment, at.toISOString(),
      JSON.stringify(outcomes.map((o) => ({
        flag_key: o.flagKey, variant: o.variant,
        successes: o.outcome === 'success' ? o.count : 0, errors: o.outcome === 'error' ? o.count : 0,
      }))),
    ],
  );
}

export interface CohortRates {
  treated: { samples: number; errors: number };
  untreated: { samples: number; errors: number };
}

/** Outcomes since `since` split into treated (any variant but 'off') and untreated ('off'). */
export async function cohortRates(db: Queryable, flagKey: string, environment: string, since: Date): Promise<CohortRates> {
  const result = await db.query(
    `SELECT variant <> 'off' AS treated, sum(successes + errors)::float8 AS samples, sum(errors)::float8 AS errors
       FROM flag_events WHERE flag_key = $1 AND environment = $2 AND minute >= date_trunc('minute', $3::timestamptz)
      GROUP BY 1`,
    [flagKey, environment, since.toISOString()],
  );
  const empty = { samples: 0, errors: 0 };
  const pick = (treated: boolean) => {
    const row = result.rows.find((r) => r.treated === treated);
    return row ? { samples: row.samples, errors: row.errors } : empty;
  };
  return { treated: pick(true), untreated: pick(false) };
}

/** Treated/untreated outcome counts per environment since `since`: what an events guard judges. */
export async function cohortRatesByEnvironment(db: Queryable, flagKey: string, environments: string[], since: Date): Promise<Map<string, CohortRates>> {
  const result = await db.query(
    `SELECT environment, variant <> 'off' AS treated, sum(successes + errors)::float8 AS samples, sum(errors)::float8 AS errors
       FROM flag_events WHERE flag_key = $1 AND environment = ANY($2) AND minute >= date_trunc('minute', $3::timestamptz)
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
