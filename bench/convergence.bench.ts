/**
 * Acknowledged convergence: kill → "confirmed on every live replica", p50/p99 over BENCH_KILLS
 * kills (default 100), with 3 API processes behind a load balancer and 100 SSE clients spread over
 * them (the fleet of test/chaos, its own redis-server and database, the stack's Temporal).
 *
 * Timed from just before the kill request is sent, by an observer subscribed to the acknowledgement
 * channel, until every live replica has acknowledged the kill's version; beside it the kill's
 * response time, the moment all 100 SSE clients have the event, and the confirmation the API
 * answers afterwards (GET …/kill-switch, timed by the replicas' own clocks).
 *
 *   npm run bench:convergence
 */
import { cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { ackChannel } from '../src/serving/change-acks.js';
import { listReplicas } from '../src/serving/replica-heartbeat.js';
import { FLEET_ADMIN_TOKEN, Fleet } from '../test/chaos/fleet/fleet.js';
import { percentile, stackEnv } from './lib/bench-stack.js';
import { openEventStream } from './lib/event-stream.js';

const KILLS = Number(process.env.BENCH_KILLS ?? 100);
const CLIENTS = Number(process.env.BENCH_STREAM_CLIENTS ?? 100);
const KEY = 'convergence-flag';

interface StreamClient {
  killed: Map<number, number>;
  close(): void;
}

async function openStream(url: string): Promise<StreamClient> {
  const killed = new Map<number, number>();
  const stream = await openEventStream(url, FLEET_ADMIN_TOKEN, (event, data, at) => {
    if (event !== 'flag.killed') return;
    const parsed = JSON.parse(data) as { key: string; version: number };
    if (parsed.key === KEY) killed.set(parsed.version, at);
  });
  return { killed, close: () => stream.close() };
}

async function waitUntil(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const figures = (label: string, values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(1).padStart(7);
  return `${label.padEnd(44)} p50 ${f(percentile(sorted, 50))} ms   p99 ${f(percentile(sorted, 99))} ms   max ${f(sorted.at(-1) ?? 0)} ms`;
};

Object.assign(process.env, stackEnv());
const fleet = await Fleet.start({ apis: 3, workers: 1, maxLagSeconds: 3, database: 'ripcord_bench_fleet', logLevel: 'error' });
const observer = new Redis(fleet.redisUrl);
const redis = new Redis(fleet.redisUrl);
const clients: StreamClient[] = [];
try {
  const created = await fleet.request('POST', '/api/v1/flags', { key: KEY, name: KEY, type: 'boolean' });
  if (created.status !== 201) throw new Error(`could not create the flag: ${JSON.stringify(created.body)}`);
  await fleet.request('PUT', `/api/v1/flags/${KEY}/environments/production`, { enabled: true, value: true, off_value: false });
  for (let i = 0; i < CLIENTS; i++) clients.push(await openStream(fleet.url)); // the load balancer spreads them
  const replicas = (await listReplicas(redis)).map((r) => r.replica);
  if (replicas.length !== 3) throw new Error(`expected 3 live replicas, found ${replicas.length}`);

  // The observer hears every acknowledgement: version → replica → when (performance.now()).
  const acks = new Map<number, Map<string, number>>();
  await observer.subscribe(ackChannel());
  observer.on('message', (_channel: string, message: string) => {
    const now = performance.now();
    const ack = JSON.parse(message) as { replica: string; flag: string; version: number };
    if (ack.flag !== KEY) return;
    let byReplica = acks.get(ack.version);
    if (!byReplica) acks.set(ack.version, (byReplica = new Map()));
    if (!byReplica.has(ack.replica)) byReplica.set(ack.replica, now);
  });

  const loadBefore = loadavg()[0]!;
  const response: number[] = [];
  const confirmed: number[] = [];
  const streamed: number[] = [];
  const reported: number[] = [];
  const path = `/api/v1/flags/${KEY}/environments/production/kill-switch`;
  for (let i = 0; i < KILLS; i++) {
    const started = performance.now();
    const kill = await fleet.request('POST', path, { reason: `bench kill ${i}` });
    response.push(performance.now() - started);
    if (kill.status !== 201) throw new Error(`kill answered ${kill.status}: ${JSON.stringify(kill.body)}`);
    const version = kill.body.version as number;
    await waitUntil(() => replicas.every((r) => acks.get(version)?.has(r)), `every replica to acknowledge version ${version}`);
    confirmed.push(Math.max(...replicas.map((r) => acks.get(version)!.get(r)!)) - started);
    await waitUntil(() => clients.every((c) => c.killed.has(version)), `all ${CLIENTS} stream clients to see version ${version}`);
    streamed.push(Math.max(...clients.map((c) => c.killed.get(version)!)) - started);
    const state = await fleet.request('GET', path);
    if (state.body.confirmation?.status === 'confirmed') reported.push(state.body.confirmation.elapsed_ms as number);
    const restore = await fleet.request('DELETE', path);
    if (restore.status !== 200) throw new Error(`restore answered ${restore.status}`);
    await waitUntil(() => replicas.every((r) => acks.get(restore.body.version)?.has(r)), 'the restore to be acknowledged');
  }
  console.log(`\nkill convergence over ${KILLS} kills: 3 API processes behind a load balancer, ${CLIENTS} SSE clients, 1 worker`);
  // The machine may be shared: the load average says how quiet it was (before the kills → after).
  console.log(`load average (1 min) ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs`);
  console.log(figures('kill request → response', response));
  console.log(figures('kill request → acknowledged by 3/3 replicas', confirmed));
  console.log(figures(`kill request → all ${CLIENTS} SSE clients have it`, streamed));
  console.log(figures('API confirmation elapsed_ms (replica clocks)', reported));
  const p99 = percentile([...confirmed].sort((a, b) => a - b), 99);
  console.log(`goal p99 < 50 ms for "confirmed on every live replica": ${p99 < 50 ? 'met' : 'NOT met'} (${p99.toFixed(1)} ms)`);
} finally {
  for (const client of clients) client.close();
  observer.disconnect();
  redis.disconnect();
  await fleet.stop();
}
