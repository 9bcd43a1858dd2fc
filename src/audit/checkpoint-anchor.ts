import type { Redis } from 'ioredis';

/** How many of the newest checkpoints are kept (at the default interval, weeks of them). */
const KEEP = 1000;

/**
 * Signed audit checkpoints kept in Redis, by seq: outside PostgreSQL, so someone who owns the
 * database and deletes the newest audit rows (the checkpoint events with them: each is newer than
 * the head it signs) cannot also remove the evidence that those rows existed. More than the newest
 * is kept because after such a deletion new events would soon be checkpointed above the gap.
 */
export class CheckpointAnchor {
  private readonly key: string;

  constructor(private readonly redis: Redis, prefix = 'ripcord') {
    this.key = `${prefix}:audit:checkpoints`;
  }

  async save(checkpoint: { seq: number }): Promise<void> {
    await this.redis.multi().zadd(this.key, String(checkpoint.seq), JSON.stringify(checkpoint)).zremrangebyrank(this.key, '0', String(-KEEP - 1)).exec();
  }

  /** The stored checkpoints as written (the caller checks them), oldest first. */
  async all(): Promise<unknown[]> {
    return (await this.redis.zrange(this.key, '0', '-1')).map((raw) => JSON.parse(raw) as unknown);
  }
}
