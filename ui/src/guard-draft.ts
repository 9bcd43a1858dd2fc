import { numberFrom } from './validation.ts';

/**
 * A rollout guard as a form holds it (text as typed) and back to what the rollouts API takes
 * (src/domain/rollout-plan.ts guardSchema): an events guard (error rate of reported outcomes) or a
 * Prometheus query against a threshold; how often it is read and what a breach does.
 */
export interface GuardDraft {
  source: 'none' | 'events' | 'prometheus';
  max_error_rate: string;
  max_error_rate_increase: string;
  min_samples: string;
  query: string;
  threshold: string;
  comparison: 'above' | 'below';
  interval: string;
  action: 'rollback' | 'kill';
}

export const NO_GUARD: GuardDraft = {
  source: 'none', max_error_rate: '0.05', max_error_rate_increase: '', min_samples: '100', query: '', threshold: '', comparison: 'above', interval: '1 minute', action: 'rollback',
};

const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));

/** The draft of a stored guard (none when there is none, or it is of no known source). */
export function guardDraftOf(guard: unknown): GuardDraft {
  const g = (guard ?? {}) as Record<string, unknown>;
  if (g.source !== 'events' && g.source !== 'prometheus') return { ...NO_GUARD };
  return {
    source: g.source,
    max_error_rate: text(g.max_error_rate), max_error_rate_increase: text(g.max_error_rate_increase), min_samples: text(g.min_samples ?? 100),
    query: text(g.query), threshold: text(g.threshold), comparison: g.comparison === 'below' ? 'below' : 'above',
    interval: g.interval === undefined ? NO_GUARD.interval : String(g.interval), action: g.action === 'kill' ? 'kill' : 'rollback',
  };
}

/** The guard the draft stands for (undefined for none); numbers as typed, so the API's schema names a bad one at its field. */
export function guardOf(d: GuardDraft): Record<string, unknown> | undefined {
  const common = { interval: /^\d+$/.test(d.interval.trim()) ? Number(d.interval.trim()) : d.interval.trim(), action: d.action };
  if (d.source === 'events') {
    return {
      source: 'events', ...common, min_samples: numberFrom(d.min_samples),
      ...(d.max_error_rate.trim() ? { max_error_rate: numberFrom(d.max_error_rate) } : {}),
      ...(d.max_error_rate_increase.trim() ? { max_error_rate_increase: numberFrom(d.max_error_rate_increase) } : {}),
    };
  }
  if (d.source === 'prometheus') return { source: 'prometheus', ...common, query: d.query, threshold: numberFrom(d.threshold), comparison: d.comparison };
  return undefined;
}

/** In words, for a template's list: "guarded by an error rate above 5 % (roll back)". */
export function guardWords(guard: unknown): string {
  const d = guardDraftOf(guard);
  const then = d.action === 'kill' ? 'kill' : 'roll back';
  if (d.source === 'events') {
    const limits = [d.max_error_rate ? `an error rate above ${Number(d.max_error_rate) * 100} %` : '', d.max_error_rate_increase ? `${Number(d.max_error_rate_increase) * 100} points over the untreated` : ''].filter(Boolean);
    return `guarded by ${limits.join(' or ')} (${then})`;
  }
  if (d.source === 'prometheus') return `guarded by ${d.query} ${d.comparison} ${d.threshold} (${then})`;
  return '';
}
