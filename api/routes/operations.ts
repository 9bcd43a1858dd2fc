import { Router } from 'express';
import type { Metrics } from '../../src/metrics.js';
import { defineRoute, PUBLIC } from '../route-docs.js';

/**
 * A named dependency check; resolves when healthy (optionally with details to show), rejects (or
 * times out) when not. The `snapshot` check is the replica's ability to serve current flags.
 */
export type ReadinessChecks = Record<string, () => Promise<unknown>>;

const CHECK_TIMEOUT_MS = 1_500;
const SERVING_CHECK = 'snapshot';

function withTimeout(check: () => Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([check(), timeout]).finally(() => clearTimeout(timer));
}

const isDetail = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Liveness, readiness with per-check detail, and Prometheus metrics. Readiness is 503 whenever a
 * check fails; `status` says `degraded` when evaluations still serve current flags (a dependency
 * is down) and `not_ready` when the snapshot itself is missing or behind, and `shutting_down` once the process has been asked to stop.
 */
export function createOperationsRouter(deps: { checks: ReadinessChecks; metrics: Metrics; draining?: () => boolean }): Router {
  const router = Router();

  defineRoute(router, '', {
    method: 'get', path: '/healthz', tag: 'Operations', summary: 'Liveness', auth: PUBLIC, responses: { 200: { description: 'alive' } }, errors: [],
  }, (_req, res) => {
    res.json({ status: 'ok' });
  });

  defineRoute(router, '', {
    method: 'get', path: '/readyz', tag: 'Operations', summary: 'Readiness per dependency (Postgres, Redis, Temporal, snapshot)', auth: PUBLIC,
    responses: { 200: { description: 'ready' }, 503: { description: 'not ready, with per-check detail' } }, errors: [],
  }, async (_req, res) => {
    if (deps.draining?.()) {
      res.status(503).json({ status: 'shutting_down', checks: {} });
      return;
    }
    const names = Object.keys(deps.checks);
    const outcomes = await Promise.allSettled(names.map((name) => withTimeout(deps.checks[name]!)));
    const checks = Object.fromEntries(
      outcomes.map((outcome, i) => [
        names[i],
        outcome.status === 'fulfilled'
          ? { status: 'ok', ...(names[i] === SERVING_CHECK && isDetail(outcome.value) ? outcome.value : {}) }
          : { status: 'down', error: String((outcome.reason as Error)?.message ?? outcome.reason) },
      ]),
    );
    const ready = outcomes.every((outcome) => outcome.status === 'fulfilled');
    const servingOk = checks[SERVING_CHECK] === undefined || checks[SERVING_CHECK].status === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : servingOk ? 'degraded' : 'not_ready', checks });
  });

  defineRoute(router, '', {
    method: 'get', path: '/metrics', tag: 'Operations', summary: 'Prometheus metrics', auth: PUBLIC, responses: { 200: { description: 'Prometheus text format' } }, errors: [],
  }, async (_req, res) => {
    res.set('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  return router;
}
