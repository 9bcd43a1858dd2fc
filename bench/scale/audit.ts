/* Audit events: 10k → 100k → 1M; list pages with each filter, verify, chained inserts. */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { admin, percentile } from '../lib/bench-stack.js';
import { dimensionEnv, startApi, stopProc, type DimensionResult } from './harness.js';

const BATCH = 10_000;

/** Inserts `count` events through the chain's trigger (advisory lock, digest), like the API's writers. */
async function insertEvents(db: pg.Client, from: number, count: number): Promise<number> {
  const started = performance.now();
  for (let done = 0; done < count; done += BATCH) {
    const n = Math.min(BATCH, count - done);
    await db.query(`INSERT INTO audit_events (user_id, action, resource_type, resource_id, environment, new_value, reason)
      SELECT 'user-' || (i % 100), (ARRAY['flag.config.updated','flag.killed','flag.restored','rollout.started','segment.updated'])[1 + i % 5],
             CASE WHEN i % 5 = 4 THEN 'segment' ELSE 'flag' END, 'flag-' || (i % 1000), (ARRAY['production','staging','development'])[1 + i % 3],
             jsonb_build_object('n', i), 'scale benchmark'
      FROM generate_series($1::bigint, $2::bigint) AS i`, [from + done, from + done + n - 1]);
  }
  return count / ((performance.now() - started) / 1000);
}

async function timeMs(base: string, path: string, runs = 15): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await admin(base, 'GET', path);
    samples.push(performance.now() - t);
  }
  return percentile(samples, 50);
}

export async function auditDimension(stack: Record<string, string>, sizes: number[]): Promise<DimensionResult> {
  const env = await dimensionEnv(stack, 'audit', 8);
  const db = new pg.Client({ connectionString: env.MIGRATION_DATABASE_URL });
  await db.connect();
  const api = await startApi(env);
  const rows: DimensionResult['rows'] = [];
  let total = Number((await db.query('SELECT count(*) AS n FROM audit_events')).rows[0].n);
  try {
    for (const size of sizes) {
      const rate = await insertEvents(db, total, size - total);
      total = size;
      await db.query('ANALYZE audit_events');
      const values: Record<string, number> = { 'chained inserts/s': rate };
      values['list (no filter)'] = await timeMs(api.base, '/api/v1/audit?limit=50');
      values['list actor'] = await timeMs(api.base, '/api/v1/audit?limit=50&actor=user-42');
      values['list action'] = await timeMs(api.base, '/api/v1/audit?limit=50&action=flag.killed');
      values['list resource'] = await timeMs(api.base, '/api/v1/audit?limit=50&resource_type=flag&resource_id=flag-7');
      values['list environment'] = await timeMs(api.base, '/api/v1/audit?limit=50&environment=staging');
      const page2 = (await admin(api.base, 'GET', '/api/v1/audit?limit=50&action=flag.restored')).next_cursor as string | null;
      values['list 2nd page'] = page2 ? await timeMs(api.base, `/api/v1/audit?limit=50&action=flag.restored&cursor=${encodeURIComponent(page2)}`) : Number.NaN;
      values['verify'] = await timeMs(api.base, '/api/v1/audit/verify', 1);
      rows.push({ size, values });
      console.log(`  audit ${size}: ${JSON.stringify(values)}`);
    }
  } finally {
    await stopProc(api);
    await db.end();
  }
  return {
    dimension: 'Audit events (list pages: median of 15 requests, 50 events a page)', sizeLabel: 'events',
    measures: [
      { name: 'chained inserts/s', unit: 'events/s', better: 'higher' },
      { name: 'list (no filter)', unit: 'ms', budget: 50 }, { name: 'list actor', unit: 'ms', budget: 50 }, { name: 'list action', unit: 'ms', budget: 50 },
      { name: 'list resource', unit: 'ms', budget: 50 }, { name: 'list environment', unit: 'ms', budget: 50 }, { name: 'list 2nd page', unit: 'ms', budget: 50 },
      { name: 'verify', unit: 'ms' },
    ],
    rows,
    notes: ['inserts go through the chain trigger (one advisory lock, one digest each) in batches of 10,000 in one session'],
  };
}
