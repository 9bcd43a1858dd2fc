import type { Guard, GuardReading } from '../domain/rollout-plan.js';
import type { CohortRates } from '../stores/event-store.js';

const rate = (c: { samples: number; errors: number }) => (c.samples === 0 ? 0 : c.errors / c.samples);
const pct = (r: number) => `${(r * 100).toFixed(2)}%`;

/** Judges treated vs untreated error rates; too few samples is never a breach. */
export function judgeEvents(guard: Extract<Guard, { source: 'events' }>, rates: CohortRates, at: string): GuardReading {
  const treated = rate(rates.treated);
  const untreated = rate(rates.untreated);
  const base = {
    at, source: 'events' as const, treatedErrorRate: treated, untreatedErrorRate: untreated,
    samples: { treated: rates.treated.samples, untreated: rates.untreated.samples },
  };
  if (rates.treated.samples < guard.min_samples) {
    return { ...base, breached: false, detail: `${rates.treated.samples} treated samples, waiting for ${guard.min_samples}` };
  }
  if (guard.max_error_rate !== undefined && treated > guard.max_error_rate) {
    return { ...base, breached: true, detail: `treated error rate ${pct(treated)} is above ${pct(guard.max_error_rate)}` };
  }
  if (guard.max_error_rate_increase !== undefined && rates.untreated.samples >= guard.min_samples && treated - untreated > guard.max_error_rate_increase) {
    return {
      ...base, breached: true,
      detail: `treated error rate ${pct(treated)} exceeds untreated ${pct(untreated)} by more than ${pct(guard.max_error_rate_increase)}`,
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
