/**
 * Flag metrics flushed to the real Redis in chunks (one script call per FLUSH_CHUNK flags): every
 * flag's counts arrive exactly, whichever chunk it fell in, and two replicas' flushes add up.
 * Counts a flush could not write stay pending and arrive with the next one.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../../src/engine/index.js';
import { FLUSH_CHUNK, FlagMetrics, type ConstantGroup } from '../../src/serving/flag-metrics.js';

let redis: Redis;
let prefix: string;

beforeAll(async () => {
  redis = new Redis(process.env.REDIS_URL!);
  // A flush skips a client that isn't ready yet (its counts stay pending).
  await redis.ping();
  prefix = `flag-metrics-flush-${randomUUID()}`;
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const on: EvaluationResult = { value: true, variant: 'on', reason: 'TARGETING_MATCH' } as EvaluationResult;
const off: EvaluationResult = { value: false, variant: 'off', reason: 'SPLIT' } as EvaluationResult;
const failed: EvaluationResult = { value: undefined, variant: 'error', reason: 'ERROR', errorCode: 'GENERAL' } as EvaluationResult;
const flag = (i: number) => ({ key: `flag-${String(i).padStart(5, '0')}`, offVariant: 'off' });

describe('flag metrics flush', () => {
  it('writes thousands of flags in chunks, each count exact, and adds the flushes of two replicas', async () => {
    const flags = FLUSH_CHUNK * 2 + 37;
    const replicas = [new FlagMetrics(redis, undefined, prefix), new FlagMetrics(redis, undefined, prefix)];
    const t0 = Date.UTC(2026, 11, 8, 1, 0, 0);
    // Flag i: i % 5 + 1 evaluations on the first replica (every third one answered off, every seventh an error), one on the second.
    for (let i = 0; i < flags; i++) {
      for (let n = 0; n <= i % 5; n++) {
        const result = i % 7 === 0 ? failed : i % 3 === 0 ? off : on;
        replicas[0]!.record('production', flag(i), result, 0.25, t0 + i, n % 2 === 0);
      }
      replicas[1]!.record('production', flag(i), on, 0.5, t0 + 1, true);
    }
    // Pre-rendered flags counted once per request, spread over the group's flags when flushed.
    const group: ConstantGroup = { environment: 'production', flags: [{ key: 'const-a', offVariant: 'off', constant: on }, { key: 'const-b', offVariant: 'off', constant: off }] };
    for (let r = 0; r < 3; r++) replicas[1]!.recordConstants(group, t0 + 10_000 + r, r !== 1);

    await Promise.all(replicas.map((replica) => replica.flush()));

    for (const i of [0, 1, 6, 7, FLUSH_CHUNK - 1, FLUSH_CHUNK, FLUSH_CHUNK + 1, 2 * FLUSH_CHUNK, flags - 1]) {
      const n = (i % 5) + 1;
      const hits = Math.ceil(n / 2);
      const hash = await redis.hgetall(`${prefix}:metrics:production:${flag(i).key}`);
      const error = i % 7 === 0;
      const enabled = !error && i % 3 !== 0;
      const expected = {
        evaluations: n + 1,
        enabled: (enabled ? n : 0) + 1,
        disabled: !error && !enabled ? n : 0,
        errors: error ? n : 0,
        duration_ms: n * 0.25 + 0.5,
        cache_hits: hits + 1,
        last_evaluation: Math.max(t0 + i, t0 + 1),
      };
      // Zero counts are not written (a field never written reads as 0).
      expect({ i, ...hash }).toEqual({ i, ...Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== 0).map(([k, v]) => [k, String(v)])) });
    }
    const read = await replicas[0]!.read(flag(7).key, ['production']);
    expect(read.metrics).toMatchObject({ evaluation_count: 4, error_count: 3, enabled_count: 1, disabled_count: 0, last_evaluation: new Date(t0 + 7).toISOString() });

    expect(await redis.hgetall(`${prefix}:metrics:production:const-a`)).toEqual({ evaluations: '3', enabled: '3', cache_hits: '2', last_evaluation: String(t0 + 10_002) });
    expect(await redis.hgetall(`${prefix}:metrics:production:const-b`)).toEqual({ evaluations: '3', disabled: '3', cache_hits: '2', last_evaluation: String(t0 + 10_002) });
  });

  it('keeps what a flush could not write and writes it with the next flush', async () => {
    const metrics = new FlagMetrics(redis, undefined, prefix);
    const t0 = Date.UTC(2026, 11, 8, 2, 0, 0);
    metrics.record('staging', flag(1), on, 1, t0, true);
    // A script error in one chunk (the key holds a string, not a hash): that chunk stays pending.
    await redis.set(`${prefix}:metrics:staging:${flag(1).key}`, 'not a hash');
    await metrics.flush();
    await redis.del(`${prefix}:metrics:staging:${flag(1).key}`);
    metrics.record('staging', flag(1), on, 1, t0 + 5, true);
    await metrics.flush();
    expect(await redis.hgetall(`${prefix}:metrics:staging:${flag(1).key}`)).toEqual({
      evaluations: '2', enabled: '2', duration_ms: '2', cache_hits: '2', last_evaluation: String(t0 + 5),
    });
  });
});
