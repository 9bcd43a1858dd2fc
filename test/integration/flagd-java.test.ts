import { existsSync } from 'node:fs';
import murmur from 'murmurhash3js-revisited';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allVectorCases, compareSplit, compareVectors, createVectorFlags, FlagdClientProcess, killReachesProvider, SPLIT_USERS, SPLIT_WEIGHTS, waitForSync, type VectorCase } from './flagd/flagd-clients.js';
import { startStack, uniqueKey, type Stack } from './harness.js';

/**
 * flagd-compatible sync against OpenFeature's flagd provider for Java
 * (dev.openfeature.contrib.providers:flagd 0.11.15 with dev.openfeature:sdk 1.22.0, pinned in
 * test/integration/flagd/java/pom.xml; the jars are fetched from Maven Central into .tools/java-flagd/lib
 * by ensure_flagd_java), run as a child process (test/integration/flagd/java/FlagdClient.java, source
 * launch) in in-process mode, synced over gRPC from Ripcord's FlagSyncService with a server token as
 * `authorization: Bearer` metadata. The same checks as the Python provider's (flagd-sync.test.ts) —
 * the vector cases Ripcord stores and flagd can express, 1,000 users of a 3-variant split, a kill
 * pushed over the stream — but this provider does NOT give Ripcord's (nor flagd's) answers everywhere,
 * so each disagreement is pinned to its cause in the provider and anything else fails the test:
 * - `fractional`: 0.11.15 buckets by |signed murmur3| / Integer.MAX_VALUE (float) where flagd's daemon,
 *   the Python provider and Ripcord use the unsigned hash / 2^32, so ~60 % of users land elsewhere
 *   (the split test shows every Java answer is exactly that formula's);
 * - its JsonLogic raises an error (the caller's default) on a comparison with a missing, null or
 *   mistyped attribute, where flagd's evaluates it as no match;
 * - `{"var": "targetingKey"}` is not set in its JsonLogic data.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const LIB = `${root}/.tools/java-flagd/lib`;
const ENVIRONMENT = 'staging';

let stack: Stack;
let java: FlagdClientProcess;
let serverToken: string;
let liveKeys: Map<VectorCase, { key: string; type: string }>;
const prefix = uniqueKey('fdj');

beforeAll(async () => {
  if (!existsSync(LIB)) throw new Error(`${LIB} is missing: npm test fetches it (ensure_flagd_java in scripts/stack-lib.sh)`);
  // This test compares answers, not freshness: a replica late on a loaded machine may stay in service.
  stack = await startStack({ FLAGD_SYNC_PORT: '0', MAX_SNAPSHOT_LAG_SECONDS: '60' }, { worker: false });
  const token = await stack.request('POST', '/api/v1/tokens', { body: { name: 'flagd java', kind: 'server', environment: ENVIRONMENT } });
  expect(token.status).toBe(201);
  serverToken = token.body.token;
  const created = await createVectorFlags(stack, ENVIRONMENT, prefix);
  liveKeys = created.liveKeys;
  java = new FlagdClientProcess('java', ['-cp', `${LIB}/*`, `${root}/test/integration/flagd/java/FlagdClient.java`]);
  // Source launch compiles first: the bound is generous on a loaded machine.
  const connected = await java.call<{ connected: boolean }>({ op: 'connect', host: '127.0.0.1', port: stack.api.flagdSyncPort, token: serverToken }, 90_000);
  expect(connected.connected).toBe(true);
}, 240_000);

/** The variant Java's provider 0.11.15 picks for `fractional` (its Fractional.distributeValue, in float arithmetic). */
function javaFractional(flagKey: string, targetingKey: string, weights: ReadonlyArray<readonly [string, number]>): string | undefined {
  const f = Math.fround;
  const signed = murmur.x86.hash32(new TextEncoder().encode(flagKey + targetingKey), 0) | 0;
  const bucket = f(f(f(Math.abs(signed)) / f(2147483647)) * 100);
  const total = weights.reduce((sum, [, weight]) => sum + weight, 0);
  let sum = 0;
  for (const [variant, weight] of weights) {
    sum = f(sum + f(f(weight * 100) / f(total)));
    if (bucket < sum) return variant;
  }
  return undefined;
}

afterAll(async () => {
  java?.close();
  await stack?.close();
});

describe('Java flagd in-process provider synced from Ripcord', () => {
  it("agrees with Ripcord's OFREP answers on every vector case Ripcord stores and flagd can express, but where the provider departs from flagd", async () => {
    await waitForSync(stack, ENVIRONMENT, java);
    const disagreements = await compareVectors(stack, serverToken, java, liveKeys);
    const document = (await stack.request('GET', `/api/v1/flagd/${ENVIRONMENT}/flags.json`, { token: serverToken })).body as { flags: Record<string, { targeting?: unknown }> };
    const keyOf = new Map([...liveKeys].map(([c, { key }]) => [c.name, key]));
    const causes: Record<string, string[]> = { fractional: [], 'error on a missing/null/mistyped attribute': [], 'targetingKey not in JsonLogic data': [], unexplained: [] };
    for (const line of disagreements) {
      const name = line.slice(0, line.indexOf(': Ripcord '));
      const targeting = JSON.stringify(document.flags[keyOf.get(name)!]?.targeting ?? null);
      if (targeting.includes('"fractional"')) causes.fractional!.push(name);
      else if (/flagd \{"reason":"ERROR"/.test(line)) causes['error on a missing/null/mistyped attribute']!.push(name);
      else if (targeting.includes('"targetingKey"')) causes['targetingKey not in JsonLogic data']!.push(name);
      else causes.unexplained!.push(line);
    }
    console.log(`[flagd-java] Java flagd 0.11.15 in-process (gRPC sync) vs Ripcord OFREP: ${liveKeys.size - disagreements.length} agreed / ${liveKeys.size} live vector cases (${allVectorCases.length} in all); disagreements by cause: ${Object.entries(causes).map(([cause, names]) => `${cause} ${names.length}`).join(', ')}`);
    expect(causes.unexplained).toEqual([]);
    expect(liveKeys.size).toBe(186);
  }, 120_000);

  it("serves a 3-variant split to 1,000 users by its own bucketing formula, which is not flagd's (agreement with Ripcord printed)", async () => {
    const key = `${prefix}-split`;
    const { disagreements, counts, answers } = await compareSplit(stack, ENVIRONMENT, serverToken, java, key);
    const byJavaFormula = SPLIT_USERS.filter((user, i) => answers[i]!.variant === javaFractional(key, user, SPLIT_WEIGHTS)).length;
    console.log(`[flagd-java] 3-variant split: ${1000 - disagreements.length} / 1000 users agreed with Ripcord (Ripcord served ${JSON.stringify(counts)}); ${byJavaFormula} / 1000 are the provider's own |signed hash| / INT_MAX bucketing`);
    expect(Object.keys(counts).sort()).toEqual(['compact', 'control', 'wide']);
    expect(byJavaFormula).toBe(1000);
  }, 120_000);

  it('serves a kill pushed over the sync stream (time printed, not asserted)', async () => {
    const ms = await killReachesProvider(stack, ENVIRONMENT, java, `${prefix}-kill`);
    console.log(`[flagd-java] kill request → served by the Java flagd in-process provider: ${ms} ms`);
  }, 60_000);
});
