/**
 * Sizing figures for "Running in production": what one API process serves and what a stream
 * client costs. One API process (plain `node --import tsx`, so its pid is the server's):
 *   1. OFREP single-flag evaluations, autocannon at 50 connections for 10 s: requests/s, p99, and
 *      requests per CPU-second of the API process (from /proc, so a busy shared machine still gives
 *      a usable per-core figure);
 *   2. resident memory before and after opening SSE_CLIENTS stream clients: memory per client.
 *
 *   npm run bench:sizing
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { admin, ADMIN_TOKEN, CLIENT_TOKEN, freshDatabase, root, stackEnv, track, stopAll, waitFor } from './lib/bench-stack.js';

const SSE_CLIENTS = Number(process.env.BENCH_SSE_CLIENTS ?? 2_000);
const KEY = 'sizing-flag';

const freePort = () => new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    server.close(() => resolve(port));
  });
});
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
/** CPU seconds (user + system) a process has used. */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

const env = stackEnv();
const databaseUrl = await freshDatabase(env.MIGRATION_DATABASE_URL ?? env.DATABASE_URL!, 'ripcord_sizing');
const redisUrl = `${env.REDIS_URL!.replace(/\/\d*$/, '')}/4`;
const redis = new Redis(redisUrl);
await redis.flushdb();
redis.disconnect();
const streams: ClientRequest[] = [];

try {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const api = track(spawn(process.execPath, ['--import', 'tsx', 'src/main/api.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, RATE_LIMIT_PER_SECOND: '0', PORT: String(port), RIPCORD_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn', TEMPORAL_TASK_QUEUE: `ripcord-sizing-${Date.now()}` },
    stdio: ['ignore', 'inherit', 'inherit'],
  }));
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, `the API on ${port}`);
  await admin(base, 'POST', '/api/v1/flags', { key: KEY, name: KEY, type: 'boolean' });
  await admin(base, 'PUT', `/api/v1/flags/${KEY}/environments/production`, {
    enabled: true, value: true, off_value: false, rollout: { percentage: 50, strategy: 'immediate' },
  });

  const cpuBefore = cpuSeconds(api.pid!);
  const result = await autocannon({
    url: `${base}/ofrep/v1/evaluate/flags/${KEY}`, method: 'POST', connections: 50, duration: 10,
    headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ context: { targetingKey: 'user-42', plan: 'pro' } }),
  });
  const cpuUsed = cpuSeconds(api.pid!) - cpuBefore;
  const served = result.requests.total;
  console.log(`\nOne API process, OFREP single flag, 50 connections, 10 s:`);
  console.log(`  ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}`);
  console.log(`  ${Math.round(served / cpuUsed)} evaluations per CPU-second of the API process (${cpuUsed.toFixed(1)} CPU-s used)`);

  const rssBefore = rssMiB(api.pid!);
  let opened = 0;
  for (let i = 0; i < SSE_CLIENTS; i++) {
    const req = request({ host: '127.0.0.1', port, path: '/api/v1/stream', headers: { authorization: `Bearer ${CLIENT_TOKEN}` } }, (res) => {
      res.setEncoding('utf8');
      let seen = false;
      res.on('data', (chunk: string) => {
        if (!seen && chunk.includes('event: ready')) {
          seen = true;
          opened++;
        }
      });
    });
    req.on('error', () => undefined);
    req.end();
    streams.push(req);
  }
  await waitFor(async () => opened === SSE_CLIENTS, `${SSE_CLIENTS} stream clients`, 120_000);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const rssAfter = rssMiB(api.pid!);
  console.log(`\nStream clients: RSS ${rssBefore.toFixed(0)} MiB → ${rssAfter.toFixed(0)} MiB with ${SSE_CLIENTS} SSE clients: ${(((rssAfter - rssBefore) * 1024) / SSE_CLIENTS).toFixed(1)} KiB per client`);
} finally {
  for (const req of streams) req.destroy();
  await stopAll();
}
