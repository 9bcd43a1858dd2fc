import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bucketOf } from '../../../src/engine/index.js';
import { murmur3 } from '../../../src/engine/bucketing.js';
import { referenceMurmur3 } from './helpers.js';

describe('murmur3', () => {
  // Published MurmurHash3_x86_32 vectors (seed 0).
  it.each([
    ['', 0x00000000],
    ['test', 0xba6bd213],
    ['Hello, world!', 0xc0363e43],
    ['The quick brown fox jumps over the lazy dog', 0x2e4ff723],
  ])('hashes %j to the reference value', (input, expected) => {
    expect(murmur3(input)).toBe(expected);
  });

  it('hashes the UTF-8 bytes of any string, as an independent implementation does', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        expect(murmur3(s)).toBe(referenceMurmur3(encoder.encode(s)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('bucketOf', () => {
  it('is floor(murmur3(flagKey + targetingKey) × 100000 / 2^32)', () => {
    const h = murmur3('checkout-v2user-42');
    expect(bucketOf('checkout-v2', 'user-42')).toBe(Math.floor((h * 100000) / 2 ** 32));
  });

  it('stays within 0..99999 for any keys', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (flag, user) => {
        const b = bucketOf(flag, user);
        expect(Number.isInteger(b) && b >= 0 && b < 100_000).toBe(true);
      }),
    );
  });
});
