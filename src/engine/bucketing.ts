import murmur from 'murmurhash3js-revisited';

/** Buckets per flag: a bucket is a thousandth of a percent. */
export const BUCKETS = 100_000;

const encoder = new TextEncoder();
// Reused across calls: encodeInto writes UTF-8 without allocating a new array each time.
let scratch = new Uint8Array(256);

/** The UTF-8 bytes of `s` (valid until the next call). */
function utf8(s: string): Uint8Array {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (s.length * 3 > scratch.length) scratch = new Uint8Array(s.length * 3);
  const { written } = encoder.encodeInto(s, scratch);
  return scratch.subarray(0, written);
}

/** MurmurHash3 x86 32-bit (seed 0) of the UTF-8 bytes of `s`, as an unsigned int. */
export function murmur3(s: string): number {
  return murmur.x86.hash32(utf8(s), 0) >>> 0;
}

/** The user's sticky bucket (0..99999) for a flag: floor(murmur3(flagKey + targetingKey) × 100000 / 2^32). */
export function bucketOf(flagKey: string, targetingKey: string): number {
  return Math.floor((murmur3(flagKey + targetingKey) * BUCKETS) / 4294967296);
}

/** The bucket threshold of a percentage with up to three decimals: inside when bucket < threshold. */
export function thresholdOf(percentage: number): number {
  return Math.round(percentage * 1000);
}
