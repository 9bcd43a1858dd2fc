/**
 * The kill switch while evaluation saturates the process (`npm run bench:kill`, about a minute): one
 * API process as built, 10 kills (each restored after) with no other traffic, then 10 more while wrk
 * (-t2 -c50) keeps the same process saturated with OFREP single-flag evaluations. Each kill is timed
 * from sending `POST …/kill-switch` until its answer. Goal: the worst of the 10 under saturation
 * answers in < 50 ms. Results also go to bench/results/kill-under-load.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { admin, ADMIN_TOKEN, BENCH_REDIS_DB, CLIENT_TOKEN, freshDatabase, percentile, root, stackEnv, stopAll } from './lib/bench-stack.js';
import { startBuiltApi } from './lib/built-server.js';
import { cpuSeconds } from './lib/process-cpu.js';
import { wrk } from './lib/wrk.js';

const PORT = 18185;
const KILLS = Number(process.env.BENCH_KILLS ?? 10);
const GOAL_MS = 50;
const base = `http://127.0.0.1:${PORT}`;
const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

/** Kills (and restores) `KILLS` flags one after the other; the kill request times, in ms. */
async function killTimes(label: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    const path = `/api/v1/flags/kill-${i}/environments/production/kill-switch`;
    const started = performance.now();
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ reason: `bench: ${label}` }) });
    await response.text();
    times.push(performance.now() - started);
    if (response.status >= 300) throw new Error(`kill ${i}: ${response.status}`);
    const restored = await fetch(`${base}${path}`, { method: 'DELETE', headers: adminHeaders });
    await restored.text();
    if (restored.status >= 300) throw new Error(`restore ${i}: ${restored.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return times;
}

/** Reads one flag's configuration `KILLS` times (a control-plane request that touches only Postgres); the times, in ms. */
async function readTimes(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    const started = performance.now();
    const response = await fetch(`${base}/api/v1/flags/kill-${i}`, { headers: adminHeaders });
    await response.text();
    times.push(performance.now() - started);
    if (response.status >= 300) throw new Error(`read ${i}: ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return times;
}

const summary = (times: number[]) => ({ p50Ms: Number(percentile(times, 50).toFixed(1)), worstMs: Number(Math.max(...times).toFixed(1)), allMs: times.map((t) => Math.round(t)) });

async function main(): Promise<number> {
  const env = stackEnv();
  const databaseUrl = await freshDatabase(env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!, 'ripcord_bench_kill');
  const redisUrl = `${env.REDIS_URL!.replace(/\/\d*$/, '')}/${BENCH_REDIS_DB + 2}`;
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  const api = await startBuiltApi(root, PORT, { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, RATE_LIMIT_PER_SECOND: '0', TEMPORAL_TASK_QUEUE: 'ripcord-bench-kill' });
  for (const key of ['hot', ...Array.from({ length: KILLS }, (_, i) => `kill-${i}`)]) {
    await admin(base, 'POST', '/api/v1/flags', { key, name: key, type: 'boolean' });
    await admin(base, 'PUT', `/api/v1/flags/${key}/environments/production`, { enabled: true, value: true, off_value: false, rollout: { percentage: 25, strategy: 'immediate' } });
  }

  const idle = await killTimes('idle');
  const idleReads = await readTimes();
  // wrk runs long enough to cover every kill; the kills start once it has the process saturated.
  const cpuBefore = cpuSeconds(api.pid!);
  const load = wrk('saturation', `${base}/ofrep/v1/evaluate/flags/hot`, {
    method: 'POST', seconds: Math.ceil(KILLS * 0.8) + 8, body: JSON.stringify({ context: { targetingKey: 'user-1' } }),
    headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' },
  });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const saturated = await killTimes('saturated');
  const saturatedReads = await readTimes();
  const evaluations = await load;
  const cores = (cpuSeconds(api.pid!) - cpuBefore) / (evaluations.requests / evaluations.allPerSecond);
  await stopAll();

  const loadAverage = loadavg().map((l) => l.toFixed(2)).join(' ');
  const result = {
    at: new Date().toISOString(), load: loadAverage, idle: summary(idle), saturated: summary(saturated),
    reads: { idle: summary(idleReads), saturated: summary(saturatedReads) },
    evaluationsPerSecond: Math.round(evaluations.requestsPerSecond), evaluationP99Ms: evaluations.p99Ms, apiCores: Number(cores.toFixed(2)),
  };
  console.log(`\nKill switch under saturation: ${KILLS} kills, load average ${loadAverage}`);
  console.table([
    { traffic: 'none', 'kill p50 ms': result.idle.p50Ms, 'kill worst ms': result.idle.worstMs, 'each (ms)': result.idle.allMs.join(' ') },
    { traffic: `wrk -t2 -c50 single flag (${result.evaluationsPerSecond} 2xx/s, p99 ${evaluations.p99Ms} ms, API at ${result.apiCores} core)`, 'kill p50 ms': result.saturated.p50Ms, 'kill worst ms': result.saturated.worstMs, 'each (ms)': result.saturated.allMs.join(' ') },
  ]);
  console.log('GET /api/v1/flags/{key} (Postgres only, no Temporal):');
  console.table([
    { traffic: 'none', 'p50 ms': result.reads.idle.p50Ms, 'worst ms': result.reads.idle.worstMs, 'each (ms)': result.reads.idle.allMs.join(' ') },
    { traffic: 'wrk -t2 -c50 single flag', 'p50 ms': result.reads.saturated.p50Ms, 'worst ms': result.reads.saturated.worstMs, 'each (ms)': result.reads.saturated.allMs.join(' ') },
  ]);
  mkdirSync(`${root}/bench/results`, { recursive: true });
  writeFileSync(`${root}/bench/results/kill-under-load.json`, `${JSON.stringify(result, null, 2)}\n`);
  const met = result.saturated.worstMs < GOAL_MS;
  console.log(`goal (worst kill under saturation < ${GOAL_MS} ms): ${met ? 'met' : 'NOT met'}`);
  if (evaluations.non2xx > 0 || evaluations.errors) console.log(`evaluations: ${evaluations.non2xx} non-2xx ${evaluations.errors}`);
  return 0;
}

try {
  process.exitCode = await main();
} finally {
  await stopAll();
}
