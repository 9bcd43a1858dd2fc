/**
 * Kill propagation: the time from sending the kill-switch request to the moment every one of
 * 2 API processes and 100 SSE clients (50 on each) has seen the kill; p50/p99 over 100 kills.
 * A process "sees" the kill when its SSE stream announces it (right after its L1 applied it).
 * Also shown: when the kill reached the clients relative to the response (negative = before the
 * caller got its answer). The APIs run with the rate limiter off; no worker runs, so the kill
 * workflows are terminated at the end (the kill itself is applied in the request).
 *
 *   npm run bench:propagation
 */
import { performance } from 'node:perf_hooks';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { admin, CLIENT_TOKEN, freshDatabase, percentile, stackEnv, startApi, stopAll } from './lib/bench-stack.js';
import { openEventStream } from './lib/event-stream.js';

const KILLS = Number(process.env.BENCH_KILLS ?? 100);
const CLIENTS = 100;
const PORTS = [18181, 18182];
const KEY = 'propagation-flag';

interface Client {
  port: number;
  /** Version → when this client read the event (performance.now()). */
  killed: Map<number, number>;
  restored: Map<number, number>;
}

async function connect(port: number): Promise<Client> {
  const client: Client = { port, killed: new Map(), restored: new Map() };
  await openEventStream(`http://127.0.0.1:${port}`, CLIENT_TOKEN, (event, data, at) => {
    if (event !== 'flag.killed' && event !== 'flag.restored') return;
    const parsed = JSON.parse(data) as { key: string; version: number };
    if (parsed.key === KEY) (event === 'flag.killed' ? client.killed : client.restored).set(parsed.version, at);
  });
  return client;
}

async function waitUntil(done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error('timed out waiting for every client');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const env = stackEnv();
const databaseUrl = await freshDatabase(env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!, 'ripcord_propagation');
const redisUrl = `${env.REDIS_URL!.replace(/\/\d*$/, '')}/3`;
const redis = new Redis(redisUrl);
await redis.flushdb();
redis.disconnect();

try {
  const apiEnv = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, RATE_LIMIT_PER_SECOND: '0', TEMPORAL_TASK_QUEUE: `ripcord-propagation-${Date.now()}` };
  await Promise.all(PORTS.map((port) => startApi(port, apiEnv)));
  const bases = PORTS.map((port) => `http://127.0.0.1:${port}`);
  await admin(bases[0]!, 'POST', '/api/v1/flags', { key: KEY, name: KEY, type: 'boolean' });
  await admin(bases[0]!, 'PUT', `/api/v1/flags/${KEY}/environments/production`, { enabled: true, value: true, off_value: false });
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => connect(PORTS[i % PORTS.length]!)));

  const fromRequest: number[] = [];
  const afterResponse: number[] = [];
  const perProcess: number[][] = PORTS.map(() => []);
  const workflowIds: string[] = [];
  const path = `/api/v1/flags/${KEY}/environments/production/kill-switch`;
  for (let i = 0; i < KILLS; i++) {
    const via = bases[i % bases.length]!; // alternate which process takes the kill
    const sent = performance.now();
    const kill = await admin(via, 'POST', path, { reason: `propagation ${i}` });
    const answered = performance.now();
    const version = kill.version as number;
    await waitUntil(() => clients.every((client) => client.killed.has(version)));
    const seen = clients.map((client) => client.killed.get(version)!);
    fromRequest.push(Math.max(...seen) - sent);
    afterResponse.push(Math.max(...seen) - answered);
    PORTS.forEach((port, p) => {
      perProcess[p]!.push(Math.min(...clients.filter((c) => c.port === port).map((c) => c.killed.get(version)!)) - sent);
    });
    const restore = await admin(via, 'DELETE', path);
    for (const answer of [kill, restore]) {
      const id = (answer.workflow as { id?: string } | undefined)?.id;
      if (id) workflowIds.push(id);
    }
    await waitUntil(() => clients.every((client) => client.restored.has(restore.version as number)));
  }

  const fmt = (values: number[]) => `p50 ${percentile(values, 50).toFixed(2)} ms, p99 ${percentile(values, 99).toFixed(2)} ms, max ${Math.max(...values).toFixed(2)} ms`;
  console.log(`\nKill propagation over ${KILLS} kills, 2 API processes, ${CLIENTS} SSE clients (kills alternate between the processes), load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('The APIs ran with the rate limiter OFF (RATE_LIMIT_PER_SECOND=0).');
  console.log(`  request sent → all ${CLIENTS} clients and both processes: ${fmt(fromRequest)}  (target p99 < 50 ms: ${percentile(fromRequest, 99) < 50 ? 'met' : 'MISSED'})`);
  PORTS.forEach((port, p) => console.log(`  request sent → process on ${port} (first of its clients): ${fmt(perProcess[p]!)}`));
  console.log(`  response received → all clients: ${fmt(afterResponse)}  (negative: the clients had the kill before the caller had its answer)`);
  await terminate(apiEnv.TEMPORAL_TASK_QUEUE, workflowIds, env);
} finally {
  await stopAll();
}

/** The bench runs no worker: its kill and restore workflows would stay RUNNING in the shared namespace. */
async function terminate(taskQueue: string, ids: string[], env: Record<string, string>): Promise<void> {
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  const client = new TemporalClient({ connection, namespace: env.TEMPORAL_NAMESPACE ?? 'default' });
  let terminated = 0;
  for (const id of ids) {
    try {
      await client.workflow.getHandle(id).terminate(`propagation bench over (task queue ${taskQueue} has no worker)`);
      terminated += 1;
    } catch {
      // already closed
    }
  }
  await connection.close();
  console.log(`  terminated ${terminated} of ${ids.length} kill/restore workflows the bench started`);
}
