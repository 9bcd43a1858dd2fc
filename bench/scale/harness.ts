/* Shared parts of bench:scale: processes on the stack, load, process figures, tables. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { admin, ADMIN_TOKEN, freshDatabase, root, track, waitFor } from '../lib/bench-stack.js';
import { classifyGrowth, growthExponent, type Growth } from './growth.js';
import type { Series } from './chart.js';

export const freePort = () => new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    server.close(() => resolve(port));
  });
});

export const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** The settings every process of one dimension shares: its own database and Redis index. */
export async function dimensionEnv(stack: Record<string, string>, name: string, redisIndex: number): Promise<Record<string, string>> {
  const databaseUrl = await freshDatabase(stack.MIGRATION_DATABASE_URL ?? stack.DATABASE_URL!, `ripcord_scale_${name}`);
  const redisUrl = `${stack.REDIS_URL!.replace(/\/\d*$/, '')}/${redisIndex}`;
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  return {
    DATABASE_URL: databaseUrl, MIGRATION_DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, TEMPORAL_ADDRESS: stack.TEMPORAL_ADDRESS!,
    TEMPORAL_TASK_QUEUE: `ripcord-scale-${name}-${Date.now()}`,
    // Stated in the output: the benchmark measures capacity, so the per-token limits are off.
    RATE_LIMIT_PER_SECOND: '0', MAX_STREAMS_PER_TOKEN: '100000', MAX_STREAMS_PER_ADDRESS: '100000',
  };
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  port: number;
  base: string;
  /** spawn → ready (API: /readyz 200; worker: its "worker running" log line). */
  readyMs: number;
}

/** The production entry (`npm run build:server` first), run by plain node: its pid is the server's own. */
const CLI = 'dist/src/main/cli.js';

export async function startApi(env: Record<string, string>): Promise<Proc> {
  const port = await freePort();
  const started = performance.now();
  const child = track(spawn(process.execPath, [CLI, 'api'], {
    cwd: root, env: { ...process.env, ...env, PORT: String(port), RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  }));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, `the API on ${port}`, 180_000);
  return { child, pid: child.pid!, port, base, readyMs: performance.now() - started };
}

export async function startWorker(env: Record<string, string>): Promise<Proc> {
  const started = performance.now();
  const child = track(spawn(process.execPath, [CLI, 'worker'], {
    cwd: root, env: { ...process.env, ...env, RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  }));
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  });
  await waitFor(async () => out.includes('worker running'), 'the worker to poll', 180_000);
  return { child, pid: child.pid!, port: 0, base: '', readyMs: performance.now() - started };
}

export async function stopProc(proc: Proc | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
}

export interface LoadFigures { rps: number; p50: number; p99: number; non2xx: number; errors: number }

/** autocannon at `connections` for `seconds`; requests/s counts 2xx answers only. */
export async function load(url: string, token: string, body: unknown, connections = 50, seconds = 8): Promise<LoadFigures> {
  const result = await autocannon({
    url, method: 'POST', connections, duration: seconds,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { rps: (result.requests.total - result.non2xx) / seconds, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

/** Event-loop lag p99 of an API process, from its Prometheus metrics (prom-client's default collector). */
export async function loopLagP99Ms(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const match = /^nodejs_eventloop_lag_p99_seconds\s+([\d.e+-]+)/m.exec(text);
  return match ? Number(match[1]) * 1000 : Number.NaN;
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
export async function pool<T>(items: T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  }));
}

/** Creates boolean flags on in production with one targeting rule and a 50% split (the serving bench's shape). */
export async function createFlags(base: string, keys: string[], concurrency = 16): Promise<void> {
  await pool(keys, concurrency, async (key) => {
    await admin(base, 'POST', '/api/v1/flags', { key, name: key, type: 'boolean' });
    await admin(base, 'PUT', `/api/v1/flags/${key}/environments/production`, {
      enabled: true, value: true, off_value: false,
      rules: [{ id: 'pro', type: 'user_attribute', priority: 1, action: 'enable', conditions: [{ field: 'plan', operator: 'equals', value: 'pro' }] }],
      rollout: { percentage: 50, strategy: 'immediate' },
    });
  });
}

export interface Measure { name: string; unit: string; budget?: number; better?: 'lower' | 'higher' }
export interface DimensionResult {
  dimension: string;
  sizeLabel: string;
  measures: Measure[];
  rows: Array<{ size: number; values: Record<string, number> }>;
  notes: string[];
}

const cell = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));

/** The table (markdown) with a growth verdict per measure and the budget checks. */
export function report(result: DimensionResult): { markdown: string; series: Series[]; verdicts: Record<string, Growth> } {
  const header = `| ${result.sizeLabel} | ${result.measures.map((m) => `${m.name} (${m.unit})`).join(' | ')} |`;
  const rule = `|${'---|'.repeat(result.measures.length + 1)}`;
  const rows = result.rows.map((r) => `| ${r.size.toLocaleString('en-US')} | ${result.measures.map((m) => cell(r.values[m.name])).join(' | ')} |`);
  const verdicts: Record<string, Growth> = {};
  for (const m of result.measures) {
    // A throughput's cost is its inverse: fewer requests a second as size grows is a cost that grows.
    const cost = (v: number | undefined) => (v === undefined ? Number.NaN : m.better === 'higher' ? 1 / v : v);
    const k = growthExponent(result.rows.map((r) => ({ size: r.size, cost: cost(r.values[m.name]) })));
    verdicts[m.name] = classifyGrowth(k);
  }
  const growth = `| growth of the cost | ${result.measures.map((m) => verdicts[m.name]).join(' | ')} |`;
  const largest = result.rows.at(-1);
  const budgets = result.measures.filter((m) => m.budget !== undefined && largest).map((m) => {
    const v = largest!.values[m.name];
    const met = v !== undefined && !Number.isNaN(v) && (m.better === 'higher' ? v >= m.budget! : v <= m.budget!);
    return `- budget ${m.name} ${m.better === 'higher' ? '≥' : '<'} ${m.budget} ${m.unit} at ${largest!.size.toLocaleString('en-US')}: ${cell(v)} → **${met ? 'met' : 'MISSED'}**`;
  });
  const markdown = [`### ${result.dimension}`, '', header, rule, ...rows, growth, '', ...budgets, ...result.notes.map((n) => `- ${n}`), ''].join('\n');
  const series = result.measures.map((m) => ({ measure: m.name, unit: m.unit, budget: m.budget, points: result.rows.map((r) => ({ size: r.size, value: r.values[m.name] ?? Number.NaN })) }));
  return { markdown, series, verdicts };
}
