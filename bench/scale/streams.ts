/* Stream clients per API process: 100 → 1,000 → 10,000; a kill's fan-out to all of them. */
import { performance } from 'node:perf_hooks';
import { admin, CLIENT_TOKEN, percentile } from '../lib/bench-stack.js';
import { createFlags, dimensionEnv, loopLagP99Ms, pool, rssMiB, startApi, startWorker, stopProc, type DimensionResult } from './harness.js';
import { openStream, waitUntil, type StreamClient } from './stream-client.js';

const KILLS = 10;

export async function streamsDimension(stack: Record<string, string>, sizes: number[]): Promise<DimensionResult> {
  const rows: DimensionResult['rows'] = [];
  for (const size of sizes) {
    const env = await dimensionEnv(stack, `streams_${size}`, 7);
    const api = await startApi(env);
    // A worker runs the kill workflows (none is left RUNNING in the namespace).
    const worker = await startWorker(env);
    const key = 'scale-stream-flag';
    await createFlags(api.base, [key]);
    const rssBefore = rssMiB(api.pid);
    const clients: StreamClient[] = [];
    await pool(Array.from({ length: size }), 100, async () => {
      clients.push(await openStream(api.port, CLIENT_TOKEN));
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const perClientKiB = ((rssMiB(api.pid) - rssBefore) * 1024) / size;

    const fanout: number[] = [];
    const path = `/api/v1/flags/${key}/environments/production/kill-switch`;
    for (let i = 0; i < KILLS; i++) {
      const sent = performance.now();
      const kill = await admin(api.base, 'POST', path, { reason: `scale ${i}` });
      const id = `flag.killed:${key}:${kill.version as number}`;
      await waitUntil(() => clients.every((c) => c.seen.has(id)), `${size} clients to see kill ${i}`, 60_000);
      fanout.push(Math.max(...clients.map((c) => c.seen.get(id)!)) - sent);
      const restore = await admin(api.base, 'DELETE', path);
      const back = `flag.restored:${key}:${restore.version as number}`;
      await waitUntil(() => clients.every((c) => c.seen.has(back)), `${size} clients to see restore ${i}`, 60_000);
    }
    const lag = await loopLagP99Ms(api.base);
    for (const client of clients) client.stream.close();
    await stopProc(worker);
    await stopProc(api);
    rows.push({ size, values: { 'memory per client': perClientKiB, 'fan-out p50': percentile(fanout, 50), 'fan-out p99': percentile(fanout, 99), 'loop lag p99': lag } });
    console.log(`  streams ${size}: ${JSON.stringify(rows.at(-1)!.values)}`);
  }
  return {
    dimension: `Stream clients on one API process (${KILLS} kills each; fan-out = kill request sent → every client has the event)`, sizeLabel: 'clients',
    measures: [
      { name: 'memory per client', unit: 'KiB', budget: 20 }, { name: 'fan-out p50', unit: 'ms' },
      { name: 'fan-out p99', unit: 'ms', budget: 200 }, { name: 'loop lag p99', unit: 'ms' },
    ],
    rows,
    notes: ['the clients run in the benchmark\'s own process on the same 2 cores: fan-out includes their parsing',
      'stream caps per token/address raised for the benchmark (MAX_STREAMS_PER_TOKEN/ADDRESS=100000)'],
  };
}
