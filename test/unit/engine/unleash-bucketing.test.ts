import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { flagConfigInputSchemaFor, type FlagDefinition } from '../../../src/domain/flag.js';
import { compileFlag, evaluate } from '../../../src/engine/index.js';

// unleash-client's own hashing (lib/strategy/util.js): murmurhash3js of `groupId:id`, seed 0, mod 100, + 1.
const require = createRequire(import.meta.url);
const { normalizedStrategyValue } = require('unleash-client/lib/strategy/util.js') as { normalizedStrategyValue: (id: string, groupId: string) => number };

function rolloutFlag(groupId: string, percentage: number): FlagDefinition {
  return {
    key: 'any-key', type: 'boolean', environment: 'production', version: 1,
    config: {
      enabled: true, value: true, off_value: false, rules: [], targeting: [], kill_switch: { enabled: false },
      rollout: { percentage, strategy: 'gradual' }, bucketing: { scheme: 'unleash', group_id: groupId },
    },
  };
}

describe('Unleash bucketing', () => {
  it("enables exactly the users unleash-client's flexibleRollout enables, for any group, ASCII id and whole percentage", () => {
    const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 });
    fc.assert(fc.property(ascii, fc.array(ascii, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 100 }), (groupId, users, percentage) => {
      const flag = compileFlag(rolloutFlag(groupId, percentage));
      for (const user of users) {
        const unleash = percentage > 0 && normalizedStrategyValue(user, groupId) <= percentage;
        expect(evaluate(flag, { targetingKey: user }, 0).value).toBe(unleash);
      }
    }), { numRuns: 500 });
  });

  it('asks for whole percentages when a config is written, never refuses a stored one', () => {
    const written = flagConfigInputSchemaFor('boolean').safeParse({ ...rolloutFlag('g', 2.5).config });
    expect(written.success).toBe(false);
    expect(written.error?.issues[0]).toMatchObject({ path: ['rollout', 'percentage'], message: expect.stringContaining('whole percentage') });
    // A rollout step may store 2.5 %: it compiles and buckets as 3 % (whole-percent buckets 0, 1, 2).
    const stored = compileFlag(rolloutFlag('g', 2.5));
    expect(stored.compileError).toBeUndefined();
    const users = Array.from({ length: 2000 }, (_, i) => `u${i}`);
    for (const user of users) expect(evaluate(stored, { targetingKey: user }, 0).value).toBe(normalizedStrategyValue(user, 'g') <= 3);
  });
});
