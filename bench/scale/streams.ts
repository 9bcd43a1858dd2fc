/* Stream clients per API process: 100 → 1,000 → 10,000; a kill's fan-out to all of them. */
import { admin, CLIENT_TOKEN, percentile } from '../lib/bench-stack.js';
import { cpuSeconds } from '../lib/process-cpu.js';
import { createFlags, dimensionEnv, loopLagP99Ms, rssMiB, startApi, startWorker, stopProc, type DimensionResult } from './harness.js';
import { monotonicMs, openStreamFleet } from './stream-client.js';

const KILLS = 10;
/** The clients run in this many processes of their own, never in the benchmark's (which times the kills). */
const CLIENT_PROCESSES = Number(process.env.BENCH_STREAM_PROCESSES ?? 8);

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
    const clients = await openStreamFleet(api.port, CLIENT_TOKEN, size, CLIENT_PROCESSES);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const perClientKiB = ((rssMiB(api.pid) - rssBefore) * 1024) / size;

    const fanout: number[] = [];
    const path = `/api/v1/flags/${key}/environments/production/kill-switch`;
    // CPU time is what a change costs whatever else the machine runs: the API's (the kill and restore
    // requests and their fan-out) and the clients' (reading it), per change.
    const clientCpu = () => clients.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const cpuBefore = { api: cpuSeconds(api.pid), clients: clientCpu() };
    for (let i = 0; i < KILLS; i++) {
      const sent = monotonicMs();
      const kill = await admin(api.base, 'POST', path, { reason: `scale ${i}` });
      fanout.push((await clients.lastArrival(`flag.killed:${key}:${kill.version as number}`)) - sent);
      const restore = await admin(api.base, 'DELETE', path);
      await clients.lastArrival(`flag.restored:${key}:${restore.version as number}`);
    }
    const apiCpuMs = ((cpuSeconds(api.pid) - cpuBefore.api) * 1000) / (2 * KILLS);
    const clientCpuMs = ((clientCpu() - cpuBefore.clients) * 1000) / (2 * KILLS);
    const lag = await loopLagP99Ms(api.base);
    await clients.close();
    await stopProc(worker);
    await stopProc(api);
    rows.push({ size, values: { 'memory per client': perClientKiB, 'fan-out p50': percentile(fanout, 50), 'fan-out p99': percentile(fanout, 99), 'loop lag p99': lag, 'API CPU per change': apiCpuMs, 'clients CPU per change': clientCpuMs } });
    console.log(`  streams ${size}: ${JSON.stringify(rows.at(-1)!.values)}`);
  }
  return {
    dimension: `Stream clients on one API process (${KILLS} kills each; fan-out = kill request sent → every client has the event)`, sizeLabel: 'clients',
    measures: [
      { name: 'memory per client', unit: 'KiB', budget: 20 }, { name: 'fan-out p50', unit: 'ms' },
      { name: 'fan-out p99', unit: 'ms', budget: 150 }, { name: 'loop lag p99', unit: 'ms' },
      { name: 'API CPU per change', unit: 'ms' }, { name: 'clients CPU per change', unit: 'ms' },
    ],
    rows,
    notes: ['CPU per change: CPU time of the API process (kill and restore requests with their fan-out) and of all client processes over the kills, ÷ the changes (10 ms clock ticks)',
      `the clients run in ${CLIENT_PROCESSES} processes of their own (BENCH_STREAM_PROCESSES), on the same cores as the server: fan-out includes their reading; each notes the moment its chunk was read, on the machine's monotonic clock`,
      'stream caps per token/address raised for the benchmark (MAX_STREAMS_PER_TOKEN/ADDRESS=100000)'],
  };
}
