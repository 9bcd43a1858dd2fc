/**
 * The serving speed guard (`npm run bench:guard`, about a minute): OFREP single-flag rounds (on/off,
 * a 25 % split, five rules) and bulk-100 rounds against one API process, interleaved with a bare
 * node:http server answering a constant (the ceiling of one Node process on this machine, now).
 * Two ratios per target, each against the ceiling of the same run:
 *   - throughput: Ripcord's 2xx/s ÷ the ceiling's requests/s (median round);
 *   - CPU: the ceiling's CPU time per request ÷ Ripcord's (process CPU ÷ requests answered, summed
 *     over the rounds), which other load on the machine barely moves.
 * Fails when a ratio falls more than 15 % below the one committed in bench/serving-guard.baseline.json.
 * `--update` writes the measured ratios there instead (on purpose only: put the figures in the
 * commit message). Results also go to bench/results/serving-guard.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { admin, BENCH_REDIS_DB, CLIENT_TOKEN, freshDatabase, root, stackEnv, stopAll, track, waitFor } from './lib/bench-stack.js';
import { cpuTimes } from './lib/process-cpu.js';
import { wrk, type LoadResult } from './lib/wrk.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** How far below the committed ratio a measurement may fall before the guard fails. */
const TOLERANCE = 0.15;
const API_PORT = 18180;
const BARE_PORT = 18199;
const BULK_FLAGS = 100;
const BASELINE = `${root}/bench/serving-guard.baseline.json`;

// Five rules that this context passes through without a match, so every rule is evaluated.
const FIVE_RULES = [
  { id: 'blocked', type: 'user_attribute', priority: 1, action: 'disable', conditions: [{ field: 'country', operator: 'in', value: ['XX', 'YY', 'KP', 'IR', 'SY', 'CU', 'RU', 'BY'] }] },
  { id: 'staff', type: 'user_attribute', priority: 2, action: 'enable', conditions: [{ field: 'email', operator: 'ends_with', value: '@ripcord.dev' }] },
  { id: 'old-apps', type: 'custom', priority: 3, action: 'disable', conditions: [{ field: 'appVersion', operator: 'semver_less_than', value: '1.5.0' }] },
  { id: 'enterprise', type: 'user_attribute', priority: 4, action: 'enable', conditions: [{ field: 'plan', operator: 'equals', value: 'enterprise' }, { field: 'age', operator: 'greater_or_equal', value: 21 }] },
  { id: 'regional-canary', type: 'percentage', priority: 5, action: 'enable', percentage: 25, conditions: [{ field: 'region', operator: 'in', value: ['eu-west', 'us-east'] }] },
];
const context = { targetingKey: 'user-42', country: 'NL', email: 'u42@example.com', appVersion: '2.1.0', plan: 'free', age: 30, region: 'ap-south' };
const body = JSON.stringify({ context });
const headers = { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' };

const BARE_SERVER = `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"key":"flag-000","value":true,"reason":"STATIC","variant":"on"}'); }); }).listen(Number(process.argv[1]), '127.0.0.1');`;

/** A committed or measured pair of ratios for one target. */
interface Ratios {
  throughput: number;
  cpu: number;
}

interface Target {
  name: string;
  url: string;
  pid: () => number;
}

/** Starts one API process of `checkout`, run by node itself (not tsx's launcher) so that its pid is the server's. */
async function startApi(checkout: string, port: number, env: Record<string, string>): Promise<ChildProcess> {
  const child = track(spawn(process.execPath, ['--import', 'tsx', 'src/main/api.ts'], {
    cwd: checkout,
    env: { ...process.env, ...env, PORT: String(port), RIPCORD_ADMIN_TOKEN: 'bench-admin-token-0123456789', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  }));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 'the API', 180_000);
  return child;
}

/** An API of `checkout` on its own database and Redis index, serving the guard's flags. */
async function apiWithFlags(env: Record<string, string>, checkout: string, port: number, database: string, redisDb: number): Promise<ChildProcess> {
  const databaseUrl = await freshDatabase(env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!, database, checkout);
  const redisUrl = `${env.REDIS_URL!.replace(/\/\d*$/, '')}/${redisDb}`;
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  const api = await startApi(checkout, port, { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, RATE_LIMIT_PER_SECOND: '0', TEMPORAL_TASK_QUEUE: `ripcord-bench-guard-${port}` });
  const base = `http://127.0.0.1:${port}`;
  const flag = async (key: string, config: Record<string, unknown>) => {
    await admin(base, 'POST', '/api/v1/flags', { key, name: key, type: 'boolean' });
    await admin(base, 'PUT', `/api/v1/flags/${key}/environments/production`, { enabled: true, value: true, off_value: false, ...config });
  };
  await flag('on-off', {});
  await flag('split', { rollout: { percentage: 25, strategy: 'immediate' } });
  await flag('five-rules', { rules: FIVE_RULES, rollout: { percentage: 0, strategy: 'immediate' } });
  for (let i = 3; i < BULK_FLAGS; i++) {
    await flag(`flag-${String(i).padStart(3, '0')}`, {
      rules: [{ id: 'vip', type: 'user_attribute', priority: 1, action: 'enable', conditions: [{ field: 'tier', operator: 'equals', value: 'vip' }] }],
      rollout: { percentage: 50, strategy: 'immediate' },
    });
  }
  await waitFor(async () => {
    const response = await fetch(`${base}/ofrep/v1/evaluate/flags`, { method: 'POST', headers, body });
    return ((await response.json()) as { flags: unknown[] }).flags.length === BULK_FLAGS;
  }, `the API on ${port} to serve ${BULK_FLAGS} flags`);
  return api;
}

/** The guard's targets on one API: single flags of each shape and the bulk answer. */
function ripcordTargets(prefix: string, port: number, pid: () => number): Target[] {
  const base = `http://127.0.0.1:${port}`;
  return [
    { name: `${prefix}single on/off`, url: `${base}/ofrep/v1/evaluate/flags/on-off`, pid },
    { name: `${prefix}single split`, url: `${base}/ofrep/v1/evaluate/flags/split`, pid },
    { name: `${prefix}single five-rules`, url: `${base}/ofrep/v1/evaluate/flags/five-rules`, pid },
    { name: `${prefix}bulk-100`, url: `${base}/ofrep/v1/evaluate/flags`, pid },
  ];
}

async function main(): Promise<number> {
  const update = process.argv.includes('--update');
  // BENCH_BEFORE=<another checkout> also runs that checkout's API in the same rounds (a before/after
  // comparison); only this checkout's ratios are checked against the baseline.
  const before = process.env.BENCH_BEFORE;
  const started = Date.now();
  const env = stackEnv();
  const api = await apiWithFlags(env, root, API_PORT, 'ripcord_bench_guard', BENCH_REDIS_DB);
  const old = before ? await apiWithFlags(env, before, API_PORT + 1, 'ripcord_bench_guard_before', BENCH_REDIS_DB + 1) : undefined;
  const bare = track(spawn(process.execPath, ['-e', BARE_SERVER, String(BARE_PORT)], { stdio: 'ignore' }));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${BARE_PORT}/`, { method: 'POST', body: '{}' })).status === 200, 'the bare server');

  const ceiling: Target = { name: 'ceiling (bare node:http)', url: `http://127.0.0.1:${BARE_PORT}/`, pid: () => bare.pid! };
  const checked = ripcordTargets('', API_PORT, () => api.pid!);
  const targets: Target[] = [ceiling, ...checked, ...(old ? ripcordTargets('before: ', API_PORT + 1, () => old.pid!) : [])];
  const rounds = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  const cpu = new Map<string, { seconds: number; system: number; requests: number }>(targets.map((t) => [t.name, { seconds: 0, system: 0, requests: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) {
      const cpuBefore = cpuTimes(target.pid());
      const result = await wrk(target.name, target.url, { method: 'POST', body, headers, seconds: SECONDS });
      const after = cpuTimes(target.pid());
      const used = cpu.get(target.name)!;
      used.seconds += after.user + after.system - cpuBefore.user - cpuBefore.system;
      used.system += after.system - cpuBefore.system;
      used.requests += result.requests;
      if (result.non2xx > 0 || result.errors) throw new Error(`${target.name}: ${result.non2xx} non-2xx answers ${result.errors}`);
      rounds.get(target.name)!.push(result);
    }
  }
  await stopAll();

  const median = (name: string) => {
    const sorted = rounds.get(name)!.map((r) => r.requestsPerSecond).sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)]!;
  };
  const cpuPerRequest = (name: string) => cpu.get(name)!.seconds / cpu.get(name)!.requests;
  const measured: Record<string, Ratios> = {};
  const rows = targets.map((target) => {
    const ratios = { throughput: median(target.name) / median(ceiling.name), cpu: cpuPerRequest(ceiling.name) / cpuPerRequest(target.name) };
    if (checked.includes(target)) measured[target.name] = ratios;
    return {
      target: target.name,
      'req/s (median)': Math.round(median(target.name)),
      'CPU µs/request': Math.round(cpuPerRequest(target.name) * 1e6),
      'of which kernel': Math.round((cpu.get(target.name)!.system / cpu.get(target.name)!.requests) * 1e6),
      '÷ ceiling req/s': ratios.throughput.toFixed(3),
      'ceiling CPU ÷ this': ratios.cpu.toFixed(3),
    };
  });
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`\nServing guard: wrk -t2 -c50, ${ROUNDS} interleaved rounds of ${SECONDS} s, load average ${load}`);
  console.table(rows);
  mkdirSync(`${root}/bench/results`, { recursive: true });
  writeFileSync(`${root}/bench/results/serving-guard.json`, `${JSON.stringify({ at: new Date().toISOString(), load, rows, measured }, null, 2)}\n`);

  if (update) {
    writeFileSync(BASELINE, `${JSON.stringify(Object.fromEntries(Object.entries(measured).map(([name, r]) => [name, { throughput: Number(r.throughput.toFixed(3)), cpu: Number(r.cpu.toFixed(3)) }])), null, 2)}\n`);
    console.log(`baseline written to ${BASELINE}`);
    return 0;
  }
  const committed = JSON.parse(readFileSync(BASELINE, 'utf8')) as Record<string, Ratios>;
  const failures: string[] = [];
  for (const [name, ratios] of Object.entries(measured)) {
    const expected = committed[name];
    if (!expected) {
      failures.push(`${name}: no committed baseline`);
      continue;
    }
    for (const kind of ['throughput', 'cpu'] as const) {
      const floor = expected[kind] * (1 - TOLERANCE);
      if (ratios[kind] < floor) failures.push(`${name}: ${kind} ratio ${ratios[kind].toFixed(3)} < ${floor.toFixed(3)} (committed ${expected[kind]} − ${TOLERANCE * 100} %)`);
    }
  }
  console.log(`took ${Math.round((Date.now() - started) / 1000)} s`);
  if (failures.length > 0) {
    console.error(`serving guard FAILED:\n  ${failures.join('\n  ')}`);
    return 1;
  }
  console.log('serving guard passed: every ratio is within 15 % of the committed baseline');
  return 0;
}

try {
  process.exitCode = await main();
} finally {
  await stopAll();
}
