import { describe, expect, it } from 'vitest';
import { compileFlag, evaluate } from '../../../src/engine/index.js';
import { bucketOf } from '../../../src/engine/index.js';
import { definition } from './helpers.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');

describe('kill switch', () => {
  it('serves off_value with DISABLED and killSwitch metadata, even when enabled with a full rollout', () => {
    const flag = compileFlag(definition({ kill_switch: { enabled: true, reason: 'errors' }, rollout: { percentage: 100, strategy: 'immediate' } }));
    expect(evaluate(flag, { targetingKey: 'u1' }, NOW)).toEqual({ value: false, variant: 'off', reason: 'DISABLED', metadata: { killSwitch: true } });
  });

  it('needs no targeting key', () => {
    const flag = compileFlag(definition({ kill_switch: { enabled: true }, rollout: { percentage: 50, strategy: 'gradual' } }));
    expect(evaluate(flag, {}, NOW).reason).toBe('DISABLED');
  });
});

describe('enabled', () => {
  it('serves off_value with DISABLED when the flag is off', () => {
    const flag = compileFlag(definition({ enabled: false }));
    expect(evaluate(flag, { targetingKey: 'u1' }, NOW)).toEqual({ value: false, variant: 'off', reason: 'DISABLED' });
  });
});

describe('static flag', () => {
  it('serves value with STATIC when there is no rollout block', () => {
    const flag = compileFlag(definition({ value: 'blue', off_value: 'grey' }, { type: 'string' }));
    expect(evaluate(flag, {}, NOW)).toEqual({ value: 'blue', variant: 'on', reason: 'STATIC' });
  });

  it('treats a null rollout like an absent one', () => {
    const flag = compileFlag(definition({ rollout: null }));
    expect(evaluate(flag, {}, NOW).reason).toBe('STATIC');
  });
});

describe('rollout percentage', () => {
  const flagAt = (percentage: number) => compileFlag(definition({ rollout: { percentage, strategy: 'gradual' } }));

  it('serves value (SPLIT) to users whose bucket is below p × 1000 and off_value (DEFAULT) to the rest', () => {
    const flag = flagAt(30);
    for (let i = 0; i < 200; i++) {
      const key = `user-${i}`;
      const bucket = bucketOf('checkout-v2', key);
      const inside = bucket < 30_000;
      expect(evaluate(flag, { targetingKey: key }, NOW)).toEqual(
        inside ? { value: true, variant: 'on', reason: 'SPLIT', bucket } : { value: false, variant: 'off', reason: 'DEFAULT', bucket },
      );
    }
  });

  it('honours three decimals of a percentage', () => {
    const users = Array.from({ length: 5000 }, (_, i) => `u${i}`);
    const key = users.find((u) => bucketOf('checkout-v2', u) === 12_345) ?? users.find((u) => bucketOf('checkout-v2', u) > 0)!;
    const bucket = bucketOf('checkout-v2', key);
    const p = bucket / 1000; // the user sits exactly on the edge: bucket < p × 1000 is false
    expect(evaluate(flagAt(p), { targetingKey: key }, NOW).reason).toBe('DEFAULT');
    expect(evaluate(flagAt((bucket + 1) / 1000), { targetingKey: key }, NOW).reason).toBe('SPLIT');
  });

  it('answers TARGETING_KEY_MISSING with off_value when a bucket is needed and there is no key', () => {
    const result = evaluate(flagAt(50), { plan: 'pro' }, NOW);
    expect(result).toMatchObject({ value: false, variant: 'off', reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' });
  });

  it('treats an empty targeting key as missing', () => {
    expect(evaluate(flagAt(50), { targetingKey: '' }, NOW).errorCode).toBe('TARGETING_KEY_MISSING');
  });

  it('needs no bucket at 0% and 100%', () => {
    expect(evaluate(flagAt(0), {}, NOW)).toEqual({ value: false, variant: 'off', reason: 'DEFAULT' });
    expect(evaluate(flagAt(100), {}, NOW)).toEqual({ value: true, variant: 'on', reason: 'SPLIT' });
  });
});

describe('invalid stored config', () => {
  it('compiles into a flag that answers PARSE_ERROR instead of throwing', () => {
    const flag = compileFlag(definition({ value: 'not a boolean' }));
    const result = evaluate(flag, { targetingKey: 'u1' }, NOW);
    expect(result).toMatchObject({ value: undefined, reason: 'ERROR', errorCode: 'PARSE_ERROR' });
    expect(result.errorMessage).toContain('value');
    expect(flag).toMatchObject({ key: 'checkout-v2', type: 'boolean', version: 1, environment: 'production' });
  });

  it('survives a config that is not even an object', () => {
    const flag = compileFlag({ key: 'x', type: 'number', environment: 'dev', version: 3, config: null as never });
    expect(evaluate(flag, {}, NOW).errorCode).toBe('PARSE_ERROR');
  });
});
