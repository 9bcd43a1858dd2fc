import murmur from 'murmurhash3js-revisited';
import type { Bucketing } from '../domain/bucketing.js';

/** Buckets per flag: a bucket is a thousandth of a percent. */
export const BUCKETS = 100_000;
const TWO_32 = 4294967296;

// The package checks that every input element is a byte (a loop per call). Our input is always a
// Uint8Array we filled ourselves, so that check can never fail; switching it off halves the hash cost.
murmur.inputValidation = false;

const encoder = new TextEncoder();
// Reused across calls, with one view per length, so hashing allocates nothing for usual keys.
let scratch = new Uint8Array(512);
let views: Uint8Array[] = [];
// The prefix now in the scratch buffer: consecutive hashes for one flag skip copying it again.
let written: Uint8Array | undefined;

function view(length: number): Uint8Array {
  return (views[length] ??= scratch.subarray(0, length));
}

/**
 * MurmurHash3 x86 32-bit (seed 0) of `prefix` followed by the UTF-8 bytes of `s`. The two are
 * written into one buffer instead of joining strings, which would allocate and flatten a new string.
 */
function hashAfter(prefix: Uint8Array, s: string): number {
  const p = prefix.length;
  const n = s.length;
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (p + n * 3 > scratch.length) {
    scratch = new Uint8Array(p + n * 3);
    views = [];
    written = undefined;
  }
  if (written !== prefix) {
    for (let i = 0; i < p; i++) scratch[i] = prefix[i]!;
    written = prefix;
  }
  let length = p + n;
  // ASCII, by far the usual case, is copied by hand: cheaper than a call into TextEncoder.
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      length = p + encoder.encodeInto(s, scratch.subarray(p)).written;
      break;
    }
    scratch[p + i] = c;
  }
  return murmur.x86.hash32(view(length), 0) >>> 0;
}

const EMPTY = new Uint8Array(0);

/** MurmurHash3 x86 32-bit (seed 0) of the UTF-8 bytes of `s`, as an unsigned int. */
export function murmur3(s: string): number {
  return hashAfter(EMPTY, s);
}

/** Compiles the bucketing of one flag: the flag key is encoded once, not per evaluation. */
export function bucketerFor(flagKey: string): (targetingKey: string) => number {
  const prefix = encoder.encode(flagKey);
  return (targetingKey) => Math.floor((hashAfter(prefix, targetingKey) * BUCKETS) / TWO_32);
}

/**
 * Unleash's bucketing on the engine's scale: (murmur3(`groupId:targetingKey`) mod 100) × 1000. Unleash
 * enables a user for a whole percentage p when hash mod 100 + 1 ≤ p (unleash-client's
 * normalizedStrategyValue), which is exactly bucket < p × 1000.
 */
export function unleashBucketerFor(groupId: string): (targetingKey: string) => number {
  const prefix = encoder.encode(`${groupId}:`);
  return (targetingKey) => (hashAfter(prefix, targetingKey) % 100) * 1000;
}

/** The bucketing a config asks for, compiled once per change (never per evaluation). */
export function bucketerOf(flagKey: string, bucketing: Bucketing | null | undefined): (targetingKey: string) => number {
  return bucketing?.scheme === 'unleash' ? unleashBucketerFor(bucketing.group_id) : bucketerFor(flagKey);
}

/** The user's sticky bucket (0..99999) for a flag: floor(murmur3(flagKey + targetingKey) × 100000 / 2^32). */
export function bucketOf(flagKey: string, targetingKey: string): number {
  return Math.floor((hashAfter(EMPTY, flagKey + targetingKey) * BUCKETS) / TWO_32);
}

/** The bucket threshold of a percentage with up to three decimals: inside when bucket < threshold. */
export function thresholdOf(percentage: number): number {
  return Math.round(percentage * 1000);
}

/** Whether a threshold needs the user's bucket: 0% and 100% do not (nobody and everybody are inside). */
export function needsBucket(threshold: number): boolean {
  return threshold > 0 && threshold < BUCKETS;
}
