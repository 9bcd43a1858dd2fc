/**
 * Pre-rendered (constant) flags are counted once per request and spread over their flags later:
 * the counts every flag ends with are those of counting each flag on each request, the per-minute
 * rollups get each request in its own minute, and this process reads its own counts exactly however
 * long ago the last spread was. (Without Redis: FlagMetrics then keeps and reads its own counts.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../../src/engine/index.js';
import { CONSTANTS_EVERY_MS, FlagMetrics, type ConstantGroup } from '../../src/serving/flag-metrics.js';
import { EvaluationRollups, type EvaluationBucket } from '../../src/serving/evaluation-rollups.js';

const on = { value: true, variant: 'on', reason: 'STATIC' } as EvaluationResult;
const off = { value: false, variant: 'off', reason: 'DISABLED' } as EvaluationResult;
const group: ConstantGroup = {
  environment: 'production',
  flags: [{ key: 'a', offVariant: 'off', constant: on }, { key: 'b', offVariant: 'off', constant: off }],
};
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 11, 8, 1, 0, 0);

/** Rollups whose store keeps what was added, summed per (flag, variant, minute). */
function recordingRollups() {
  const added = new Map<string, number>();
  const rollups = new EvaluationRollups({
    async add(buckets: EvaluationBucket[]) {
      for (const b of buckets) {
        const key = `${b.flagKey} ${b.variant} ${b.minute}`;
        added.set(key, (added.get(key) ?? 0) + b.evaluations);
      }
    },
    prune: async () => 0,
  });
  return { rollups, added };
}

describe('constant groups in the flag metrics', () => {
  it('end with the counts of counting every flag on every request, each request in its own minute', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ at: fc.integer({ min: 0, max: 5 * MINUTE }), hit: fc.boolean() }), { maxLength: 40 }).map((rs) => rs.sort((x, y) => x.at - y.at)),
      async (requests) => {
        const spread = recordingRollups();
        const naive = recordingRollups();
        const metrics = new FlagMetrics(undefined, undefined, 'test', spread.rollups);
        const reference = new FlagMetrics(undefined, undefined, 'test', naive.rollups);
        for (const { at, hit } of requests) {
          metrics.recordConstants(group, T0 + at, hit);
          for (const flag of group.flags) reference.record('production', flag, flag.constant!, 0, T0 + at, hit);
        }
        await metrics.flush(true);
        await spread.rollups.flush(T0);
        await naive.rollups.flush(T0);
        expect(spread.added).toEqual(naive.added);
        for (const key of ['a', 'b']) {
          expect((await metrics.read(key, ['production'])).metrics).toEqual((await reference.read(key, ['production'])).metrics);
        }
      },
    ), { numRuns: 200 });
  });

  it('reads this process\'s counts exactly between spreads', async () => {
    const metrics = new FlagMetrics(undefined, undefined, 'test');
    const now = Date.now();
    metrics.recordConstants(group, now, true);
    await metrics.flush(); // the first flush spreads
    metrics.recordConstants(group, now + 1, true);
    metrics.recordConstants(group, now + 2, false);
    await metrics.flush(); // within CONSTANTS_EVERY_MS: not spread, still counted
    expect(CONSTANTS_EVERY_MS).toBeGreaterThan(1_000);
    expect((await metrics.read('a', ['production'])).metrics).toMatchObject({ evaluation_count: 3, enabled_count: 3, cache_hit_rate: 0.6667 });
    expect((await metrics.read('b', ['production'])).metrics).toMatchObject({ evaluation_count: 3, disabled_count: 3 });
  });
});
