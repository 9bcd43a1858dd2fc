import type { Redis } from 'ioredis';
import { instancesChannel, listReplicas, type InstancesMessage } from './replica-heartbeat.js';
import { instancesConverged, summarizeInstances, type InstanceAggregate, type SdkInstancesConfirmation } from '../domain/sdk-instances.js';

/** A change as its SDK confirmation needs it: the environment version it produced and when. */
export interface InstanceChange {
  environment: string;
  version: number;
  sinceMs: number;
}

/** The SDK confirmation of a change now, from every live replica's heartbeat (no waiting). */
export async function readInstanceConfirmation(redis: Redis, change: InstanceChange, prefix = 'ripcord'): Promise<SdkInstancesConfirmation> {
  const replicas = await listReplicas(redis, prefix);
  return summarizeInstances(replicas.flatMap((r) => (r.instances?.[change.environment] ? [r.instances[change.environment]!] : [])), change);
}

function parseMessage(message: string): InstancesMessage | undefined {
  try {
    const parsed = JSON.parse(message) as InstancesMessage;
    return typeof parsed?.replica === 'string' && parsed.instances && typeof parsed.instances === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits for SDK instances to hold a change. Each replica announces its aggregate (one message per
 * replica and change) on `<prefix>:instances`; one subscription serves every waiter, which listens
 * before it reads the heartbeats, so no announcement is missed in between.
 */
export class InstanceWatcher {
  private readonly waiters = new Set<(message: InstancesMessage) => void>();
  private subscribed: Promise<unknown> | undefined;

  constructor(private readonly deps: { redis: Redis; subscriber: Redis; prefix?: string; refreshMs?: number }) {
    deps.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== instancesChannel(deps.prefix) || this.waiters.size === 0) return;
      const parsed = parseMessage(message);
      if (parsed) for (const waiter of this.waiters) waiter(parsed);
    });
  }

  private subscribe(): Promise<unknown> {
    this.subscribed ??= this.deps.subscriber.subscribe(instancesChannel(this.deps.prefix)).catch((error: unknown) => {
      this.subscribed = undefined;
      throw error;
    });
    return this.subscribed;
  }

  /**
   * Resolves as soon as every counted instance holds the change, or at `deadlineMs` (ms since epoch)
   * with the laggards named: a laggard is named, never waited for beyond it. Replicas that appear
   * meanwhile are counted; a replica whose heartbeat lapses keeps its last aggregate (its instances
   * can't be told to hold the change).
   */
  async waitFor(change: InstanceChange, options: { deadlineMs: number; onProgress?: (c: SdkInstancesConfirmation) => void }): Promise<SdkInstancesConfirmation> {
    const { redis, prefix } = this.deps;
    const refreshMs = this.deps.refreshMs ?? 500;
    const aggregates = new Map<string, InstanceAggregate>();
    let wake: (() => void) | undefined;
    const waiter = (message: InstancesMessage) => {
      const aggregate = message.instances[change.environment];
      if (!aggregate) return;
      aggregates.set(message.replica, aggregate);
      wake?.();
    };
    // Heartbeats are written before each announcement (one pipeline), so one read now is as new as
    // anything announced before it.
    const look = async () => {
      for (const replica of await listReplicas(redis, prefix)) {
        const aggregate = replica.instances?.[change.environment];
        if (aggregate) aggregates.set(replica.replica, aggregate);
      }
    };
    this.waiters.add(waiter);
    try {
      await this.subscribe();
      await look();
      let lookedAt = Date.now();
      for (;;) {
        const confirmation = summarizeInstances(aggregates.values(), change);
        options.onProgress?.(confirmation);
        const now = Date.now();
        if (instancesConverged(confirmation) || now >= options.deadlineMs) return confirmation;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(refreshMs, options.deadlineMs - now));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        if (Date.now() - lookedAt >= refreshMs) {
          await look();
          lookedAt = Date.now();
        }
      }
    } finally {
      this.waiters.delete(waiter);
    }
  }
}
