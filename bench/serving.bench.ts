/**
 * Throughput and latency of evaluation at 50 connections (wrk, same machine): Ripcord's OFREP
 * single-flag and bulk (100 flags) — with the node:http fast path and through Express — next to
 * flagd (OFREP on 8016) and unleash-server (frontend API) with equivalent flags, in one run.
 *
 *   npm run bench:serving            (bench/setup.sh installs wrk and the peers first)
 */
import { execFileSync, spawn } from 'node:child_process';

import { Redis } from 'ioredis';
import { admin, CLIENT_TOKEN, freshDatabase, root, stackEnv, startApi, stop, stopAll, track, waitFor, withDatabase, BENCH_REDIS_DB } from './lib/bench-stack.js';
import { createUnleashFlags, flagKey, startFlagd, startUnleash, UNLEASH_FRONTEND, waitForUnleashFlags } from './lib/peers.js';
import { printTable, wrk, type LoadResult } from './lib/wrk.js';

const FLAGS = 100;

// In a process of its own: wrk runs synchronously here and would starve an in-process server.
const BARE_SERVER = `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"key":"flag-000","value":true,"reason":"STATIC","variant":"on"}'); }); }).listen(Number(process.argv[1]), '127.0.0.1');`;

async function startBare(port: number) {
  const child = track(spawn(process.execPath, ['-e', BARE_SERVER, String(port)], { stdio: 'ignore' }));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' })).status === 200, 'the bare server');
  return child;
}
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PORT = 18080;
const UNLEASH_PORT = 14242;
const context = { targetingKey: 'user-42', tier: 'free' };
const body = JSON.stringify({ context });

execFileSync('bash', [`${root}/bench/setup.sh`], { stdio: 'inherit' });
const env = stackEnv();
const databaseUrl = await freshDatabase(env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!);
const redisUrl = `${env.REDIS_URL!.replace(/\/\d*$/, '')}/${BENCH_REDIS_DB}`;
const redis = new Redis(redisUrl);
await redis.flushdb();
redis.disconnect();

const apiEnv = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, RATE_LIMIT_PER_SECOND: '0', TEMPORAL_TASK_QUEUE: 'ripcord-bench' };
const results: LoadResult[] = [];
const notes: string[] = [];
const headers = { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' };
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/**
 * Runs each target ROUNDS times, interleaved, and keeps each target's best round: on a shared
 * machine other processes steal CPU in bursts, and interleaving spreads that over every target.
 */
function runRounds(targets: Array<{ name: string; url: string; options: Parameters<typeof wrk>[2] }>): LoadResult[] {
  const best = new Map<string, LoadResult>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) {
      const result = wrk(target.name, target.url, { seconds: SECONDS, ...target.options });
      console.log(`round ${round + 1} ${target.name}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
      const previous = best.get(target.name);
      if (!previous || result.requestsPerSecond > previous.requestsPerSecond) best.set(target.name, result);
    }
  }
  const kept = targets.map((target) => best.get(target.name)!);
  results.push(...kept);
  return kept;
}

try {
  // Every Ripcord variant runs at once on its own port (idle ones cost nothing), next to the
  // ceiling on this machine at this moment: node:http answering a constant.
  const ports = { fast: PORT, express: PORT + 1, cluster: PORT + 2 };
  const base = `http://127.0.0.1:${ports.fast}`;
  await startApi(ports.fast, { ...apiEnv, EVALUATION_FAST_PATH: 'on' });
  for (let i = 0; i < FLAGS; i++) {
    const key = flagKey(i);
    await admin(base, 'POST', '/api/v1/flags', { key, name: key, type: 'boolean' });
    await admin(base, 'PUT', `/api/v1/flags/${key}/environments/production`, {
      enabled: true, value: true, off_value: false,
      rules: [{ id: 'vip', type: 'user_attribute', priority: 1, action: 'enable', conditions: [{ field: 'tier', operator: 'equals', value: 'vip' }] }],
      rollout: { percentage: 50, strategy: 'immediate' },
    });
  }
  await startApi(ports.express, { ...apiEnv, EVALUATION_FAST_PATH: 'off' });
  await startApi(ports.cluster, { ...apiEnv, EVALUATION_FAST_PATH: 'on', WEB_CONCURRENCY: '2' });
  await startBare(18099);
  for (const port of Object.values(ports)) {
    // Each API loads the flags from the projection in the background: wait (bounded) until all are served.
    await waitFor(async () => {
      const check = await fetch(`http://127.0.0.1:${port}/ofrep/v1/evaluate/flags`, { method: 'POST', headers, body });
      return ((await check.json()) as { flags: unknown[] }).flags.length === FLAGS;
    }, `Ripcord on ${port} to serve ${FLAGS} flags`);
  }
  const single = (port: number) => `http://127.0.0.1:${port}/ofrep/v1/evaluate/flags/${flagKey(0)}`;
  const bulk = (port: number) => `http://127.0.0.1:${port}/ofrep/v1/evaluate/flags`;
  const post = { method: 'POST' as const, body, headers };

  const flagd = await startFlagd(FLAGS);
  const flagdTargets = typeof flagd === 'string' ? [] : [
    { kind: 'single', name: 'flagd single (OFREP)', url: `http://127.0.0.1:8016/ofrep/v1/evaluate/flags/${flagKey(0)}`, options: { ...post, headers: { 'content-type': 'application/json' } } },
    { kind: 'bulk', name: 'flagd bulk-100 (OFREP)', url: 'http://127.0.0.1:8016/ofrep/v1/evaluate/flags', options: { ...post, headers: { 'content-type': 'application/json' } } },
  ];
  if (typeof flagd === 'string') notes.push(`flagd: ${flagd}`);

  const ripcordSingle = runRounds([
    { name: 'bare node:http, constant answer (ceiling)', url: 'http://127.0.0.1:18099/', options: post },
    { name: 'ripcord single (fast path)', url: single(ports.fast), options: post },
    { name: 'ripcord single (Express)', url: single(ports.express), options: post },
    { name: 'ripcord single (fast path, WEB_CONCURRENCY=2)', url: single(ports.cluster), options: post },
    ...flagdTargets.filter((t) => t.kind === 'single'),
  ])[1]!;
  const ripcordBulk = runRounds([
    { name: 'ripcord bulk-100 (fast path)', url: bulk(ports.fast), options: post },
    { name: 'ripcord bulk-100 (Express)', url: bulk(ports.express), options: post },
    { name: 'ripcord bulk-100 (fast path, WEB_CONCURRENCY=2)', url: bulk(ports.cluster), options: post },
    ...flagdTargets.filter((t) => t.kind === 'bulk'),
  ])[0]!;
  await stopAll();

  // Unleash on the same Postgres, a database of its own. Its frontend API evaluates every flag
  // of the token's project for a context: one flag first (single), then 100 (bulk).
  const unleashDb = withDatabase(env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!, 'unleash_bench');
  execFileSync('psql', [env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!, '-qc', 'DROP DATABASE IF EXISTS unleash_bench WITH (FORCE)', '-c', 'CREATE DATABASE unleash_bench'], { stdio: 'ignore' });
  const unleash = await startUnleash(unleashDb, UNLEASH_PORT);
  if (typeof unleash === 'string') {
    notes.push(`unleash: ${unleash}`);
  } else {
    const frontend = `http://127.0.0.1:${UNLEASH_PORT}/api/frontend?userId=user-42&tier=free`;
    const unleashHeaders = { authorization: UNLEASH_FRONTEND };
    await createUnleashFlags(UNLEASH_PORT, 0, 1);
    await waitForUnleashFlags(UNLEASH_PORT, 1);
    runRounds([{ name: 'unleash single (frontend API, 1 flag)', url: frontend, options: { headers: unleashHeaders } }]);
    await createUnleashFlags(UNLEASH_PORT, 1, FLAGS);
    await waitForUnleashFlags(UNLEASH_PORT, FLAGS);
    runRounds([{ name: 'unleash bulk-100 (frontend API)', url: frontend, options: { headers: unleashHeaders } }]);
    await stop(unleash);
  }

  console.log(`\nServing benchmark: wrk, 2 threads, 50 connections, ${SECONDS} s a round, best of ${ROUNDS} interleaved rounds, on this machine (${(await import('node:os')).cpus().length} CPUs)`);
  console.log('\nsingle flag');
  printTable(results.filter((r) => r.name.includes('single') || r.name.includes('ceiling')), ripcordSingle);
  console.log('bulk, 100 flags');
  printTable(results.filter((r) => r.name.includes('bulk')), ripcordBulk);
  for (const note of notes) console.log(`note: ${note}`);
  const targets = [
    `single p99 ${ripcordSingle.p99Ms.toFixed(2)} ms (target < 5): ${ripcordSingle.p99Ms < 5 ? 'met' : 'MISSED'}`,
    `bulk-100 p99 ${ripcordBulk.p99Ms.toFixed(2)} ms (target < 10): ${ripcordBulk.p99Ms < 10 ? 'met' : 'MISSED'}`,
  ];
  console.log(targets.join('\n'));
} finally {
  await stopAll();
}
