/* Shared set-up of the serving benchmarks: the stack's services, a database of their own, API processes. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { hashToken } from '../../src/auth/principal.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const ADMIN_TOKEN = 'bench-admin-token-0123456789';
export const CLIENT_TOKEN = 'bench-client-token-0123456789';
export const BENCH_DATABASE = 'ripcord_bench';
export const BENCH_REDIS_DB = 2;

const children: ChildProcess[] = [];

/** Remembers a process so that stopAll() ends it, even when the benchmark fails half way. */
export function track(child: ChildProcess): ChildProcess {
  children.push(child);
  return child;
}

/** Starts the stack's services (as `npm run stack:up` does) and reads the addresses it wrote. */
export function stackEnv(): Record<string, string> {
  execFileSync('bash', ['scripts/stack-up.sh'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const env: Record<string, string> = {};
  for (const line of readFileSync(`${root}/.stack/env`, 'utf8').split('\n')) {
    const match = /^export (\w+)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  // Every process a benchmark starts inherits this: without it an API process dialled the default
  // Temporal port (another checkout's, or nothing: /readyz then never turned 200).
  if (env.TEMPORAL_ADDRESS) process.env.TEMPORAL_ADDRESS = env.TEMPORAL_ADDRESS;
  return env;
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A fresh database for the benchmark, migrated (by `checkout`'s migrations), with a client token for production. `baseUrl` must be the owner's
 * (MIGRATION_DATABASE_URL): it creates the database, and the benchmark's API then runs as its owner. */
export async function freshDatabase(baseUrl: string, database = BENCH_DATABASE, checkout = root): Promise<string> {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = withDatabase(baseUrl, database);
  execFileSync(process.execPath, [`${checkout}/node_modules/tsx/dist/cli.mjs`, 'src/main/migrate.ts'], {
    cwd: checkout, env: { ...process.env, DATABASE_URL: url, MIGRATION_DATABASE_URL: url }, stdio: ['ignore', 'ignore', 'inherit'],
  });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`INSERT INTO api_tokens (name, kind, environment, token_hash) VALUES ('bench', 'client', 'production', $1)`, [hashToken(CLIENT_TOKEN)]);
  await client.end();
  return url;
}

export async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Starts `src/main/api.ts` on a port and waits for /readyz. */
export async function startApi(port: number, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [`${root}/node_modules/tsx/dist/cli.mjs`, 'src/main/api.ts'], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  let last = 'no answer';
  // Generous: on a loaded shared machine starting tsx alone can take a minute.
  await waitFor(async () => {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    last = `${response.status} ${(await response.text()).slice(0, 300)}`;
    return response.status === 200;
  }, `the API on ${port} (last /readyz: ${last})`, 180_000).catch((error: Error) => {
    throw new Error(`${error.message}; last /readyz: ${last}`);
  });
  return child;
}

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  // A process writing a CPU profile (BENCH_CPU_PROF) needs longer to exit.
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, process.env.BENCH_CPU_PROF ? 60_000 : 5_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export async function stopAll(): Promise<void> {
  await Promise.all(children.map((child) => stop(child)));
}

/** Calls the management API as the bench admin. */
export async function admin(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** The p-th percentile (0–100) of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stopAll().then(() => process.exit(130)));
}
