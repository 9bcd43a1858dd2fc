import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/serving/rate-limiter.js';

const T0 = 1_700_000_000_000;

describe('RateLimiter: a token bucket per caller', () => {
  it('allows a burst, then refuses with the wait until the next request fits', () => {
    const limiter = new RateLimiter(2, 3);
    expect([1, 2, 3].map(() => limiter.take('a', T0).allowed)).toEqual([true, true, true]);
    expect(limiter.take('a', T0)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // Half a second refills one token at 2/s.
    expect(limiter.take('a', T0 + 500)).toEqual({ allowed: true });
    expect(limiter.take('a', T0 + 500).allowed).toBe(false);
  });

  it('keeps callers apart', () => {
    const limiter = new RateLimiter(1, 1);
    expect(limiter.take('a', T0).allowed).toBe(true);
    expect(limiter.take('a', T0).allowed).toBe(false);
    expect(limiter.take('b', T0).allowed).toBe(true);
  });

  it('says how long to wait at a slow rate, rounding up to whole seconds', () => {
    const limiter = new RateLimiter(0.1, 1); // one request every 10 s
    expect(limiter.take('a', T0).allowed).toBe(true);
    expect(limiter.take('a', T0)).toEqual({ allowed: false, retryAfterSeconds: 10 });
    expect(limiter.take('a', T0 + 4_000)).toEqual({ allowed: false, retryAfterSeconds: 6 });
  });

  it('is off at 0 requests a second and remembers nobody', () => {
    const limiter = new RateLimiter(0);
    expect(limiter.enabled).toBe(false);
    for (let i = 0; i < 100; i++) expect(limiter.take('a', T0)).toEqual({ allowed: true });
    expect(limiter.size).toBe(0);
  });

  it('never refills past the burst, and a clock going backwards refills nothing', () => {
    const limiter = new RateLimiter(1, 2);
    expect(limiter.take('a', T0).allowed).toBe(true);
    expect(limiter.take('a', T0 + 3_600_000).allowed).toBe(true);
    expect(limiter.take('a', T0 + 3_600_000).allowed).toBe(true);
    expect(limiter.take('a', T0 + 3_600_000).allowed).toBe(false);
    expect(limiter.take('a', T0).allowed).toBe(false);
  });

  it('remembers at most maxBuckets callers, forgetting the least recently used', () => {
    const limiter = new RateLimiter(1, 1, 3);
    for (const caller of ['a', 'b', 'c']) expect(limiter.take(caller, T0).allowed).toBe(true);
    expect(limiter.take('a', T0 + 900).allowed).toBe(false);
    // A second later a is the most recently used: a new caller pushes b out, not a.
    expect(limiter.take('a', T0 + 1_000).allowed).toBe(true);
    expect(limiter.take('d', T0 + 1_000).allowed).toBe(true);
    expect(limiter.size).toBe(3);
    expect(limiter.take('a', T0 + 1_000).allowed).toBe(false); // still remembered: no fresh burst
    expect(limiter.take('c', T0 + 1_000).allowed).toBe(true); // c refilled in that second
    expect(limiter.take('b', T0 + 1_000).allowed).toBe(true); // b was forgotten: a fresh burst
    for (let i = 0; i < 1_000; i++) limiter.take(`made-up-${i}`, T0 + 1_000);
    expect(limiter.size).toBe(3);
    // A flood of made-up callers pushed everyone else out: a starts again with a full burst.
    expect(limiter.take('a', T0 + 1_000).allowed).toBe(true);
  });

  it('matches a model: allowed requests in any window never exceed burst + rate × window', () => {
    const step = fc.record({ caller: fc.constantFrom('a', 'b', 'c'), dtMs: fc.integer({ min: 0, max: 2_000 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), fc.array(step, { maxLength: 300 }), (perSecond, burst, steps) => {
        const limiter = new RateLimiter(perSecond, burst);
        let now = T0;
        const allowedAt = new Map<string, number[]>();
        for (const { caller, dtMs } of steps) {
          now += dtMs;
          const decision = limiter.take(caller, now);
          if (decision.allowed) allowedAt.set(caller, [...(allowedAt.get(caller) ?? []), now]);
          else expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        }
        for (const times of allowedAt.values()) {
          for (let i = 0; i < times.length; i++) {
            for (let j = i; j < times.length; j++) {
              const windowSeconds = (times[j]! - times[i]!) / 1000;
              expect(j - i + 1).toBeLessThanOrEqual(burst + perSecond * windowSeconds + 1e-9);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('matches a model: a caller that waits long enough is always allowed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 100 }), (perSecond, burst, spent) => {
        const limiter = new RateLimiter(perSecond, burst);
        for (let i = 0; i < spent; i++) limiter.take('a', T0);
        expect(limiter.take('a', T0 + Math.ceil(1000 / perSecond)).allowed).toBe(true);
      }),
    );
  });

  it('takePair decides exactly as take on the joined key, also once its kept keys overflow', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ caller: fc.constantFrom('t1', 't2', 't1\u0000x'), address: fc.constantFrom('10.0.0.1', '10.0.0.2', 'x', '::1', ''), dtMs: fc.integer({ min: 0, max: 700 }) }), { maxLength: 120 }),
        fc.integer({ min: 1, max: 6 }),
        (steps, maxBuckets) => {
          const pairs = new RateLimiter(2, 3, maxBuckets);
          const joined = new RateLimiter(2, 3, maxBuckets);
          let now = T0;
          for (const { caller, address, dtMs } of steps) {
            now += dtMs;
            expect(pairs.takePair(caller, address, now)).toEqual(joined.take(`${caller}\u0000${address}`, now));
          }
          expect(pairs.size).toBeLessThanOrEqual(maxBuckets);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('takePair is off at 0 requests a second', () => {
    const limiter = new RateLimiter(0);
    for (let i = 0; i < 10; i++) expect(limiter.takePair('t', `10.0.0.${i}`, T0)).toEqual({ allowed: true });
    expect(limiter.size).toBe(0);
  });
});
