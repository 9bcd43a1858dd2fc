import type { Guard, GuardReading } from '../domain/rollout-plan.js';
import type { GuardCohorts } from '../flag-metrics/event-store.js';

const rate = (c: { samples: number; errors: number }) => (c.samples === 0 ? 0 : c.errors / c.samples);
const pct = (r: number) => `${(r * 100).toFixed(2)}%`;

/** "from token:… (900 errors, 100 counted), …": whose errors drove a breach. */
function reportersOf(cohorts: GuardCohorts): string {
  if (cohorts.reporters.length === 0) return '';
  const named = cohorts.reporters.map((r) =>
    `${r.reporter} (${r.errors} errors${r.countedSamples < r.samples ? `, ${Math.round(r.countedErrors)} counted` : ''})`);
  return `; errors from ${named.join(', ')}`;
}

/**
 * Judges treated vs untreated error rates, each reporter's weight capped (see `guardCohorts`); too few
 * samples (as reported) is never a breach.
 */
export function judgeEvents(guard: Extract<Guard, { source: 'events' }>, cohorts: GuardCohorts, at: string): GuardReading {
  const treated = rate(cohorts.treated);
  const untreated = rate(cohorts.untreated);
  const base = {
    at, source: 'events' as const, treatedErrorRate: treated, untreatedErrorRate: untreated,
    samples: { treated: cohorts.reported.treated, untreated: cohorts.reported.untreated }, reporters: cohorts.reporters,
  };
  if (cohorts.reported.treated < guard.min_samples) {
    return { ...base, breached: false, detail: `${cohorts.reported.treated} treated samples, waiting for ${guard.min_samples}` };
  }
  if (guard.max_error_rate !== undefined && treated > guard.max_error_rate) {
    return { ...base, breached: true, detail: `treated error rate ${pct(treated)} is above ${pct(guard.max_error_rate)}${reportersOf(cohorts)}` };
  }
  if (guard.max_error_rate_increase !== undefined && cohorts.reported.untreated >= guard.min_samples && treated - untreated > guard.max_error_rate_increase) {
    return {
      ...base, breached: true,
      detail: `treated error rate ${pct(treated)} exceeds untreated ${pct(untreated)} by more than ${pct(guard.max_error_rate_increase)}${reportersOf(cohorts)}`,
    };
  }
  return { ...base, breached: false, detail: `healthy: treated ${pct(treated)}, untreated ${pct(untreated)}` };
}

/** Judges a Prometheus value against the threshold. */
export function judgePrometheus(guard: Extract<Guard, { source: 'prometheus' }>, value: number, at: string): GuardReading {
  const breached = guard.comparison === 'above' ? value > guard.threshold : value < guard.threshold;
  return {
    at, source: 'prometheus', value, breached,
    detail: `${guard.query} = ${value} (${breached ? 'breach' : 'ok'}: must not be ${guard.comparison} ${guard.threshold})`,
  };
}

/** Runs an instant query against Prometheus' HTTP API and returns the first sample's value. */
export async function queryPrometheus(baseUrl: string, query: string, timeoutMs = 5_000): Promise<number> {
  const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  url.searchParams.set('query', query);
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`Prometheus answered ${response.status} for ${query}`);
  const body = (await response.json()) as {
    status?: string;
    data?: { resultType?: string; result?: unknown };
  };
  if (body.status !== 'success' || !body.data) throw new Error(`Prometheus query failed: ${JSON.stringify(body).slice(0, 200)}`);
  const { resultType, result } = body.data;
  const sample =
    resultType === 'scalar' ? (result as [number, string]) : (result as Array<{ value: [number, string] }>)[0]?.value;
  if (!sample) throw new Error(`Prometheus returned no sample for ${query}`);
  const value = Number(sample[1]);
  if (!Number.isFinite(value)) throw new Error(`Prometheus returned a non-numeric sample for ${query}: ${sample[1]}`);
  return value;
}
