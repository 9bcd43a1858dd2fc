/**
 * The kill switch while evaluation saturates the process (`npm run bench:kill`, about a minute): one
 * API process as built, 10 kills (each restored after) with no other traffic, then 10 more while wrk
 * (-t2 -c50) keeps the same process saturated with OFREP single-flag evaluations. Each kill is timed
 * from sending `POST …/kill-switch` until its answer. Goal: the worst of the 10 under saturation
 * answers in < 50 ms. Results also go to bench/results/kill-under-load.json. BENCH_BEFORE=<another
 * checkout> runs that checkout's API too, in turn with this one's (BENCH_ROUNDS rounds each): a before
 * and after measured on the same machine at the same time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { admin, ADMIN_TOKEN, BENCH_REDIS_DB, CLIENT_TOKEN, freshDatabase, percentile, root, stackEnv, stopAll } from './lib/bench-stack.js';
import { startBuiltApi } from './lib/built-server.js';
import { cpuSeconds } from './lib/process-cpu.js';
import { wrk } from './lib/wrk.js';

const PORT = 18185;
const KILLS = Number(process.env.BENCH_KILLS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const GOAL_MS = 50;
const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

/** Kills (and restores) `KILLS` flags one after the other; the kill request times, in ms. */
async function killTimes(base: string, label: string): Promise<number[]> {
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
async function readTimes(base: string): Promise<number[]> {
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

interface Api {
  name: string;
  base: string;
  pid: number;
}

/** One checkout's API on its own database and Redis index, with the flags the rounds kill. */
async function startApi(env: Record<string, string>, name: string, checkout: string, port: number, slot: number): Promise<Api> {
  const databaseUrl = await freshDatabase(env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!, `ripcord_bench_kill${slot === 0 ? '' : `_${slot}`}`, checkout);
  const redisUrl = `${env.REDIS_URL!.replace(/\/\d*$/, '')}/${BENCH_REDIS_DB + 2 + slot}`;
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  const api = await startBuiltApi(checkout, port, { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, RATE_LIMIT_PER_SECOND: '0', TEMPORAL_TASK_QUEUE: 'ripcord-bench-kill' });
  const base = `http://127.0.0.1:${port}`;
  for (const key of ['hot', ...Array.from({ length: KILLS }, (_, i) => `kill-${i}`)]) {
    await admin(base, 'POST', '/api/v1/flags', { key, name: key, type: 'boolean' });
    await admin(base, 'PUT', `/api/v1/flags/${key}/environments/production`, { enabled: true, value: true, off_value: false, rollout: { percentage: 25, strategy: 'immediate' } });
  }
  return { name, base, pid: api.pid! };
}

/** `KILLS` kills with no other traffic, then `KILLS` more while wrk saturates the same process. */
async function measure(api: Api) {
  const idle = await killTimes(api.base, 'idle');
  const idleReads = await readTimes(api.base);
  // wrk runs long enough to cover every kill; the kills start once it has the process saturated.
  const cpuBefore = cpuSeconds(api.pid);
  const load = wrk('saturation', `${api.base}/ofrep/v1/evaluate/flags/hot`, {
    method: 'POST', seconds: Math.ceil(KILLS * 0.8) + 8, body: JSON.stringify({ context: { targetingKey: 'user-1' } }),
    headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' },
  });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const saturated = await killTimes(api.base, 'saturated');
  const saturatedReads = await readTimes(api.base);
  const evaluations = await load;
  const cores = (cpuSeconds(api.pid) - cpuBefore) / (evaluations.requests / evaluations.allPerSecond);
  if (evaluations.non2xx > 0 || evaluations.errors) console.log(`${api.name} evaluations: ${evaluations.non2xx} non-2xx ${evaluations.errors}`);
  return {
    api: api.name, load: loadavg().map((l) => l.toFixed(2)).join(' '), idle: summary(idle), saturated: summary(saturated),
    reads: { idle: summary(idleReads), saturated: summary(saturatedReads) },
    evaluationsPerSecond: Math.round(evaluations.requestsPerSecond), evaluationP99Ms: evaluations.p99Ms, apiCores: Number(cores.toFixed(2)),
  };
}

async function main(): Promise<number> {
  const env = stackEnv();
  // BENCH_BEFORE=<another checkout> measures that checkout's API too, round by round in turn with this one's.
  const before = process.env.BENCH_BEFORE;
  const apis = [await startApi(env, 'this checkout', root, PORT, 0)];
  if (before) apis.push(await startApi(env, `before (${before})`, resolve(before), PORT + 1, 1));
  const results: Array<Awaited<ReturnType<typeof measure>>> = [];
  for (let round = 0; round < ROUNDS; round++) for (const api of apis) results.push(await measure(api));
  await stopAll();

  console.log(`\nKill switch under saturation: ${KILLS} kills a round, ${ROUNDS} round(s) per API`);
  console.table(results.flatMap((r) => [
    { api: r.api, load: r.load, traffic: 'none', 'kill p50 ms': r.idle.p50Ms, 'kill worst ms': r.idle.worstMs, 'each (ms)': r.idle.allMs.join(' ') },
    { api: r.api, load: r.load, traffic: `wrk -t2 -c50 single flag (${r.evaluationsPerSecond} 2xx/s, p99 ${r.evaluationP99Ms} ms, API at ${r.apiCores} core)`, 'kill p50 ms': r.saturated.p50Ms, 'kill worst ms': r.saturated.worstMs, 'each (ms)': r.saturated.allMs.join(' ') },
  ]));
  console.log('GET /api/v1/flags/{key} (Postgres only, no Temporal):');
  console.table(results.flatMap((r) => [
    { api: r.api, traffic: 'none', 'p50 ms': r.reads.idle.p50Ms, 'worst ms': r.reads.idle.worstMs, 'each (ms)': r.reads.idle.allMs.join(' ') },
    { api: r.api, traffic: 'wrk -t2 -c50 single flag', 'p50 ms': r.reads.saturated.p50Ms, 'worst ms': r.reads.saturated.worstMs, 'each (ms)': r.reads.saturated.allMs.join(' ') },
  ]));
  mkdirSync(`${root}/bench/results`, { recursive: true });
  writeFileSync(`${root}/bench/results/kill-under-load.json`, `${JSON.stringify({ at: new Date().toISOString(), rounds: results }, null, 2)}\n`);
  for (const r of results.filter((r) => r.api === apis[0]!.name)) {
    console.log(`goal (worst kill under saturation < ${GOAL_MS} ms), load ${r.load}: ${r.saturated.worstMs < GOAL_MS ? 'met' : 'NOT met'} (${r.saturated.worstMs} ms)`);
  }
  return 0;
}

try {
  process.exitCode = await main();
} finally {
  await stopAll();
}
