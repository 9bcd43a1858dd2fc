import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { segmentSchema, type Segment } from '../domain/segment.js';

/** What a segment announcement carries: the key and version only (a list may have 100 000 members). */
export interface SegmentChange {
  event: 'segment.updated' | 'segment.deleted';
  key: string;
  version: number;
}

// Installs a segment (and, for lists, its freshly built member set) unless a newer version is there;
// raises the revision and bumps the change counter. The member set is swapped in by RENAME, so readers
// see the old set or the new one, never half of either.
const WRITE_IF_NEWER = `
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
local version = tonumber(ARGV[2])
if current >= version then
  if KEYS[5] ~= KEYS[4] then redis.call('DEL', KEYS[5]) end
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] == 'list' then
  if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('RENAME', KEYS[5], KEYS[4]) else redis.call('DEL', KEYS[4]) end
else
  redis.call('DEL', KEYS[4])
end
if version > tonumber(redis.call('GET', KEYS[3]) or '0') then redis.call('SET', KEYS[3], ARGV[2]) end
redis.call('INCR', KEYS[6])
return 1`;

const REMOVE_IF_NEWER = `
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
local version = tonumber(ARGV[2])
if current >= version then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('DEL', KEYS[4])
if version > tonumber(redis.call('GET', KEYS[3]) or '0') then redis.call('SET', KEYS[3], ARGV[2]) end
redis.call('INCR', KEYS[5])
return 1`;

type WithScripts = Redis & {
  ripcordSegmentWrite(...args: Array<string | number>): Promise<number>;
  ripcordSegmentRemove(...args: Array<string | number>): Promise<number>;
};

const MEMBER_CHUNK = 10_000;

/**
 * Segments in Redis, precomputed: a hash of segment definitions, one set
 * per list segment with its members (SISMEMBER answers membership in O(1)), a revision that never goes
 * down and a pub/sub channel. API processes load the sets into their L1; nothing reads Redis per evaluation.
 */
export class SegmentProjection {
  readonly channel: string;
  private readonly redis: WithScripts;

  constructor(redis: Redis, private readonly prefix = 'ripcord') {
    this.channel = `${prefix}:segment-changes`;
    redis.defineCommand('ripcordSegmentWrite', { numberOfKeys: 6, lua: WRITE_IF_NEWER });
    redis.defineCommand('ripcordSegmentRemove', { numberOfKeys: 5, lua: REMOVE_IF_NEWER });
    this.redis = redis as WithScripts;
  }

  private get keys() {
    const base = `${this.prefix}:segments`;
    return { definitions: `${base}:definitions`, versions: `${base}:versions`, revision: `${base}:revision`, changes: `${base}:changes` };
  }

  /** The key of a list segment's member set. */
  membersKey(key: string): string {
    return `${this.prefix}:segment:${key}:members`;
  }

  /** Installs a segment at a version unless a newer one is there; returns whether it was written. */
  async write(segment: Segment, version: number): Promise<boolean> {
    const keys = this.keys;
    const members = this.membersKey(segment.key);
    let staging = members;
    const { members: list, ...definition } = segment.kind === 'list' ? segment : { ...segment, members: [] as string[] };
    if (segment.kind === 'list' && list.length > 0) {
      staging = `${members}:staging:${randomUUID()}`;
      for (let i = 0; i < list.length; i += MEMBER_CHUNK) await this.redis.sadd(staging, ...list.slice(i, i + MEMBER_CHUNK));
      await this.redis.expire(staging, 600);
    }
    const written = await this.redis.ripcordSegmentWrite(
      keys.definitions, keys.versions, keys.revision, members, staging, keys.changes,
      segment.key, version, JSON.stringify({ ...definition, version }), segment.kind,
    );
    return written === 1;
  }

  /** Removes a deleted segment (a tombstone version keeps older writes out). */
  async remove(key: string, version: number): Promise<boolean> {
    const keys = this.keys;
    const removed = await this.redis.ripcordSegmentRemove(keys.definitions, keys.versions, keys.revision, this.membersKey(key), keys.changes, key, version);
    return removed === 1;
  }

  async publish(change: SegmentChange): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify(change));
  }

  /** The highest segment revision projected (0 when Redis holds none). */
  async revision(): Promise<number> {
    return Number((await this.redis.get(this.keys.revision)) ?? 0);
  }

  /** Counts accepted writes; replicas compare it with what they loaded. */
  async changes(): Promise<number> {
    return Number((await this.redis.get(this.keys.changes)) ?? 0);
  }

  /** Whether a targeting key is in a list segment: one SISMEMBER. */
  async isMember(key: string, member: string): Promise<boolean> {
    return (await this.redis.sismember(this.membersKey(key), member)) === 1;
  }

  /** One segment with its members, or null when absent. */
  async read(key: string): Promise<{ segment: Segment; version: number } | null> {
    const json = await this.redis.hget(this.keys.definitions, key);
    return json ? this.hydrate(json) : null;
  }

  /** Every segment with its members, and the change counter they were read at. */
  async readAll(): Promise<{ changes: number; segments: Array<{ segment: Segment; version: number }> }> {
    const [[, changes], [, hash]] = (await this.redis.multi().get(this.keys.changes).hgetall(this.keys.definitions).exec()) as [
      [unknown, string | null],
      [unknown, Record<string, string>],
    ];
    const segments: Array<{ segment: Segment; version: number }> = [];
    for (const json of Object.values(hash ?? {})) {
      const hydrated = await this.hydrate(json);
      if (hydrated) segments.push(hydrated);
    }
    return { changes: Number(changes ?? 0), segments };
  }

  /** Keys present in Redis (to drop what Postgres no longer has when rebuilding). */
  async keysPresent(): Promise<string[]> {
    return this.redis.hkeys(this.keys.definitions);
  }

  /** Raises the revision to Postgres' after a rebuild (it also counts deletions). */
  async raiseRevision(revision: number): Promise<void> {
    await this.redis.eval(
      `if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then redis.call('SET', KEYS[1], ARGV[1]) end return 1`,
      1, this.keys.revision, revision,
    );
  }

  private async hydrate(json: string): Promise<{ segment: Segment; version: number } | null> {
    let raw: { version?: unknown; kind?: unknown } & Record<string, unknown>;
    try {
      raw = JSON.parse(json);
    } catch {
      return null;
    }
    const { version, ...rest } = raw;
    const members = rest.kind === 'list' ? await this.redis.smembers(this.membersKey(String(rest.key))) : undefined;
    const parsed = segmentSchema.safeParse(members ? { ...rest, members } : rest);
    return parsed.success && typeof version === 'number' ? { segment: parsed.data, version } : null;
  }
}
