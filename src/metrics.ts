import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheStats } from './cache/cache-stats.js';
import type { FlagMetrics } from './serving/flag-metrics.js';

/** The process's Prometheus registry and the series the API records. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
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
    rateLimited: new Counter({
      name: 'ripcord_rate_limited_total',
      help: 'Evaluation requests refused with 429, by environment',
      labelNames: ['environment'] as const,
      registers: [registry],
    }),
    streamClients: new Gauge({
      name: 'ripcord_stream_clients',
      help: 'Connected Server-Sent Events clients',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Series read at scrape time from counters the hot path keeps as plain numbers, so that an
 * evaluation pays for no label lookup: per-flag evaluations, latency and recency, cache layers,
 * and the versions this replica serves.
 */
export function registerServingMetrics(
  registry: Registry,
  sources: { flagMetrics: FlagMetrics; cacheStats: CacheStats; servedVersions: () => Array<{ environment: string; version: number }> },
): void {
  const { flagMetrics, cacheStats } = sources;
  new Counter({
    name: 'ripcord_flag_evaluations_total',
    help: 'Flag evaluations served by this process, by flag, environment, variant and OpenFeature reason',
    labelNames: ['flag', 'environment', 'variant', 'reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of flagMetrics.totals()) {
        for (const [outcome, count] of entry.outcomes) {
          const [variant, reason] = outcome.split('\u0000');
          this.inc({ flag: entry.flag, environment: entry.environment, variant, reason }, count);
        }
      }
    },
  });
  new Counter({
    name: 'ripcord_evaluations_total',
    help: 'Flag evaluations served, by environment and OpenFeature reason',
    labelNames: ['environment', 'reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of flagMetrics.totals()) {
        for (const [outcome, count] of entry.outcomes) this.inc({ environment: entry.environment, reason: outcome.split('\u0000')[1] }, count);
      }
    },
  });
  new Counter({
    name: 'ripcord_flag_evaluation_seconds_total',
    help: 'Engine time spent evaluating each flag (divide by evaluations for the mean)',
    labelNames: ['flag', 'environment'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of flagMetrics.totals()) this.inc({ flag: entry.flag, environment: entry.environment }, entry.total.durationMs / 1000);
    },
  });
  new Gauge({
    name: 'ripcord_flag_last_evaluation_timestamp_seconds',
    help: 'When this process last evaluated each flag',
    labelNames: ['flag', 'environment'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of flagMetrics.totals()) this.set({ flag: entry.flag, environment: entry.environment }, entry.total.lastEvaluation / 1000);
    },
  });
  new Counter({
    name: 'ripcord_cache_requests_total',
    help: 'Cache lookups by layer (l1 in-process snapshot, l2 Redis projection, l3 Postgres) and result',
    labelNames: ['layer', 'result'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const counts: Array<[string, string, number]> = [
        ['l1', 'hit', cacheStats.l1Hits], ['l1', 'miss', cacheStats.l1Misses],
        ['l2', 'hit', cacheStats.l2Hits], ['l2', 'miss', cacheStats.l2Misses],
        ['l3', 'hit', cacheStats.l3Hits], ['l3', 'miss', cacheStats.l3Misses],
      ];
      for (const [layer, result, count] of counts) this.inc({ layer, result }, count);
    },
  });
  new Gauge({
    name: 'ripcord_served_version',
    help: 'The highest flag version this process serves, by environment',
    labelNames: ['environment'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { environment, version } of sources.servedVersions()) this.set({ environment }, version);
    },
  });
}

/**
 * How current this replica's snapshot is: whether it is stale (answering reason STALE), how long
 * each environment has trailed the projection, how long since it last reached Redis, and how long
 * announced changes take to reach it.
 */
export function registerFreshnessMetrics(
  registry: Registry,
  sources: {
    stale: () => boolean;
    lagSeconds: () => Array<{ environment: string; seconds: number }>;
    lastSyncMs: () => number;
    onPropagation: Set<(seconds: number) => void>;
  },
): void {
  new Gauge({
    name: 'ripcord_snapshot_stale',
    help: '1 while this replica serves its last snapshot without vouching for it (lost subscription, out of touch with Redis, or behind): evaluations answer reason STALE and /readyz fails',
    registers: [registry],
    collect() {
      this.set(sources.stale() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'ripcord_snapshot_lag_seconds',
    help: 'How long this replica\'s L1 has trailed the Redis projection, per environment (0 when caught up, as of the last sync)',
    labelNames: ['environment'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { environment, seconds } of sources.lagSeconds()) this.set({ environment }, seconds);
    },
  });
  new Gauge({
    name: 'ripcord_snapshot_sync_age_seconds',
    help: 'Seconds since this replica last compared its snapshot with Redis successfully',
    registers: [registry],
    collect() {
      const last = sources.lastSyncMs();
      this.set(last ? (Date.now() - last) / 1000 : -1);
    },
  });
  const propagation = new Histogram({
    name: 'ripcord_change_propagation_seconds',
    help: 'From a change\'s announcement on Redis to this replica taking it in',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const last = new Gauge({ name: 'ripcord_change_propagation_last_seconds', help: 'The propagation time of the last change this replica took in', registers: [registry] });
  sources.onPropagation.add((seconds) => {
    propagation.observe(seconds);
    last.set(seconds);
  });
}
