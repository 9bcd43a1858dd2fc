/**
 * Throughput and latency of evaluation at 50 connections (wrk, same machine): Ripcord's OFREP
 * single-flag and bulk (100 flags) — with the node:http fast path and through Express — next to
 * flagd (OFREP on 8016) and unleash-server (frontend API), in one run. Every peer serves the same
 * flags (on for tier = vip, else a 50% split on the user), checked to agree before timing; all
 * peers run in the same interleaved rounds; req/s counts 2xx answers only; the table shows the
 * median round (and the best). Ripcord runs with its rate limiter off (RATE_LIMIT_PER_SECOND=0).
 *
 *   npm run bench:serving            (bench/setup.sh installs wrk and the peers first)
 */
import { execFileSync, spawn } from 'node:child_process';

import { Redis } from 'ioredis';
import { admin, CLIENT_TOKEN, freshDatabase, root, stackEnv, startApi, stopAll, track, waitFor, withDatabase, BENCH_REDIS_DB } from './lib/bench-stack.js';
import { createUnleashFlags, flagKey, startFlagd, startUnleash, unleashEnabled, UNLEASH_FRONTEND, waitForUnleashFlags } from './lib/peers.js';
import { printTable, summarize, wrk, type LoadResult, type RoundsResult } from './lib/wrk.js';

const FLAGS = 100;

// In a process of its own, so that the benchmark's own work (parsing wrk, setting up peers) never competes with it on one event loop.
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
const results: RoundsResult[] = [];
const notes: string[] = [];
const headers = { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' };
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/**
 * Runs every target ROUNDS times, interleaved (round 1 of each, then round 2 of each...): on a
 * shared machine other processes steal CPU in bursts, and interleaving spreads that over every
 * target. Each target keeps its median and its best round.
 */
async function runRounds(targets: Array<{ name: string; url: string; options: Parameters<typeof wrk>[2] }>): Promise<RoundsResult[]> {
  const rounds = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) {
      const result = await wrk(target.name, target.url, { seconds: SECONDS, ...target.options });
      console.log(`round ${round + 1} ${target.name}: ${Math.round(result.requestsPerSecond)} 2xx/s (${Math.round(result.allPerSecond)} answers/s), p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms${result.non2xx ? `, ${result.non2xx} non-2xx` : ''}`);
      rounds.get(target.name)!.push(result);
    }
  }
  const kept = targets.map((target) => summarize(rounds.get(target.name)!));
  results.push(...kept);
  return kept;
}

/** Ripcord's answer for each flag (value true/false) to a bulk evaluation of `context`. */
async function ripcordAnswers(port: number, context: Record<string, string>): Promise<Map<string, boolean>> {
  const response = await fetch(`http://127.0.0.1:${port}/ofrep/v1/evaluate/flags`, { method: 'POST', headers, body: JSON.stringify({ context }) });
  return new Map(((await response.json()) as { flags: Array<{ key: string; value: boolean }> }).flags.map((f) => [f.key, f.value]));
}

/** flagd's answer for one flag. */
async function flagdAnswer(key: string, context: Record<string, string>): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:8016/ofrep/v1/evaluate/flags/${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ context }) });
  return ((await response.json()) as { value: boolean }).value;
}

/**
 * Before timing: every peer serves the same rule and split. vip users get every flag on from every
 * peer; for 200 non-vip users each peer turns flag-000 on for 40–60% of them. Peers hash users into
 * a split each its own way, so which users fall in the 50% differs: that share is reported, not required.
 */
async function checkAgreement(ripcordPort: number, flagCount: number, peers: { flagd: boolean; unleash: boolean }): Promise<void> {
  const keys = Array.from({ length: flagCount }, (_, i) => flagKey(i));
  for (let i = 0; i < 5; i++) {
    const context = { targetingKey: `vip-${i}`, tier: 'vip' };
    const ripcord = await ripcordAnswers(ripcordPort, context);
    if (!keys.every((k) => ripcord.get(k) === true)) throw new Error(`ripcord does not serve every flag on to ${context.targetingKey}`);
    if (peers.unleash) {
      const unleash = await unleashEnabled(UNLEASH_PORT, context.targetingKey, 'vip');
      if (!keys.every((k) => unleash.has(k))) throw new Error(`unleash does not serve every flag on to ${context.targetingKey}`);
    }
    if (peers.flagd && !(await flagdAnswer(keys[0]!, context))) throw new Error('flagd does not serve vip on');
  }
  const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
  const on = { ripcord: 0, unleash: 0, flagd: 0 };
  const same = { unleash: 0, flagd: 0 };
  for (const user of users) {
    const context = { targetingKey: user, tier: 'free' };
    const r = (await ripcordAnswers(ripcordPort, context)).get(keys[0]!) === true;
    on.ripcord += Number(r);
    if (peers.unleash) {
      const u = (await unleashEnabled(UNLEASH_PORT, user, 'free')).has(keys[0]!);
      on.unleash += Number(u);
      same.unleash += Number(u === r);
    }
    if (peers.flagd) {
      const f = await flagdAnswer(keys[0]!, context);
      on.flagd += Number(f);
      same.flagd += Number(f === r);
    }
  }
  const share = (n: number) => n / users.length;
  for (const [peer, count] of Object.entries(on)) {
    if (peer !== 'ripcord' && !peers[peer as 'flagd' | 'unleash']) continue;
    if (share(count) < 0.4 || share(count) > 0.6) throw new Error(`${peer} serves ${keys[0]} on to ${count} of 200 non-vip users, not about half`);
  }
  console.log(`agreement (${flagCount} flag(s)): vip users on everywhere; non-vip on-share ripcord ${share(on.ripcord)}`
    + (peers.unleash ? `, unleash ${share(on.unleash)} (same answer as ripcord for ${share(same.unleash) * 100}% of users)` : '')
    + (peers.flagd ? `, flagd ${share(on.flagd)} (same answer for ${share(same.flagd) * 100}%)` : ''));
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

  // Unleash on the same Postgres, a database of its own, running beside Ripcord so that every peer
  // is in the same rounds. Its frontend API evaluates every flag of the project for a context: one
  // flag for the single-flag rounds, then 100 for the bulk rounds.
  // The schema owner (MIGRATION_DATABASE_URL) may create databases; the application role may not.
  const ownerUrl = env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!;
  const unleashDb = withDatabase(ownerUrl, 'unleash_bench');
  execFileSync('psql', [ownerUrl, '-qc', 'DROP DATABASE IF EXISTS unleash_bench WITH (FORCE)', '-c', 'CREATE DATABASE unleash_bench'], { stdio: 'ignore' });
  const unleash = await startUnleash(unleashDb, UNLEASH_PORT);
  const unleashUp = typeof unleash !== 'string';
  if (!unleashUp) notes.push(`unleash: ${unleash}`);
  const unleashTarget = (name: string) => unleashUp
    ? [{ name, url: `http://127.0.0.1:${UNLEASH_PORT}/api/frontend?userId=${context.targetingKey}&tier=${context.tier}`, options: { headers: { authorization: UNLEASH_FRONTEND } } }]
    : [];
  if (unleashUp) {
    await createUnleashFlags(UNLEASH_PORT, 0, 1);
    await waitForUnleashFlags(UNLEASH_PORT, 1);
  }
  await checkAgreement(ports.fast, 1, { flagd: typeof flagd !== 'string', unleash: unleashUp });

  const ripcordSingle = (await runRounds([
    { name: 'bare node:http, constant answer (ceiling)', url: 'http://127.0.0.1:18099/', options: post },
    { name: 'ripcord single (fast path)', url: single(ports.fast), options: post },
    { name: 'ripcord single (Express)', url: single(ports.express), options: post },
    { name: 'ripcord single (fast path, WEB_CONCURRENCY=2)', url: single(ports.cluster), options: post },
    ...flagdTargets.filter((t) => t.kind === 'single'),
    ...unleashTarget('unleash single (frontend API, 1 flag)'),
  ]))[1]!;

  if (unleashUp) {
    await createUnleashFlags(UNLEASH_PORT, 1, FLAGS);
    await waitForUnleashFlags(UNLEASH_PORT, FLAGS);
  }
  await checkAgreement(ports.fast, FLAGS, { flagd: typeof flagd !== 'string', unleash: unleashUp });
  const ripcordBulk = (await runRounds([
    { name: 'ripcord bulk-100 (fast path)', url: bulk(ports.fast), options: post },
    { name: 'ripcord bulk-100 (Express)', url: bulk(ports.express), options: post },
    { name: 'ripcord bulk-100 (fast path, WEB_CONCURRENCY=2)', url: bulk(ports.cluster), options: post },
    ...flagdTargets.filter((t) => t.kind === 'bulk'),
    ...unleashTarget('unleash bulk-100 (frontend API)'),
  ]))[0]!;
  await stopAll();

  const os = await import('node:os');
  console.log(`\nServing benchmark: wrk, 2 threads, 50 connections, ${SECONDS} s a round, ${ROUNDS} interleaved rounds of every peer (median and best round), 2xx answers only, on this machine (${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  console.log('Ripcord ran with its rate limiter OFF (RATE_LIMIT_PER_SECOND=0); peers have none configured.');
  console.log('\nsingle flag');
  printTable(results.filter((r) => r.name.includes('single') || r.name.includes('ceiling')), ripcordSingle);
  console.log('bulk, 100 flags');
  printTable(results.filter((r) => r.name.includes('bulk')), ripcordBulk);
  for (const note of notes) console.log(`note: ${note}`);
  const targets = [
    `single p99 (median round) ${ripcordSingle.median.p99Ms.toFixed(2)} ms (target < 5): ${ripcordSingle.median.p99Ms < 5 ? 'met' : 'MISSED'}`,
    `bulk-100 p99 (median round) ${ripcordBulk.median.p99Ms.toFixed(2)} ms (target < 10): ${ripcordBulk.median.p99Ms < 10 ? 'met' : 'MISSED'}`,
  ];
  console.log(targets.join('\n'));
} finally {
  await stopAll();
}
