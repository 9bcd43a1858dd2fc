/**
 * The serving speed guard (`npm run bench:guard`, about a minute; CI runs it after `npm test`):
 * OFREP single-flag rounds (on/off, a 25 % split, five rules) and bulk-100 rounds against one API
 * process, the server as built (bench/lib/built-server.ts), interleaved with a bare node:http server
 * answering a constant: the ceiling of one Node process on this machine, now. Per target, against the
 * ceiling of the same run:
 *   - CPU ratio, the verdict: the ceiling's CPU time per request ÷ Ripcord's (process CPU from /proc,
 *     every thread, less what the process burns idle, ÷ requests answered), the median of the rounds.
 *     Other load on the machine slows both servers down but barely changes what a request costs
 *     either of them. A ratio under its floor is measured once more; the better of the two counts.
 *   - throughput ratio, secondary: Ripcord's 2xx/s ÷ the ceiling's (median round). On a busy machine
 *     it measures the scheduler as much as the server (wrk and the server share what CPU is left, in
 *     proportions that differ per target), so it is judged only in a quiet run, one where the ceiling
 *     server got at least QUIET_CORE of a core, and only against a ratio recorded in a quiet run.
 * Fails when a judged ratio falls more than 15 % below the one committed in
 * bench/serving-guard.baseline.json. `--update` writes the measured CPU ratios there instead (on
 * purpose only: put the figures in the commit message) and keeps the committed throughput ratios;
 * `--update --throughput` in a quiet run writes those too (none are committed: see docs/development.md).
 * `--checkout DIR` measures another checkout of Ripcord (an older commit) against this baseline.
 * BENCH_LIMITER=1 adds the same targets on an API with the rate limiter and per-address fairness
 * share on and prints their cost (CPU per request and throughput, on against off, same rounds).
 * Results also go to bench/results/serving-guard.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { admin, BENCH_REDIS_DB, CLIENT_TOKEN, freshDatabase, root, stackEnv, stopAll, track, waitFor } from './lib/bench-stack.js';
import { buildServer, startBuiltApi } from './lib/built-server.js';
import { cpuSeconds, cpuTimes } from './lib/process-cpu.js';
import { seedFlags } from './lib/seed-flags.js';
import { wrk, type LoadResult } from './lib/wrk.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** How far below the committed ratio a measurement may fall before the guard fails. */
const TOLERANCE = 0.15;
/** How long the servers' CPU use is sampled with no load, to take it out of the rounds' figures. */
const IDLE_SECONDS = 2;
/** A run is quiet when the ceiling server got at least this share of a core during its rounds. */
const QUIET_CORE = 0.8;
const API_PORT = 18180;
const BARE_PORT = 18199;
const BULK_FLAGS = 100;
const BASELINE = `${root}/bench/serving-guard.baseline.json`;
/** A rate-limit budget (requests a second) no round reaches: the limiter counts every request and refuses none. */
const UNREACHED = '1000000000';
const LIMITED = 'limiter on: ';
/** What the rate limiter with its fairness share may cost at saturation. */
const LIMITER_GOAL = 0.02;

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

/** The committed ratios of one target; `throughput` is null until a quiet run recorded it. */
interface Baseline {
  cpu: number;
  throughput: number | null;
}

interface Target {
  name: string;
  url: string;
  pid: () => number;
}

/** One round of one target: wrk's figures and the server's CPU seconds during it. */
interface Round {
  load: LoadResult;
  cpuSeconds: number;
  systemSeconds: number;
  wallSeconds: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
};

/** The guard's flags: three single-flag shapes, and 97 more (a rule and a 50 % rollout) for the bulk answer. */
function guardFlags(): Array<{ key: string; config: Record<string, unknown> }> {
  const base = { enabled: true, value: true, off_value: false };
  const rest = Array.from({ length: BULK_FLAGS - 3 }, (_, i) => ({
    key: `flag-${String(i + 3).padStart(3, '0')}`,
    config: {
      ...base,
      rules: [{ id: 'vip', type: 'user_attribute', priority: 1, action: 'enable', conditions: [{ field: 'tier', operator: 'equals', value: 'vip' }] }],
      rollout: { percentage: 50, strategy: 'immediate' },
    },
  }));
  return [
    { key: 'on-off', config: base },
    { key: 'split', config: { ...base, rollout: { percentage: 25, strategy: 'immediate' } } },
    { key: 'five-rules', config: { ...base, rules: FIVE_RULES, rollout: { percentage: 0, strategy: 'immediate' } } },
    ...rest,
  ];
}

/**
 * An API of `checkout` on its own database and Redis index, serving the guard's flags. The server
 * is compiled (in esbuild's process) while the database is migrated, and the flags are written
 * before it starts: set-up was a third of the guard's time.
 */
async function apiWithFlags(env: Record<string, string>, checkout: string, port: number, database: string, redisDb: number, settings: Record<string, string> = {}): Promise<ChildProcess> {
  const built = buildServer(checkout);
  const databaseUrl = await freshDatabase(env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!, database, checkout);
  // This checkout's flag store writes this checkout's schema; an older checkout gets its flags through its own API.
  const own = checkout === resolve(root);
  if (own) await seedFlags(databaseUrl, 'production', guardFlags());
  const redisUrl = `${env.REDIS_URL!.replace(/\/\d*$/, '')}/${redisDb}`;
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  const api = await startBuiltApi(checkout, port, { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, RATE_LIMIT_PER_SECOND: '0', TEMPORAL_TASK_QUEUE: `ripcord-bench-guard-${port}`, ...settings }, await built);
  const base = `http://127.0.0.1:${port}`;
  if (!own) {
    const flags = guardFlags();
    for (let at = 0; at < flags.length; at += 8) {
      await Promise.all(flags.slice(at, at + 8).map(async ({ key, config }) => {
        await admin(base, 'POST', '/api/v1/flags', { key, name: key, type: 'boolean' });
        await admin(base, 'PUT', `/api/v1/flags/${key}/environments/production`, config);
      }));
    }
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

/** CPU seconds per second each process uses while nobody calls it, over `seconds`. */
async function idleCpuRates(pids: number[], seconds: number): Promise<Map<number, number>> {
  const before = pids.map((pid) => cpuSeconds(pid));
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = (performance.now() - started) / 1000;
  return new Map(pids.map((pid, i) => [pid, (cpuSeconds(pid) - before[i]!) / elapsed]));
}

/** The value given to a command-line option (`--name value`), if any. */
function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

async function main(): Promise<number> {
  const update = process.argv.includes('--update');
  // The checkout whose API is measured and checked (default: this one; the baseline is always this one's).
  const checkout = resolve(option('--checkout') ?? root);
  // BENCH_BEFORE=<another checkout> also runs that checkout's API in the same rounds (a before/after
  // comparison); only the measured checkout's ratios are checked against the baseline.
  const before = process.env.BENCH_BEFORE;
  const started = Date.now();
  const env = stackEnv();
  const api = await apiWithFlags(env, checkout, API_PORT, 'ripcord_bench_guard', BENCH_REDIS_DB);
  const old = before ? await apiWithFlags(env, resolve(before), API_PORT + 1, 'ripcord_bench_guard_before', BENCH_REDIS_DB + 1) : undefined;
  // BENCH_LIMITER=1 also runs the measured checkout with the rate limiter and its per-address fairness
  // share on, at budgets no round reaches (every request is counted, none refused): what they cost.
  const limited = process.env.BENCH_LIMITER === '1'
    ? await apiWithFlags(env, checkout, API_PORT + 2, 'ripcord_bench_guard_limiter', BENCH_REDIS_DB + 5, { RATE_LIMIT_PER_SECOND: UNREACHED, RATE_LIMIT_PER_ADDRESS_PER_SECOND: UNREACHED })
    : undefined;
  const setUp = Date.now() - started;
  const bare = track(spawn(process.execPath, ['-e', BARE_SERVER, String(BARE_PORT)], { stdio: 'ignore' }));
  await waitFor(async () => (await fetch(`http://127.0.0.1:${BARE_PORT}/`, { method: 'POST', body: '{}' })).status === 200, 'the bare server');

  const ceiling: Target = { name: 'ceiling (bare node:http)', url: `http://127.0.0.1:${BARE_PORT}/`, pid: () => bare.pid! };
  const checked = ripcordTargets('', API_PORT, () => api.pid!);
  const targets: Target[] = [
    ceiling, ...checked,
    ...(old ? ripcordTargets('before: ', API_PORT + 1, () => old.pid!) : []),
    ...(limited ? ripcordTargets(LIMITED, API_PORT + 2, () => limited.pid!) : []),
  ];
  // What each server burns with no request at all (Ripcord's timers: sync, heartbeat, metrics
  // flushes), charged to no request: on a busy machine a round answers few requests, and this fixed
  // cost divided among them would read as a slower request.
  const idleRate = await idleCpuRates([...new Set(targets.map((t) => t.pid()))], IDLE_SECONDS);
  // A second of each first: code compiled and caches filled before anything counts.
  for (const target of targets) await wrk(target.name, target.url, { method: 'POST', body, headers, seconds: 1 });

  /** ROUNDS interleaved rounds of `list` (the ceiling first), each round's CPU without the idle share. */
  async function measure(list: Target[]): Promise<Map<string, Round[]>> {
    const rounds = new Map<string, Round[]>(list.map((t) => [t.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of list) {
        const cpuBefore = cpuTimes(target.pid());
        const wallBefore = performance.now();
        // A busy machine can hold a bulk answer for seconds: no answer counts as lost before 10 s.
        const load = await wrk(target.name, target.url, { method: 'POST', body, headers, seconds: SECONDS, timeoutSeconds: 10 });
        const wallSeconds = (performance.now() - wallBefore) / 1000;
        const after = cpuTimes(target.pid());
        if (load.non2xx > 0 || load.errors) throw new Error(`${target.name}: ${load.non2xx} non-2xx answers ${load.errors}`);
        const systemSeconds = after.system - cpuBefore.system;
        const cpuSeconds = Math.max(0, after.user - cpuBefore.user + systemSeconds - idleRate.get(target.pid())! * wallSeconds);
        rounds.get(target.name)!.push({ load, cpuSeconds, systemSeconds, wallSeconds });
      }
    }
    return rounds;
  }
  // CPU per request of a round; ratios are taken round by round (each target against the ceiling of its own round).
  const perRequest = (round: Round) => round.cpuSeconds / round.load.requests;
  const cpuRatio = (rounds: Map<string, Round[]>, name: string) =>
    median(rounds.get(name)!.map((round, i) => perRequest(rounds.get(ceiling.name)![i]!) / perRequest(round)));

  const committed = JSON.parse(readFileSync(BASELINE, 'utf8')) as Record<string, Baseline>;
  const floorOf = (ratio: number) => ratio * (1 - TOLERANCE);
  const rounds = await measure(targets);
  // A CPU ratio under its floor is measured once more (the ceiling beside it again) and the better of
  // the two counts: a regression shows in both, a burst of load on the machine seldom does.
  const suspects = update ? [] : checked.filter((t) => committed[t.name] && cpuRatio(rounds, t.name) < floorOf(committed[t.name]!.cpu));
  const again = suspects.length > 0 ? await measure([ceiling, ...suspects]) : undefined;
  await stopAll();

  const ceilingRounds = rounds.get(ceiling.name)!;
  const throughput = (name: string) => median(rounds.get(name)!.map((round) => round.load.requestsPerSecond));
  const sum = (list: Round[], pick: (round: Round) => number) => list.reduce((total, round) => total + pick(round), 0);
  const ceilingCores = sum(ceilingRounds, (r) => r.cpuSeconds) / sum(ceilingRounds, (r) => r.wallSeconds);
  const quiet = ceilingCores >= QUIET_CORE;

  const measured: Record<string, { cpu: number; throughput: number }> = {};
  const rows = targets.map((target) => {
    const list = rounds.get(target.name)!;
    const first = cpuRatio(rounds, target.name);
    const second = again?.has(target.name) ? cpuRatio(again, target.name) : undefined;
    const ratios = { cpu: Math.max(first, second ?? 0), throughput: throughput(target.name) / throughput(ceiling.name) };
    if (checked.includes(target)) measured[target.name] = ratios;
    const requests = sum(list, (r) => r.load.requests);
    return {
      target: target.name,
      'req/s (median)': Math.round(throughput(target.name)),
      'CPU µs/request': Math.round((sum(list, (r) => r.cpuSeconds) / requests) * 1e6),
      'of which kernel': Math.round((sum(list, (r) => r.systemSeconds) / requests) * 1e6),
      'ceiling CPU ÷ this': second === undefined ? first.toFixed(3) : `${first.toFixed(3)}, again ${second.toFixed(3)}`,
      '÷ ceiling req/s': ratios.throughput.toFixed(3),
    };
  });
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`\nServing guard${checkout === resolve(root) ? '' : ` (${checkout})`}: wrk -t2 -c50, ${ROUNDS} interleaved rounds of ${SECONDS} s, load average ${load}; ` +
    `Ripcord idles at ${(idleRate.get(api.pid!)! * 1000).toFixed(0)} ms CPU/s (taken out); the ceiling got ${ceilingCores.toFixed(2)} of a core (${quiet ? 'quiet: throughput judged too' : `busy: throughput not judged below ${QUIET_CORE}`})`);
  console.table(rows);
  const limiterCost = limited ? printLimiterCost(rounds, checked) : undefined;
  mkdirSync(`${root}/bench/results`, { recursive: true });
  writeFileSync(`${root}/bench/results/serving-guard.json`, `${JSON.stringify({ at: new Date().toISOString(), checkout, load, ceilingCores, idleCpuPerSecond: idleRate.get(api.pid!), rows, measured, limiterCost }, null, 2)}\n`);

  if (update) {
    const throughputToo = quiet && process.argv.includes('--throughput');
    const next = Object.fromEntries(Object.entries(measured).map(([name, r]) => [name, {
      cpu: Number(r.cpu.toFixed(3)),
      throughput: throughputToo ? Number(r.throughput.toFixed(3)) : committed[name]?.throughput ?? null,
    }]));
    writeFileSync(BASELINE, `${JSON.stringify(next, null, 2)}\n`);
    console.log(`baseline written to ${BASELINE}${throughputToo ? '' : ' (CPU ratios only: the committed throughput ratios are kept)'}`);
    return 0;
  }
  const failures: string[] = [];
  for (const [name, ratios] of Object.entries(measured)) {
    const expected = committed[name];
    if (!expected) {
      failures.push(`${name}: no committed baseline`);
      continue;
    }
    if (ratios.cpu < floorOf(expected.cpu)) {
      failures.push(`${name}: CPU ratio ${ratios.cpu.toFixed(3)} < ${floorOf(expected.cpu).toFixed(3)} (committed ${expected.cpu} − ${TOLERANCE * 100} %)`);
    }
    if (quiet && expected.throughput !== null && ratios.throughput < floorOf(expected.throughput)) {
      failures.push(`${name}: throughput ratio ${ratios.throughput.toFixed(3)} < ${floorOf(expected.throughput).toFixed(3)} (committed ${expected.throughput} − ${TOLERANCE * 100} %)`);
    }
  }
  console.log(`took ${Math.round((Date.now() - started) / 1000)} s (set-up ${Math.round(setUp / 1000)} s)`);
  if (failures.length > 0) {
    console.error(`serving guard FAILED:\n  ${failures.join('\n  ')}`);
    return 1;
  }
  console.log(`serving guard passed: every judged ratio is within ${TOLERANCE * 100} % of the committed baseline`);
  return 0;
}

/**
 * The limiter's cost per target: the CPU per request with it on ÷ off, round by round (the two APIs
 * run in turn in every round), median; and the same for throughput (off ÷ on).
 */
function printLimiterCost(rounds: Map<string, Round[]>, checked: Target[]): Record<string, { cpu: number; throughput: number }> {
  const perRequest = (round: Round) => round.cpuSeconds / round.load.requests;
  const cost: Record<string, { cpu: number; throughput: number }> = {};
  const each = (target: Target) => {
    const off = rounds.get(target.name)!;
    const on = rounds.get(`${LIMITED}${target.name}`)!;
    return {
      cpu: on.map((round, i) => perRequest(round) / perRequest(off[i]!) - 1),
      throughput: on.map((round, i) => off[i]!.load.requestsPerSecond / round.load.requestsPerSecond - 1),
    };
  };
  for (const target of checked) {
    const { cpu, throughput } = each(target);
    cost[target.name] = { cpu: median(cpu), throughput: median(throughput) };
  }
  // Two processes differ by a few percent whatever they run: the median over every shape and round is the steadier figure.
  const all = checked.map(each);
  cost['every shape and round'] = { cpu: median(all.flatMap((a) => a.cpu)), throughput: median(all.flatMap((a) => a.throughput)) };
  console.log(`Rate limiter and per-address fairness share on (budgets never reached) against off, same rounds (goal: < ${LIMITER_GOAL * 100} %):`);
  console.table(Object.entries(cost).map(([name, c]) => ({
    target: name, 'CPU per request, on ÷ off − 1': `${(c.cpu * 100).toFixed(1)} %`, 'req/s, off ÷ on − 1': `${(c.throughput * 100).toFixed(1)} %`,
    goal: c.cpu < LIMITER_GOAL ? 'met' : 'NOT met',
  })));
  return cost;
}

try {
  process.exitCode = await main();
} finally {
  await stopAll();
}
