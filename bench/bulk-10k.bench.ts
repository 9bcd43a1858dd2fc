/**
 * An OFREP bulk answer of 10,000 flags (`npm run bench:bulk`, about a minute): what the browser
 * client of a large project asks for. One API process as built, rate limit off, 10 concurrent callers
 * (wrk -t2 -c10), ROUNDS rounds of SECONDS s. Of the 10,000 flags, BENCH_DYNAMIC (default 1,000) are
 * evaluated per request (a rule on `tier` and a 50 % rollout); the rest give everyone the same answer
 * (on, off, disabled, 100 % and 0 % rollouts), which the server may pre-render.
 *
 * Before timing, equal work is checked: for a few contexts every one of the 10,000 items the API
 * answers (value, variant, reason) is what Ripcord's engine computes from the stored definitions,
 * and two users get different answers from some dynamic flags (so they are really evaluated per
 * request). Figures: CPU per request (the process's CPU ÷ answers), req/s, p50/p99 of the median
 * round. Goals: ≤ 5 ms CPU per request, p99 < 100 ms. Results go to bench/results/bulk-10k.json.
 * BENCH_BEFORE=<another checkout> measures that checkout's API too (same flags), in turn with this one's.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { createDatabase } from '../src/connections/database.js';
import { compileFlag, evaluate } from '../src/engine/index.js';
import { loadDefinitions } from '../src/flags/flag-store.js';
import { BENCH_REDIS_DB, CLIENT_TOKEN, freshDatabase, percentile, root, stackEnv, stopAll } from './lib/bench-stack.js';
import { startBuiltApi } from './lib/built-server.js';
import { cpuSeconds } from './lib/process-cpu.js';
import { seedFlags } from './lib/seed-flags.js';
import { wrk } from './lib/wrk.js';

const FLAGS = 10_000;
const DYNAMIC = Number(process.env.BENCH_DYNAMIC ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 10;
const PORT = 18187;
const CPU_GOAL_MS = 5;
const P99_GOAL_MS = 100;
const ENVIRONMENT = 'production';
const base = `http://127.0.0.1:${PORT}`;
const headers = { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' };
const context = { targetingKey: 'user-42', tier: 'free', country: 'NL' };

const key = (i: number) => `flag-${String(i).padStart(5, '0')}`;

/** Flag i's production config: the first DYNAMIC depend on the user, the rest answer everyone alike. */
function configOf(i: number): Record<string, unknown> {
  if (i < DYNAMIC) {
    return {
      enabled: true, value: true, off_value: false,
      rules: [{ id: 'vip', type: 'user_attribute', priority: 1, action: 'enable', conditions: [{ field: 'tier', operator: 'equals', value: 'vip' }] }],
      rollout: { percentage: 50, strategy: 'immediate' },
    };
  }
  const shapes = [
    { enabled: true, value: true, off_value: false },
    { enabled: false, value: true, off_value: false },
    { enabled: true, value: true, off_value: false, rollout: { percentage: 100, strategy: 'immediate' } },
    { enabled: true, value: true, off_value: false, rollout: { percentage: 0, strategy: 'immediate' } },
  ];
  return shapes[i % shapes.length]!;
}

interface Item { key: string; value?: unknown; variant?: string; reason?: string; errorCode?: string }

async function bulk(body: Record<string, unknown>, at = base): Promise<Item[]> {
  const response = await fetch(`${at}/ofrep/v1/evaluate/flags`, { method: 'POST', headers, body: JSON.stringify(body) });
  if (response.status !== 200) throw new Error(`bulk answered ${response.status}`);
  return ((await response.json()) as { flags: Item[] }).flags;
}

/**
 * Equal work: every item of the API's answer for each context is what the engine computes from the
 * stored definitions; the dynamic flags answer two users differently (some on, some off).
 */
async function checkEqualWork(databaseUrl: string): Promise<{ contexts: number; dynamicDiffering: number }> {
  const db = createDatabase(databaseUrl, 1);
  const compiled = new Map((await loadDefinitions(db, ENVIRONMENT)).map((definition) => [definition.key, compileFlag(definition)]));
  await db.end();
  if (compiled.size !== FLAGS) throw new Error(`${compiled.size} definitions stored, not ${FLAGS}`);
  const contexts = [context, { targetingKey: 'user-7', tier: 'free' }, { targetingKey: 'user-9', tier: 'vip' }, {}];
  const answers: Item[][] = [];
  for (const ctx of contexts) {
    const items = await bulk({ context: ctx });
    if (items.length !== FLAGS) throw new Error(`the bulk answer has ${items.length} flags, not ${FLAGS}`);
    for (const item of items) {
      const flag = compiled.get(item.key);
      if (!flag) throw new Error(`unexpected flag ${item.key}`);
      const expected = evaluate(flag, ctx, Date.now());
      const same = expected.reason === 'ERROR'
        ? item.errorCode !== undefined
        : item.value === expected.value && item.variant === expected.variant && item.reason === expected.reason;
      if (!same) throw new Error(`${item.key} for ${JSON.stringify(ctx)}: answered ${JSON.stringify(item)}, the engine says ${JSON.stringify(expected)}`);
    }
    answers.push(items);
  }
  let dynamicDiffering = 0;
  for (let i = 0; i < DYNAMIC; i++) if (answers[0]![i]!.value !== answers[1]![i]!.value) dynamicDiffering++;
  if (DYNAMIC > 0 && (dynamicDiffering < DYNAMIC * 0.3 || dynamicDiffering > DYNAMIC * 0.7)) {
    throw new Error(`two users differ on ${dynamicDiffering} of ${DYNAMIC} 50 % flags: the dynamic flags are not evaluated per user`);
  }
  return { contexts: contexts.length, dynamicDiffering };
}

interface Api {
  name: string;
  base: string;
  pid: number;
}

/** An API of `checkout` on the seeded database, with a Redis index of its own (its metrics stay apart). */
async function startApi(env: Record<string, string>, name: string, checkout: string, databaseUrl: string, port: number, slot: number): Promise<Api> {
  const redisUrl = `${env.REDIS_URL!.replace(/\/\d*$/, '')}/${BENCH_REDIS_DB + 4 + slot}`;
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  const api = await startBuiltApi(checkout, port, { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, RATE_LIMIT_PER_SECOND: '0', TEMPORAL_TASK_QUEUE: 'ripcord-bench-bulk' });
  return { name, base: `http://127.0.0.1:${port}`, pid: api.pid! };
}

async function main(): Promise<number> {
  const env = stackEnv();
  const databaseUrl = await freshDatabase(env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!, 'ripcord_bench_bulk');
  await seedFlags(databaseUrl, ENVIRONMENT, Array.from({ length: FLAGS }, (_, i) => ({ key: key(i), config: configOf(i) })));
  // BENCH_BEFORE=<another checkout (same schema)> also measures that checkout's API, round by round in turn with this one's.
  const before = process.env.BENCH_BEFORE;
  const apis = [await startApi(env, 'this checkout', root, databaseUrl, PORT, 0)];
  if (before) apis.push(await startApi(env, `before (${before})`, resolve(before), databaseUrl, PORT + 1, 1));
  const equal = await checkEqualWork(databaseUrl);
  const body = JSON.stringify({ context });
  const size = Buffer.byteLength(JSON.stringify({ flags: await bulk({ context }) }));
  for (const api of apis) {
    if (JSON.stringify(await bulk({ context }, api.base)) !== JSON.stringify(await bulk({ context }))) throw new Error(`${api.name} answers differently`);
    await wrk('warm-up', `${api.base}/ofrep/v1/evaluate/flags`, { method: 'POST', body, headers, connections: CONNECTIONS, seconds: 2, timeoutSeconds: 10 });
  }

  const rounds: Array<{ api: string; requestsPerSecond: number; cpuMsPerRequest: number; p50Ms: number; p99Ms: number; load: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const api of apis) {
      const cpuBefore = cpuSeconds(api.pid);
      const load = await wrk('bulk-10k', `${api.base}/ofrep/v1/evaluate/flags`, { method: 'POST', body, headers, connections: CONNECTIONS, seconds: SECONDS, timeoutSeconds: 10 });
      const cpuMs = ((cpuSeconds(api.pid) - cpuBefore) / load.requests) * 1000;
      if (load.non2xx > 0 || load.errors) throw new Error(`round ${round + 1}: ${load.non2xx} non-2xx ${load.errors}`);
      const loadAverage = loadavg()[0]!.toFixed(2);
      console.log(`round ${round + 1}, ${api.name}: ${Math.round(load.requestsPerSecond)} req/s, CPU ${cpuMs.toFixed(2)} ms/request, p50 ${load.p50Ms.toFixed(1)} ms, p99 ${load.p99Ms.toFixed(1)} ms, load ${loadAverage}`);
      rounds.push({ api: api.name, requestsPerSecond: Math.round(load.requestsPerSecond), cpuMsPerRequest: Number(cpuMs.toFixed(3)), p50Ms: load.p50Ms, p99Ms: load.p99Ms, load: Number(loadAverage) });
    }
  }
  await stopAll();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const medians = apis.map((api) => {
    const own = rounds.filter((r) => r.api === api.name);
    return {
      api: api.name,
      cpuMsPerRequest: percentile(own.map((r) => r.cpuMsPerRequest), 50),
      p99Ms: percentile(own.map((r) => r.p99Ms), 50),
      requestsPerSecond: percentile(own.map((r) => r.requestsPerSecond), 50),
    };
  });
  const result = { at: new Date().toISOString(), load, flags: FLAGS, dynamic: DYNAMIC, connections: CONNECTIONS, answerBytes: size, equalWork: equal, rounds, medians };
  console.log(`\nOFREP bulk of ${FLAGS} flags (${DYNAMIC} evaluated per request, ${Math.round(size / 1024)} KiB), wrk -t2 -c${CONNECTIONS}, load average ${load}`);
  console.log(`equal work: ${equal.contexts} contexts × ${FLAGS} items as the engine computes them; two users differ on ${equal.dynamicDiffering} of ${DYNAMIC} dynamic flags`);
  console.table(rounds);
  for (const m of medians) {
    console.log(`${m.api}, median of rounds: CPU ${m.cpuMsPerRequest} ms/request (goal ≤ ${CPU_GOAL_MS}: ${m.cpuMsPerRequest <= CPU_GOAL_MS ? 'met' : 'NOT met'}), ` +
      `p99 ${m.p99Ms} ms (goal < ${P99_GOAL_MS}: ${m.p99Ms < P99_GOAL_MS ? 'met' : 'NOT met'}), ${m.requestsPerSecond} req/s`);
  }
  if (medians.length === 2) console.log(`CPU per request, this ÷ before: ${(medians[0]!.cpuMsPerRequest / medians[1]!.cpuMsPerRequest).toFixed(2)}`);
  mkdirSync(`${root}/bench/results`, { recursive: true });
  writeFileSync(`${root}/bench/results/bulk-10k.json`, `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

try {
  process.exitCode = await main();
} finally {
  await stopAll();
}
