import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { InstanceRegistry, InstanceView } from './instance-registry.js';

/** The fleet of one environment across replicas, laggards first. */
export interface FleetListing {
  environment: string;
  instances: InstanceView[];
  /** Instances across the replicas that answered (the list holds at most `limit` of them). */
  total: number;
  /** Replicas that answered, and how many were asked (a replica that does not answer in time is missing from the list). */
  replicas: { answered: number; asked: number };
}

interface Query {
  id: string;
  environment: string;
  limit: number;
}

const queryChannel = (prefix: string) => `${prefix}:instances:query`;
const answeredChannel = (prefix: string) => `${prefix}:instances:answered`;
const answersKey = (prefix: string, id: string) => `${prefix}:instances:answers:${id}`;

/**
 * Lists instances across replicas on demand: no replica writes its instances to Redis until someone
 * asks. The asking replica publishes a query; every replica (itself included) writes its part (laggards
 * first, at most `limit`) into one hash and says so; PUBLISH's answer tells how many replicas heard
 * the query, so the asker knows how many parts to wait for. Redis sees O(replicas) commands per listing.
 */
export class InstanceDirectory {
  private readonly waiters = new Map<string, () => void>();
  private started: Promise<unknown> | undefined;

  constructor(private readonly deps: { redis: Redis; subscriber: Redis; registry: InstanceRegistry; replica: string; prefix?: string; logger?: Logger }) {}

  private get prefix(): string {
    return this.deps.prefix ?? 'ripcord';
  }

  start(): Promise<unknown> {
    const { subscriber } = this.deps;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === queryChannel(this.prefix)) void this.answer(message);
      else if (channel === answeredChannel(this.prefix)) this.waiters.get(message)?.();
    });
    this.started ??= subscriber.subscribe(queryChannel(this.prefix), answeredChannel(this.prefix));
    return this.started;
  }

  async stop(): Promise<void> {
    await this.deps.subscriber.unsubscribe(queryChannel(this.prefix), answeredChannel(this.prefix)).catch(() => undefined);
  }

  /** The environment's instances on every replica that answers within `timeoutMs`; this replica's alone when Redis can't be reached. */
  async list(environment: string, limit: number, timeoutMs = 1_000): Promise<FleetListing> {
    const { redis } = this.deps;
    const query: Query = { id: randomUUID(), environment, limit };
    let answered = 0;
    let wake: (() => void) | undefined;
    this.waiters.set(query.id, () => {
      answered += 1;
      wake?.();
    });
    try {
      const asked = await redis.publish(queryChannel(this.prefix), JSON.stringify(query));
      const deadline = Date.now() + timeoutMs;
      while (answered < asked && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - Date.now());
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const parts = await redis.hgetall(answersKey(this.prefix, query.id));
      await redis.del(answersKey(this.prefix, query.id));
      const lists = Object.values(parts).flatMap((part) => {
        try {
          return [JSON.parse(part) as { instances: InstanceView[]; total: number }];
        } catch {
          return [];
        }
      });
      return merge(environment, lists, limit, { answered: lists.length, asked });
    } catch (error) {
      this.deps.logger?.warn({ err: error }, 'could not ask the other replicas for their instances; listing this one only');
      return merge(environment, [this.deps.registry.list(environment, limit)], limit, { answered: 1, asked: 1 });
    } finally {
      this.waiters.delete(query.id);
    }
  }

  private async answer(message: string): Promise<void> {
    let query: Query;
    try {
      query = JSON.parse(message) as Query;
    } catch {
      return;
    }
    if (typeof query?.id !== 'string' || typeof query.environment !== 'string' || !Number.isInteger(query.limit)) return;
    const part = this.deps.registry.list(query.environment, Math.min(Math.max(query.limit, 0), 10_000));
    const key = answersKey(this.prefix, query.id);
    await this.deps.redis.multi()
      .hset(key, this.deps.replica, JSON.stringify(part))
      .pexpire(key, 30_000)
      .publish(answeredChannel(this.prefix), query.id)
      .exec()
      .catch((err: unknown) => this.deps.logger?.debug({ err }, 'could not answer an instance listing'));
  }
}

function merge(environment: string, lists: Array<{ instances: InstanceView[]; total: number }>, limit: number, replicas: FleetListing['replicas']): FleetListing {
  const instances = lists.flatMap((list) => list.instances);
  instances.sort((a, b) => b.versions_behind - a.versions_behind || b.lag_ms - a.lag_ms || a.last_seen.localeCompare(b.last_seen) || a.id.localeCompare(b.id));
  return { environment, instances: instances.slice(0, limit), total: lists.reduce((sum, list) => sum + list.total, 0), replicas };
}
