import type { Redis } from 'ioredis';
import { flagDefinitionSchema, type FlagDefinition } from '../domain/flag.js';
import type { ChangeKind } from '../domain/flag-change.js';

/** What a change announcement carries: the whole new definition, so replicas need no extra read. */
export interface ChangeEvent {
  event: ChangeKind;
  definition: FlagDefinition;
  /** When it was announced (ms since epoch), so replicas can tell how long it took to reach them. */
  at?: number;
  /**
   * Set by the replica that took the change in (never sent on pub/sub): the flag's version it had
   * before, when the change only switched the flag on/off or its kill switch (see stateChangeBase).
   */
  base?: number;
}

// Writes a flag only if its version is newer than the stored one and raises the environment's
// version to it, so a late or retried write can never roll the projection back. Every accepted write
// also bumps a change counter: replicas compare counters, which catches a late write of an older
// version that the max-version alone would hide.
const WRITE_IF_NEWER = `
local current = redis.call('HGET', KEYS[2], ARGV[1])
local version = tonumber(ARGV[2])
if current and tonumber(current) >= version then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local envVersion = tonumber(redis.call('GET', KEYS[3]) or '0')
if version > envVersion then redis.call('SET', KEYS[3], ARGV[2]) end
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('INCR', KEYS[5])
return 1`;

type RedisWithScripts = Redis & {
  ripcordWriteIfNewer(flagsKey: string, versionsKey: string, envVersionKey: string, envsKey: string,
    changesKey: string, flagKey: string, version: number, json: string, environment: string): Promise<number>;
};

function parseOrUndefined(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/** The Redis serving projection: per environment a hash of definitions, their versions and a version counter. */
export class RedisProjection {
  readonly channel: string;
  private readonly redis: RedisWithScripts;

  constructor(redis: Redis, private readonly prefix = 'ripcord') {
    this.channel = `${prefix}:changes`;
    redis.defineCommand('ripcordWriteIfNewer', { numberOfKeys: 5, lua: WRITE_IF_NEWER });
    this.redis = redis as RedisWithScripts;
  }

  private keys(environment: string) {
    const base = `${this.prefix}:env:${environment}`;
    return { flags: `${base}:flags`, versions: `${base}:versions`, version: `${base}:version`, changes: `${base}:changes` };
  }

  /** Stores a definition unless a newer one is there; returns whether it was written. */
  async write(definition: FlagDefinition): Promise<boolean> {
    const keys = this.keys(definition.environment);
    const written = await this.redis.ripcordWriteIfNewer(
      keys.flags, keys.versions, keys.version, `${this.prefix}:environments`, keys.changes,
      definition.key, definition.version, JSON.stringify(definition), definition.environment,
    );
    return written === 1;
  }

  /** Announces a change to every API process. */
  async publish(change: ChangeEvent): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify({ ...change, at: change.at ?? Date.now() }));
  }

  /** The environment's projected version, or null when Redis holds nothing for it (e.g. restarted empty). */
  async version(environment: string): Promise<number | null> {
    const value = await this.redis.get(this.keys(environment).version);
    return value === null ? null : Number(value);
  }

  /** The environment's change counter; replicas compare it with what they applied. */
  async changes(environment: string): Promise<number> {
    return Number((await this.redis.get(this.keys(environment).changes)) ?? 0);
  }

  async environments(): Promise<string[]> {
    return this.redis.smembers(`${this.prefix}:environments`);
  }

  /** Reads every definition of an environment; entries that don't parse are skipped. */
  async readAll(environment: string): Promise<{ changes: number; version: number; definitions: FlagDefinition[] }> {
    const keys = this.keys(environment);
    const [[, changes], [, version], [, hash]] = (await this.redis.multi().get(keys.changes).get(keys.version).hgetall(keys.flags).exec()) as [
      [unknown, string | null],
      [unknown, string | null],
      [unknown, Record<string, string>],
    ];
    const definitions: FlagDefinition[] = [];
    for (const json of Object.values(hash ?? {})) {
      const parsed = flagDefinitionSchema.safeParse(parseOrUndefined(json));
      if (parsed.success) definitions.push(parsed.data);
    }
    return { changes: Number(changes ?? 0), version: Number(version ?? 0), definitions };
  }

  /** Rewrites an environment from the source of truth, never lowering any version. */
  async rebuild(environment: string, definitions: FlagDefinition[], revision: number): Promise<void> {
    for (const definition of definitions) await this.write(definition);
    const keys = this.keys(environment);
    // The revision also counts changes to flags that are gone or archived.
    await this.redis.eval(
      `local v = tonumber(redis.call('GET', KEYS[1]) or '0') if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1]) end
       redis.call('SADD', KEYS[2], ARGV[2]) return 1`,
      2, keys.version, `${this.prefix}:environments`, revision, environment,
    );
  }
}
