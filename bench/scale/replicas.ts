/* API replicas: 1 → 2 → 3 processes on one database and one Redis; a kill confirmed by every one of them. */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { ackChannel, parseAck } from '../../src/serving/change-acks.js';
import { listReplicas } from '../../src/serving/replica-heartbeat.js';
import { admin, percentile } from '../lib/bench-stack.js';
import { createFlags, dimensionEnv, startApi, startWorker, stopProc, type DimensionResult, type Proc } from './harness.js';

const KILLS = Number(process.env.BENCH_KILLS ?? 50);

/**
 * Every acknowledgement and every change announcement, as an observer subscribed to both channels
 * hears them (performance.now()); a waiter is woken by the message it waits for, nothing polls.
 */
class Observer {
  private readonly acks = new Map<number, Map<string, number>>();
  private readonly announced = new Map<number, number>();
  private wake: (() => void) | undefined;

  constructor(private readonly subscriber: Redis, private readonly key: string) {
    subscriber.on('message', (channel: string, message: string) => {
      const now = performance.now();
      if (channel === ackChannel()) {
        const ack = parseAck(message);
        if (!ack || ack.flag !== key) return;
        let byReplica = this.acks.get(ack.version);
        if (!byReplica) this.acks.set(ack.version, (byReplica = new Map()));
        if (!byReplica.has(ack.replica)) byReplica.set(ack.replica, now);
      } else {
        const change = JSON.parse(message) as { definition?: { key?: string; version?: number } };
        if (change.definition?.key === key && !this.announced.has(change.definition.version!)) this.announced.set(change.definition.version!, now);
      }
      this.wake?.();
    });
  }

  close(): void {
    this.subscriber.disconnect();
  }

  start(): Promise<unknown> {
    return this.subscriber.subscribe(ackChannel(), 'ripcord:changes');
  }

  /** When the last of `replicas` acknowledged `version`, and when its announcement went by. */
  async confirmed(version: number, replicas: string[], timeoutMs = 10_000): Promise<{ confirmedAt: number; announcedAt: number }> {
    const deadline = performance.now() + timeoutMs;
    while (!replicas.every((r) => this.acks.get(version)?.has(r))) {
      if (performance.now() > deadline) throw new Error(`version ${version} not acknowledged by every replica in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const byReplica = this.acks.get(version)!;
    return { confirmedAt: Math.max(...replicas.map((r) => byReplica.get(r)!)), announcedAt: this.announced.get(version) ?? Number.NaN };
  }
}

export async function replicasDimension(stack: Record<string, string>, sizes: number[]): Promise<DimensionResult> {
  const rows: DimensionResult['rows'] = [];
  for (const size of sizes) {
    const env = await dimensionEnv(stack, `replicas_${size}`, 12);
    const apis: Proc[] = [];
    const redis = new Redis(env.REDIS_URL!);
    const observer = new Observer(new Redis(env.REDIS_URL!), 'scale-replica-flag');
    let worker: Proc | undefined;
    try {
      for (let i = 0; i < size; i++) apis.push(await startApi(env));
      // A worker runs the kill workflows and their confirmAcks activity, as in production.
      worker = await startWorker(env);
      const key = 'scale-replica-flag';
      await createFlags(apis[0]!.base, [key]);
      await observer.start();
      const replicas = (await listReplicas(redis)).map((r) => r.replica);
      if (replicas.length !== size) throw new Error(`expected ${size} live replicas, found ${replicas.length}`);
      const confirmed: number[] = [];
      const announced: number[] = [];
      const response: number[] = [];
      const path = `/api/v1/flags/${key}/environments/production/kill-switch`;
      // Each replica's first kill runs its code paths for the first time (JIT, first queries): timed
      // apart and reported as such, then the measured kills.
      const cold: number[] = [];
      for (const api of apis) {
        const sent = performance.now();
        const kill = await admin(api.base, 'POST', path, { reason: 'first kill on this replica' });
        cold.push((await observer.confirmed(kill.version as number, replicas)).confirmedAt - sent);
        const restore = await admin(api.base, 'DELETE', path);
        await observer.confirmed(restore.version as number, replicas);
      }
      for (let i = 0; i < KILLS; i++) {
        // Each kill goes to the next replica, as a load balancer would spread them.
        const base = apis[i % size]!.base;
        const sent = performance.now();
        const kill = await admin(base, 'POST', path, { reason: `scale ${i}` });
        response.push(performance.now() - sent);
        const { confirmedAt, announcedAt } = await observer.confirmed(kill.version as number, replicas);
        confirmed.push(confirmedAt - sent);
        announced.push(announcedAt - sent);
        const restore = await admin(base, 'DELETE', path);
        await observer.confirmed(restore.version as number, replicas);
      }
      const acknowledged = confirmed.map((ms, i) => ms - announced[i]!);
      rows.push({
        size,
        values: {
          'confirmed p50': percentile(confirmed, 50), 'confirmed p99': percentile(confirmed, 99),
          'announced p50': percentile(announced, 50), 'announced p99': percentile(announced, 99), 'kill response p50': percentile(response, 50),
          'acknowledged after announced p99': percentile(acknowledged, 99), 'first kill per replica, slowest': Math.max(...cold),
        },
      });
      console.log(`  replicas ${size}: ${JSON.stringify(rows.at(-1)!.values)}`);
      // The slowest measured kills by their turn (kill i goes to replica i mod size).
      const slowest = confirmed.map((ms, i) => ({ i, ms, announced: announced[i]! })).sort((a, b) => b.ms - a.ms).slice(0, 5);
      console.log(`  slowest (kill #: confirmed/announced ms): ${slowest.map((s) => `#${s.i}: ${s.ms.toFixed(0)}/${s.announced.toFixed(0)}`).join(', ')}`);
    } finally {
      redis.disconnect();
      observer.close();
      await stopProc(worker);
      for (const api of apis) await stopProc(api);
    }
  }
  return {
    dimension: `API replicas on one database and Redis (${KILLS} kills each, sent to the replicas in turn; confirmed = kill request sent → every replica's acknowledgement heard)`,
    sizeLabel: 'replicas',
    measures: [
      { name: 'confirmed p50', unit: 'ms' }, { name: 'confirmed p99', unit: 'ms', budget: 50 },
      { name: 'announced p50', unit: 'ms' }, { name: 'announced p99', unit: 'ms' }, { name: 'kill response p50', unit: 'ms' },
      { name: 'acknowledged after announced p99', unit: 'ms' }, { name: 'first kill per replica, slowest', unit: 'ms' },
    ],
    rows,
    notes: ['announced: kill request sent → its change message heard on Redis (the write path: authorization, the transaction, the audit event); confirmed adds the replicas taking it in and acknowledging; acknowledged after announced: that last part alone, per kill (the replicas\' share)',
      'an observer subscribed to the acknowledgement and change channels times both, on the benchmark\'s clock; kill response: until the kill request is answered (once the kill is live; its workflow starts from the outbox after)',
      'each replica\'s first kill (a kill and a restore sent to each replica in turn before the measured ones) is reported apart: first kill per replica, slowest'],
  };
}
