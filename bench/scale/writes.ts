/* Config writes: 1 → 50 concurrent writers, each on its own flag, for a few seconds. */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { admin, percentile } from '../lib/bench-stack.js';
import { createFlags, dimensionEnv, startApi, stopProc, type DimensionResult } from './harness.js';

const SECONDS = 6;

export async function writesDimension(stack: Record<string, string>, sizes: number[]): Promise<DimensionResult> {
  const env = await dimensionEnv(stack, 'writes', 10);
  const api = await startApi(env);
  const keys = Array.from({ length: Math.max(...sizes) }, (_, i) => `scale-write-${i}`);
  await createFlags(api.base, keys);
  const db = new pg.Client({ connectionString: env.MIGRATION_DATABASE_URL });
  await db.connect();
  const rows: DimensionResult['rows'] = [];
  try {
    for (const writers of sizes) {
      const latencies: number[] = [];
      let lockWaitSamples = 0;
      let samples = 0;
      const deadline = performance.now() + SECONDS * 1000;
      const sampler = (async () => {
        while (performance.now() < deadline) {
          const waiting = await db.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
          lockWaitSamples += Number(waiting.rows[0].n);
          samples += 1;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      await Promise.all(keys.slice(0, writers).map(async (key) => {
        for (let i = 0; performance.now() < deadline; i++) {
          const t = performance.now();
          await admin(api.base, 'PUT', `/api/v1/flags/${key}/environments/production`, { enabled: true, value: true, off_value: false, rollout: { percentage: i % 100, strategy: 'immediate' } });
          latencies.push(performance.now() - t);
        }
      }));
      await sampler;
      rows.push({ size: writers, values: { 'writes/s': latencies.length / SECONDS, 'p50': percentile(latencies, 50), 'p99': percentile(latencies, 99), 'sessions waiting on a lock': lockWaitSamples / Math.max(1, samples) } });
      console.log(`  writers ${writers}: ${JSON.stringify(rows.at(-1)!.values)}`);
    }
  } finally {
    await db.end();
    await stopProc(api);
  }
  return {
    dimension: `Config writes (PUT, each writer on its own flag, ${SECONDS} s per row, one API process)`, sizeLabel: 'writers',
    measures: [{ name: 'writes/s', unit: 'writes/s', better: 'higher' }, { name: 'p50', unit: 'ms' }, { name: 'p99', unit: 'ms' }, { name: 'sessions waiting on a lock', unit: 'mean' }],
    rows,
    notes: ['every write is one transaction: the config, its audit event (the chain\'s advisory lock serialises these), the outbox and the projection'],
  };
}
