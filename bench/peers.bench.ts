/**
 * Ripcord beside its peers in one run (`npm run bench:peers`, about two minutes): one Ripcord API
 * process as built (rate limiter off), flagd and the GO Feature Flag relay proxy, each given the same
 * 100 flags (99 on for tier = vip, else a 50 % split on the targeting key; one a 25 % split for
 * everyone, the other single-flag shape), all over OFREP: single flag (flag-000 and split-25)
 * and bulk (the 100 flags), wrk -t2 -c50, ROUNDS interleaved rounds of SECONDS s. Peers are
 * binaries built elsewhere, given by path and skipped when unset:
 *
 *   RIPCORD_PEER_FLAGD=/path/to/flagd RIPCORD_PEER_GOFF=/path/to/go-feature-flag-relay-proxy npm run bench:peers
 *
 * Before timing, every peer must agree: vip users get every ruled flag on (bulk: 100 items), and each
 * serves flag-000 on to 40–60 % of 200 other users and split-25 to 15–35 % (which users differs:
 * each hashes its own way).
 * Figures per server: 2xx req/s and process CPU per request (median round); ratios are Ripcord's
 * against each peer, throughput (Ripcord ÷ peer) and CPU (peer's CPU per request ÷ Ripcord's), taken
 * round by round, median. CPU per request is what load on the machine moves least. Goals:
 * single ≥ 1.5× the relay; bulk-100 ≥ 2× flagd and ≥ 1.3× the relay. Results: bench/results/peers.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { BENCH_REDIS_DB, CLIENT_TOKEN, freshDatabase, percentile, root, stackEnv, stopAll, track, waitFor } from './lib/bench-stack.js';
import { startBuiltApi } from './lib/built-server.js';
import { flagdFlags, flagKey, goffFlags } from './lib/peers.js';
import { cpuSeconds } from './lib/process-cpu.js';
import { seedFlags } from './lib/seed-flags.js';
import { wrk, type LoadResult } from './lib/wrk.js';

const FLAGS = 100;
/** One of the 100 is the other single-flag shape: a 25 % split for everyone (no rule). */
const SPLIT = 'split-25';
const RULED = FLAGS - 1;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RIPCORD_PORT = 18190;
const FLAGD_PORTS = { grpc: 18113, management: 18114, sync: 18115, ofrep: 18116 };
const GOFF_PORT = 18131;
const context = { targetingKey: 'user-42', tier: 'free' };
const body = JSON.stringify({ context });

/** One server under test: where its OFREP answers and how to authenticate. */
interface Server {
  name: string;
  base: string;
  pid: number;
  headers: Record<string, string>;
}

/** Ripcord's rule and split, as its flag store writes them. */
const ripcordConfig = {
  enabled: true, value: true, off_value: false,
  rules: [{ id: 'vip', type: 'user_attribute', priority: 1, action: 'enable', conditions: [{ field: 'tier', operator: 'equals', value: 'vip' }] }],
  rollout: { percentage: 50, strategy: 'immediate' },
};

async function startRipcord(env: Record<string, string>): Promise<Server> {
  const databaseUrl = await freshDatabase(env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!, 'ripcord_bench_peers');
  await seedFlags(databaseUrl, 'production', [
    ...Array.from({ length: RULED }, (_, i) => ({ key: flagKey(i), config: ripcordConfig })),
    { key: SPLIT, config: { enabled: true, value: true, off_value: false, rollout: { percentage: 25, strategy: 'immediate' } } },
  ]);
  const redisUrl = `${env.REDIS_URL!.replace(/\/\d*$/, '')}/${BENCH_REDIS_DB + 6}`;
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  const api = await startBuiltApi(root, RIPCORD_PORT, { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, RATE_LIMIT_PER_SECOND: '0', TEMPORAL_TASK_QUEUE: 'ripcord-bench-peers' });
  return { name: 'ripcord', base: `http://127.0.0.1:${RIPCORD_PORT}`, pid: api.pid!, headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' } };
}

async function startFlagd(bin: string, dir: string): Promise<Server> {
  const flags = flagdFlags(RULED) as { flags: Record<string, unknown> };
  flags.flags[SPLIT] = { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { fractional: [['on', 25], ['off', 75]] } };
  writeFileSync(join(dir, 'flagd.json'), JSON.stringify(flags));
  const child = track(spawn(bin, [
    'start', '--uri', `file:${join(dir, 'flagd.json')}`, '--port', String(FLAGD_PORTS.grpc), '--management-port', String(FLAGD_PORTS.management),
    '--sync-port', String(FLAGD_PORTS.sync), '--ofrep-port', String(FLAGD_PORTS.ofrep),
  ], { stdio: 'ignore' }));
  const server = { name: 'flagd', base: `http://127.0.0.1:${FLAGD_PORTS.ofrep}`, pid: child.pid!, headers: { 'content-type': 'application/json' } };
  await waitFor(async () => (await bulk(server, context)).size === FLAGS, 'flagd to serve every flag');
  return server;
}

async function startGoff(bin: string, dir: string): Promise<Server> {
  const split = [`${SPLIT}:`, '  variations:', '    on: true', '    off: false', '  defaultRule:', '    percentage:', '      on: 25', '      off: 75', ''];
  writeFileSync(join(dir, 'goff-flags.yaml'), goffFlags(RULED) + split.join('\n'));
  writeFileSync(join(dir, 'goff.yaml'), [
    `listen: ${GOFF_PORT}`, 'host: 127.0.0.1', 'pollingInterval: 60000', 'startWithRetrieverError: false',
    'retriever:', '  kind: file', `  path: ${join(dir, 'goff-flags.yaml')}`, '',
  ].join('\n'));
  const child = track(spawn(bin, ['--config', join(dir, 'goff.yaml')], { stdio: 'ignore' }));
  const server = { name: 'GO Feature Flag relay', base: `http://127.0.0.1:${GOFF_PORT}`, pid: child.pid!, headers: { 'content-type': 'application/json' } };
  await waitFor(async () => (await bulk(server, context)).size === FLAGS, 'the GO Feature Flag relay to serve every flag');
  return server;
}

/** A server's bulk answer: each flag's value. */
async function bulk(server: Server, ctx: Record<string, string>): Promise<Map<string, unknown>> {
  const response = await fetch(`${server.base}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: server.headers, body: JSON.stringify({ context: ctx }) });
  if (response.status !== 200) throw new Error(`${server.name} bulk answered ${response.status}`);
  return new Map(((await response.json()) as { flags: Array<{ key: string; value: unknown }> }).flags.map((f) => [f.key, f.value]));
}

/** A server's single-flag answer for `key` (flag-000 by default). */
async function single(server: Server, ctx: Record<string, string>, key = flagKey(0)): Promise<unknown> {
  const response = await fetch(`${server.base}/ofrep/v1/evaluate/flags/${key}`, { method: 'POST', headers: server.headers, body: JSON.stringify({ context: ctx }) });
  if (response.status !== 200) throw new Error(`${server.name} single answered ${response.status}`);
  return ((await response.json()) as { value: unknown }).value;
}

/** Every server serves the same flags: vip users all on, other users about half on (see the header). */
async function checkAgreement(servers: Server[]): Promise<string> {
  const shares: string[] = [];
  for (const server of servers) {
    for (let i = 0; i < 3; i++) {
      const vip = { targetingKey: `vip-${i}`, tier: 'vip' };
      const answers = await bulk(server, vip);
      if (answers.size !== FLAGS || ![...answers].every(([key, v]) => key === SPLIT || v === true)) throw new Error(`${server.name} does not serve all ${RULED} ruled flags on to a vip user`);
      if ((await single(server, vip)) !== true) throw new Error(`${server.name} does not serve ${flagKey(0)} on to a vip user`);
    }
    let on = 0;
    let splitOn = 0;
    let bulkOn = 0;
    for (let u = 0; u < 200; u++) {
      const user = { targetingKey: `user-${u}`, tier: 'free' };
      const value = await single(server, user);
      if (typeof value !== 'boolean') throw new Error(`${server.name} answered ${JSON.stringify(value)} for ${flagKey(0)}`);
      on += Number(value);
      splitOn += Number((await single(server, user, SPLIT)) === true);
      if (u < 20) bulkOn += [...(await bulk(server, user)).values()].filter((v) => v === true).length;
    }
    if (on < 80 || on > 120) throw new Error(`${server.name} serves ${flagKey(0)} on to ${on} of 200 non-vip users, not about half`);
    if (splitOn < 30 || splitOn > 70) throw new Error(`${server.name} serves ${SPLIT} on to ${splitOn} of 200 users, not about a quarter`);
    shares.push(`${server.name} ${on}/200, ${SPLIT} ${splitOn}/200 (bulk: ${((bulkOn / (20 * FLAGS)) * 100).toFixed(0)} % of items on)`);
  }
  return `vip users: every ruled flag on from every server; ${flagKey(0)} on for non-vip users: ${shares.join(', ')}`;
}

interface Round {
  load: LoadResult;
  cpuMsPerRequest: number;
}

async function main(): Promise<number> {
  const env = stackEnv();
  const dir = mkdtempSync(join(tmpdir(), 'ripcord-peers-'));
  const servers = [await startRipcord(env)];
  const skipped: string[] = [];
  const flagd = process.env.RIPCORD_PEER_FLAGD;
  const goff = process.env.RIPCORD_PEER_GOFF;
  if (flagd) servers.push(await startFlagd(flagd, dir));
  else skipped.push('flagd (RIPCORD_PEER_FLAGD unset)');
  if (goff) servers.push(await startGoff(goff, dir));
  else skipped.push('GO Feature Flag relay (RIPCORD_PEER_GOFF unset)');
  const agreement = await checkAgreement(servers);
  console.log(agreement);

  const shapes = [
    { shape: 'single', path: `/ofrep/v1/evaluate/flags/${flagKey(0)}` },
    { shape: 'single 25 % split', path: `/ofrep/v1/evaluate/flags/${SPLIT}` },
    { shape: 'bulk-100', path: '/ofrep/v1/evaluate/flags' },
  ];
  const rounds = new Map<string, Round[]>();
  for (const { path } of shapes) for (const server of servers) await wrk('warm-up', `${server.base}${path}`, { method: 'POST', body, headers: server.headers, seconds: 1 });
  for (let round = 0; round < ROUNDS; round++) {
    for (const { shape, path } of shapes) {
      for (const server of servers) {
        const before = cpuSeconds(server.pid);
        const load = await wrk(`${server.name} ${shape}`, `${server.base}${path}`, { method: 'POST', body, headers: server.headers, seconds: SECONDS });
        if (load.non2xx > 0 || load.errors) throw new Error(`${server.name} ${shape}: ${load.non2xx} non-2xx ${load.errors}`);
        const cpuMsPerRequest = ((cpuSeconds(server.pid) - before) / load.requests) * 1000;
        const key = `${server.name} ${shape}`;
        rounds.set(key, [...(rounds.get(key) ?? []), { load, cpuMsPerRequest }]);
        console.log(`round ${round + 1} ${key}: ${Math.round(load.requestsPerSecond)} 2xx/s, ${(cpuMsPerRequest * 1000).toFixed(1)} µs CPU/request, p99 ${load.p99Ms.toFixed(1)} ms, load ${loadavg()[0]!.toFixed(1)}`);
      }
    }
  }
  await stopAll();

  const median = (key: string, pick: (r: Round) => number) => percentile(rounds.get(key)!.map(pick), 50);
  // Ratios are taken round by round (the servers ran one after the other in each), then the median.
  const pairedRatio = (key: string, ours: string, pick: (ours: Round, theirs: Round) => number) =>
    percentile(rounds.get(key)!.map((theirs, i) => pick(rounds.get(ours)![i]!, theirs)), 50);
  const rows: Array<{ shape: string; server: string; 'req/s (median)': number; 'CPU µs/request (median)': number; 'ripcord ÷ this, req/s': number; 'this ÷ ripcord, CPU/request': number }> = [];
  for (const { shape } of shapes) {
    const ours = `ripcord ${shape}`;
    for (const server of servers) {
      const key = `${server.name} ${shape}`;
      const rps = median(key, (r) => r.load.requestsPerSecond);
      const cpu = median(key, (r) => r.cpuMsPerRequest);
      rows.push({
        shape, server: server.name, 'req/s (median)': Math.round(rps), 'CPU µs/request (median)': Number((cpu * 1000).toFixed(1)),
        'ripcord ÷ this, req/s': Number(pairedRatio(key, ours, (o, t) => o.load.requestsPerSecond / t.load.requestsPerSecond).toFixed(2)),
        'this ÷ ripcord, CPU/request': Number(pairedRatio(key, ours, (o, t) => t.cpuMsPerRequest / o.cpuMsPerRequest).toFixed(2)),
      });
    }
  }
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`\nRipcord and its peers over OFREP: wrk -t2 -c50, ${ROUNDS} interleaved rounds of ${SECONDS} s, load average ${load}`);
  console.table(rows);
  const ratio = (shape: string, peer: string) => rows.find((r) => r.shape === shape && r.server === peer);
  const goals = [
    ['single', 'GO Feature Flag relay', 1.5],
    ['single 25 % split', 'GO Feature Flag relay', 1.5],
    ['bulk-100', 'flagd', 2],
    ['bulk-100', 'GO Feature Flag relay', 1.3],
  ] as const;
  for (const [shape, peer, goal] of goals) {
    const row = ratio(shape, peer);
    if (!row) continue;
    const met = (x: number) => (x >= goal ? 'met' : 'NOT met');
    console.log(`${shape} ≥ ${goal}× ${peer}: req/s ${row['ripcord ÷ this, req/s']}× (${met(row['ripcord ÷ this, req/s'])}), CPU per request ${row['this ÷ ripcord, CPU/request']}× (${met(row['this ÷ ripcord, CPU/request'])})`);
  }
  for (const note of skipped) console.log(`skipped: ${note}`);
  mkdirSync(`${root}/bench/results`, { recursive: true });
  writeFileSync(`${root}/bench/results/peers.json`, `${JSON.stringify({ at: new Date().toISOString(), load, agreement, rows, skipped }, null, 2)}\n`);
  return 0;
}

try {
  process.exitCode = await main();
} finally {
  await stopAll();
}
