/* SDK instances per API process: 100 → 1,000 local-mode Node SDK clients in separate processes; kills confirmed on all. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { admin, percentile, root, track } from '../lib/bench-stack.js';
import { cpuSeconds } from '../lib/process-cpu.js';
import { InstanceWatcher } from '../../src/serving/instance-confirmation.js';
import { InstanceRegistry } from '../../src/serving/instance-registry.js';
import { createFlags, dimensionEnv, rssMiB, startApi, startWorker, stopProc, type DimensionResult } from './harness.js';

const KILLS = 10;
/** Clients per process: 1,000 instances run in 10 processes of their own (BENCH_INSTANCES_PER_PROCESS). */
const PER_PROCESS = Number(process.env.BENCH_INSTANCES_PER_PROCESS ?? 100);
/** FLEET_CPU_PROFILE=file: a V8 CPU profile of the first fleet process, from its ready to its end (what applying and reporting cost). */
const FLEET_CPU_PROFILE = process.env.FLEET_CPU_PROFILE;
/** BENCH_INSTANCES_SEPARATE_REPORTS=1: no two instances share a report request (as one instance per process would report). */
const SEPARATE_REPORTS = process.env.BENCH_INSTANCES_SEPARATE_REPORTS === '1';

interface Fleet { children: ChildProcess[]; applied: Map<number, number[]>; fetches: number[] }

/** Starts `size` SDK clients (test/clients/node/sdk-fleet.ts) in processes of PER_PROCESS; resolves when all are ready. */
async function startFleet(base: string, token: string, size: number): Promise<Fleet> {
  const applied = new Map<number, number[]>();
  const fetches: number[] = [];
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let left = size; left > 0; left -= PER_PROCESS) {
    const child = track(spawn(process.execPath, ['--import', 'tsx', 'test/clients/node/sdk-fleet.ts'], {
      cwd: root, env: { ...process.env, RIPCORD_URL: base, RIPCORD_TOKEN: token, INSTANCES: String(Math.min(PER_PROCESS, left)), APP_NAME: 'bench-fleet', SEPARATE_REPORTS: SEPARATE_REPORTS ? '1' : '0', ...(FLEET_CPU_PROFILE && children.length === 0 ? { FLEET_CPU_PROFILE } : {}) },
      stdio: ['ignore', 'pipe', 'inherit'],
    }));
    children.push(child);
    ready.push(new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`an SDK fleet process exited (${code})`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const parsed = JSON.parse(line) as { type: string; version?: number; at?: number; ids?: string[] };
        if (parsed.type === 'ready') resolve();
        if (parsed.type === 'fetched') fetches.push(parsed.at!);
        if (parsed.type === 'applied') {
          const list = applied.get(parsed.version!) ?? [];
          for (let i = 0; i < parsed.ids!.length; i++) list.push(parsed.at!);
          applied.set(parsed.version!, list);
        }
      });
    }));
    // Staggered: a thousand clients fetching at the same instant is a thundering herd, not a fleet.
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await Promise.all(ready);
  return { children, applied, fetches };
}

/** Heap bytes per instance record of the registry itself (in this process, measured with gc). */
function registryBytesPerInstance(count = 50_000): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  const registry = new InstanceRegistry({ replica: 'r', served: () => 1, expiryMs: 45_000, maxInstances: 0, maxPerAddress: 0, publish: () => undefined });
  for (let i = 0; i < count; i++) {
    registry.report({ id: crypto.randomUUID(), kind: 'node-local', environment: 'production', app: 'checkout-service', app_version: '1.2.3', host: `ip-10-0-${i % 256}-${i % 200}.ec2.internal`, sdk_version: '0.1.0', version: 1 }, { key: 'token', address: `10.0.${i % 256}.${i % 200}` });
  }
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  registry.stop();
  return bytes;
}

export async function instancesDimension(stack: Record<string, string>, sizes: number[]): Promise<DimensionResult> {
  const rows: DimensionResult['rows'] = [];
  const recordBytes = registryBytesPerInstance();
  for (const size of sizes) {
    // Heartbeats every 10 minutes: the CPU measured over the kills is the kills' (reports, re-fetches), not the fleet's standing load.
    const env: Record<string, string> = { ...(await dimensionEnv(stack, `instances_${size}`, 8)), INSTANCES_MAX_PER_ADDRESS: '0', INSTANCE_HEARTBEAT_SECONDS: '600' };
    const api = await startApi(env);
    const worker = await startWorker(env);
    const key = 'scale-instances-flag';
    await createFlags(api.base, [key]);
    const token = (await admin(api.base, 'POST', '/api/v1/tokens', { name: 'bench fleet', kind: 'server', environment: 'production' })).token as string;
    const rssBefore = rssMiB(api.pid);
    const fleet = await startFleet(api.base, token, size);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const perInstanceKiB = ((rssMiB(api.pid) - rssBefore) * 1024) / size;
    const redis = new Redis(env.REDIS_URL!);
    const subscriber = new Redis(env.REDIS_URL!);
    const watcher = new InstanceWatcher({ redis, subscriber, refreshMs: 250 });

    const confirmedMs: number[] = [];
    const perInstanceMs: number[] = [];
    let unconfirmed = 0;
    const path = `/api/v1/flags/${key}/environments/production/kill-switch`;
    // CPU time is what a change costs whatever else the machine runs: the API's (the kill and restore,
    // their fan-out, every instance's report and any re-fetch) and the fleet's (applying, reporting).
    const fleetCpu = () => fleet.children.reduce((sum, child) => sum + cpuSeconds(child.pid!), 0);
    const cpuBefore = { api: cpuSeconds(api.pid), fleet: fleetCpu() };
    const loopStarted = Date.now();
    for (let i = 0; i < KILLS; i++) {
      const sent = Date.now();
      const kill = await admin(api.base, 'POST', path, { reason: `scale ${i}` });
      const version = kill.version as number;
      const c = await watcher.waitFor({ environment: 'production', version, sinceMs: sent }, { deadlineMs: sent + 10_000 });
      if (c.confirmed < size) unconfirmed += 1;
      else confirmedMs.push(Date.now() - sent);
      for (const at of fleet.applied.get(version) ?? []) perInstanceMs.push(at - sent);
      const restore = await admin(api.base, 'DELETE', path);
      await watcher.waitFor({ environment: 'production', version: restore.version as number, sinceMs: Date.now() }, { deadlineMs: Date.now() + 10_000 });
    }
    const apiCpuMs = ((cpuSeconds(api.pid) - cpuBefore.api) * 1000) / (2 * KILLS);
    const fleetCpuMs = ((fleetCpu() - cpuBefore.fleet) * 1000) / (2 * KILLS);
    const fetchesPerChange = fleet.fetches.filter((at) => at >= loopStarted).length / (2 * KILLS);
    for (const child of fleet.children) child.kill('SIGTERM');
    await Promise.all(fleet.children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))));
    redis.disconnect();
    subscriber.disconnect();
    await stopProc(worker);
    await stopProc(api);
    rows.push({
      size,
      values: {
        'kill confirmed on all p50': percentile(confirmedMs, 50), 'kill confirmed on all p99': percentile(confirmedMs, 99),
        'instance applied p99': percentile(perInstanceMs, 99), 'kills not confirmed on all': unconfirmed,
        'API CPU per change': apiCpuMs, 'SDK fleet CPU per change': fleetCpuMs, 'definitions fetches per change': fetchesPerChange,
        'API RSS per instance': perInstanceKiB, 'registry per instance': recordBytes / 1024,
      },
    });
    console.log(`  instances ${size}: ${JSON.stringify(rows.at(-1)!.values)}`);
    console.log(`  each kill confirmed on all, in turn (ms): ${confirmedMs.map((ms) => ms.toFixed(0)).join(', ')}`);
  }
  return {
    dimension: `SDK instances (local-mode Node SDK clients, ${PER_PROCESS} per process) on one API process; ${KILLS} kills each: request sent → every instance reported holding it, as the kill's watcher sums the replica's aggregate`,
    sizeLabel: 'instances',
    measures: [
      { name: 'kill confirmed on all p50', unit: 'ms' }, { name: 'kill confirmed on all p99', unit: 'ms', budget: 250 },
      { name: 'instance applied p99', unit: 'ms' }, { name: 'kills not confirmed on all', unit: '' },
      { name: 'API CPU per change', unit: 'ms' }, { name: 'SDK fleet CPU per change', unit: 'ms' }, { name: 'definitions fetches per change', unit: '' },
      { name: 'API RSS per instance', unit: 'KiB' }, { name: 'registry per instance', unit: 'KiB', budget: 5 },
    ],
    rows,
    notes: [
      `the clients run in processes of ${PER_PROCESS} (BENCH_INSTANCES_PER_PROCESS) on the same cores as the server; each instance applies the stream's event (a kill or restore carries what it needs: from_version) and reports (POST /api/v1/instances/report; the instances of one process that applied it in the same turn of the event loop share the request, each with its own report), re-fetching the definitions only when it can't${SEPARATE_REPORTS ? '; THIS RUN: every instance sent its own report requests (BENCH_INSTANCES_SEPARATE_REPORTS=1)' : ''}`,
      'CPU per change: CPU time of the API process and of all SDK fleet processes over the kills and restores, ÷ the changes (10 ms clock ticks); heartbeats every 10 minutes (INSTANCE_HEARTBEAT_SECONDS=600) so that they are not in it',
      'registry per instance: heap of one InstanceRegistry record (50,000 records, measured after gc); API RSS per instance: the API process\'s RSS growth per client, which includes its SSE stream and sockets',
      'INSTANCES_MAX_PER_ADDRESS=0 for the benchmark (every client comes from 127.0.0.1)',
    ],
  };
}
