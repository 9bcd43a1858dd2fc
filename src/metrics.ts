import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The process's Prometheus registry and the series the API records. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    evaluations: new Counter({
      name: 'ripcord_evaluations_total',
      help: 'Flag evaluations served, by environment and OpenFeature reason',
      labelNames: ['environment', 'reason'] as const,
      registers: [registry],
    }),
    evaluationDuration: new Histogram({
      name: 'ripcord_evaluation_duration_seconds',
      help: 'Time to evaluate one flag (engine only, excluding HTTP)',
      buckets: [0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'ripcord_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['route', 'status'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
