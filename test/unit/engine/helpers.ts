import type { FlagConfig, FlagDefinition, FlagType } from '../../../src/domain/flag.js';

/** A boolean flag definition that serves `true` when on, with overrides for the parts a test cares about. */
export function definition(config: Partial<FlagConfig> = {}, extra: Partial<Omit<FlagDefinition, 'config'>> = {}): FlagDefinition {
  return {
    key: 'checkout-v2',
    type: 'boolean' as FlagType,
    environment: 'production',
    version: 1,
    ...extra,
    config: {
      enabled: true,
      value: true,
      off_value: false,
      rules: [],
      targeting: [],
      kill_switch: { enabled: false },
      ...config,
    },
  };
}

/** A reference MurmurHash3 x86 32-bit, written from the algorithm's description, to check the package against. */
export function referenceMurmur3(bytes: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length >> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    let k = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= bytes[tail + 2]! << 16;
    if (rest >= 2) k ^= bytes[tail + 1]! << 8;
    k ^= bytes[tail]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A user's bucket (0..99999) for a flag by the reference hash: floor(murmur3(flagKey + targetingKey) × 100000 / 2^32). */
export function referenceBucket(flagKey: string, targetingKey: string): number {
  return Math.floor((referenceMurmur3(new TextEncoder().encode(flagKey + targetingKey)) * 100_000) / 2 ** 32);
}
