import type { Redis } from 'ioredis';
import { ackChannel, parseAck, readAcks } from './change-acks.js';
import { listReplicas } from './replica-heartbeat.js';
import { summarize, type Acks, type ChangeRef, type Confirmation } from '../domain/confirmation.js';

export { describeConfirmation, summarize, type ChangeRef, type Confirmation } from '../domain/confirmation.js';

/** Reads the confirmation of a change now, without waiting. */
export async function readConfirmation(redis: Redis, change: ChangeRef, prefix = 'ripcord'): Promise<Confirmation> {
  const [replicas, acks] = await Promise.all([listReplicas(redis, prefix), readAcks(redis, change.environment, change.flag, prefix)]);
  return summarize(replicas.map((r) => r.replica), acks, change);
}

/**
 * Waits for acknowledgements. One subscription to the ack channel serves every waiter; a waiter
 * listens before it reads what was acknowledged already, so none is missed in between.
 */
export class AckWatcher {
  private readonly waiters = new Set<(message: string) => void>();
  private subscribed: Promise<unknown> | undefined;

  constructor(private readonly deps: { redis: Redis; subscriber: Redis; prefix?: string; refreshMs?: number }) {
    deps.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== ackChannel(deps.prefix)) return;
      for (const waiter of this.waiters) waiter(message);
    });
  }

  private subscribe(): Promise<unknown> {
    this.subscribed ??= this.deps.subscriber.subscribe(ackChannel(this.deps.prefix)).catch((error: unknown) => {
      this.subscribed = undefined;
      throw error;
    });
    return this.subscribed;
  }

  /**
   * Resolves as soon as every live replica has acknowledged the change, or after `timeoutMs` with
   * the laggards named. `onProgress` is called on every look (an activity heartbeats there).
   */
  async waitForConfirmation(change: ChangeRef, options: { timeoutMs?: number; onProgress?: (c: Confirmation) => void } = {}): Promise<Confirmation> {
    const { redis, prefix } = this.deps;
    const deadline = Date.now() + (options.timeoutMs ?? 5_000);
    const heard: Acks = new Map();
    let wake: (() => void) | undefined;
    const waiter = (message: string) => {
      const ack = parseAck(message);
      if (!ack || ack.environment !== change.environment || ack.flag !== change.flag || ack.version < change.version) return;
      heard.set(ack.replica, { version: ack.version, at: ack.at });
      wake?.();
    };
    this.waiters.add(waiter);
    try {
      await this.subscribe();
      let live = (await listReplicas(redis, prefix)).map((r) => r.replica);
      const acks = await readAcks(redis, change.environment, change.flag, prefix);
      let refreshedAt = Date.now();
      for (;;) {
        for (const [replica, ack] of heard) if ((acks.get(replica)?.version ?? -1) < ack.version) acks.set(replica, ack);
        const confirmation = summarize(live, acks, change);
        options.onProgress?.(confirmation);
        const now = Date.now();
        if (confirmation.converged || now >= deadline) return confirmation;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(this.deps.refreshMs ?? 250, deadline - now));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        // Replicas come and go (a dead one's heartbeat expires): look again now and then.
        if (Date.now() - refreshedAt >= (this.deps.refreshMs ?? 250)) {
          live = (await listReplicas(redis, prefix)).map((r) => r.replica);
          for (const [replica, ack] of await readAcks(redis, change.environment, change.flag, prefix)) acks.set(replica, ack);
          refreshedAt = Date.now();
        }
      }
    } finally {
      this.waiters.delete(waiter);
    }
  }
}
