import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listReplicas } from '../../src/serving/replica-heartbeat.js';
import { ADMIN_TOKEN, eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, onForEveryone } from './serving-helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let stack: Stack;
let redis: Redis;
const children: ChildProcess[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `src/main/api.ts` as its own process (or cluster; tsx as a loader, so the pid is the
 * process's own) and waits until it is ready. Should it exit first (a cluster's primary gives up
 * when its processes keep failing at start-up), the wait ends at once with what it logged.
 */
async function spawnApi(extraEnv: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/api.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn', TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`the API process on ${port} exited (${code ?? signal}) before it was ready`))));
  exited.catch(() => undefined); // once ready, a later exit is the test's business
  const url = `http://127.0.0.1:${port}`;
  const ready = eventually(async () => (await fetch(`${url}/readyz`)).status === 200, `the API process on ${port} to be ready`, 60_000);
  await Promise.race([ready, exited]).catch((error: Error) => {
    throw new Error(`${error.message}; its output:\n${output.slice(-4_000)}`, { cause: error });
  });
  return url;
}

/** One OFREP call on a fresh connection, so that a cluster's processes take turns. */
function evaluateFresh(url: string, key: string): Promise<{ status: number; body: { value?: unknown; reason?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/ofrep/v1/evaluate/flags/${key}`, {
      method: 'POST', agent: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', connection: 'close' },
    }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') }));
    });
    req.on('error', reject);
    req.end('{"context":{"targetingKey":"u1"}}');
  });
}

beforeAll(async () => {
  stack = await startStack();
  redis = new Redis(stack.config.REDIS_URL);
});
afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
  redis?.disconnect();
  await stack?.close();
});

describe('several API processes', () => {
  it('serve a kill on every process after one activation on one of them', async () => {
    const [a, b] = await Promise.all([spawnApi(), spawnApi()]);
    const key = uniqueKey('multi');
    await createFlag(stack, key, onForEveryone);
    for (const url of [a, b, stack.api.url]) {
      await eventually(async () => (await evaluateFresh(url, key)).body.value === true, `${url} to serve the flag`);
    }

    const kill = await fetch(`${a}/api/v1/flags/${key}/environments/production/kill-switch`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'two replicas' }),
    });
    expect(kill.status).toBe(201);
    expect((await evaluateFresh(a, key)).body).toMatchObject({ value: false, reason: 'DISABLED' });
    for (const url of [b, stack.api.url]) {
      const served = await eventually(async () => {
        const response = await evaluateFresh(url, key);
        return response.body.value === false ? response : undefined;
      }, `${url} to serve the kill`, 5_000);
      expect(served.body).toMatchObject({ value: false, reason: 'DISABLED' });
    }
  });

  it('runs WEB_CONCURRENCY processes on one port, each announcing the version it serves', async () => {
    const before = new Set((await listReplicas(redis, stack.config.REDIS_PREFIX)).map((replica) => replica.replica));
    const url = await spawnApi({ WEB_CONCURRENCY: '2' });
    const added = await eventually(async () => {
      const replicas = (await listReplicas(redis, stack.config.REDIS_PREFIX)).filter((replica) => !before.has(replica.replica));
      return replicas.length >= 2 ? replicas : undefined;
    }, 'two new replica heartbeats');
    expect(new Set(added.map((replica) => replica.pid)).size).toBeGreaterThanOrEqual(2);
    expect(added[0]!.environments.production?.version).toEqual(expect.any(Number));

    const key = uniqueKey('cluster');
    await createFlag(stack, key, onForEveryone);
    await fetch(`${url}/api/v1/flags/${key}/environments/production/kill-switch`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'cluster' }),
    });
    await eventually(async () => {
      const answers = await Promise.all(Array.from({ length: 8 }, () => evaluateFresh(url, key)));
      return answers.every((answer) => answer.body.value === false);
    }, 'every cluster process to serve the kill', 5_000);

    // A process that dies once it is up is replaced (only start-up failures make the primary give up).
    const victim = added[0]!.pid;
    process.kill(victim, 'SIGKILL');
    const seen = new Set([...before, ...added.map((replica) => replica.replica)]);
    await eventually(async () => (await listReplicas(redis, stack.config.REDIS_PREFIX)).some((replica) => !seen.has(replica.replica) && replica.pid !== victim), 'a replacement process', 60_000);
  });

  it('gives up when the processes keep failing at start-up, and exits non-zero naming the cause', async () => {
    // The port is taken by another program: every forked process fails to listen, the same way each time.
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/api.ts'], {
        cwd: root,
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', WEB_CONCURRENCY: '2', RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn', TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (chunk) => (output += chunk));
      child.stderr!.on('data', (chunk) => (output += chunk));
      const code = await eventually(async () => child.exitCode ?? undefined, 'the primary to give up and exit', 120_000);
      expect(code).toBe(1);
      const lines = output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; cause?: string; failedStarts?: number });
      const retries = lines.filter((line) => line.msg === 'API process failed to start; starting another');
      const gaveUp = lines.find((line) => /failed to start 3 times in a row; giving up/.test(line.msg));
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(gaveUp, output.slice(-2_000)).toMatchObject({ failedStarts: 3, cause: expect.stringContaining('EADDRINUSE') });
    } finally {
      blocker.close();
    }
  });
});
