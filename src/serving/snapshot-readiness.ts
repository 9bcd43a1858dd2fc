import type { FlagSnapshot } from '../cache/flag-snapshot.js';
import type { SnapshotSync } from '../cache/snapshot-sync.js';

/**
 * The readiness of this replica's L1: fails when it never loaded, or when it has trailed the Redis
 * projection for longer than the allowed lag (a replica silently serving old flags must not stay
 * ready). While Redis is unreachable the lag can't be judged: the last snapshot is served and the
 * Redis check reports the outage.
 */
export async function snapshotReadiness(sync: SnapshotSync, snapshot: FlagSnapshot): Promise<Record<string, unknown>> {
  const environments = Object.fromEntries(snapshot.environmentKeys().map((env) => [env, { version: snapshot.version(env) }]));
  if (snapshot.environmentKeys().length === 0 && !sync.redisHealthy) throw new Error('no snapshot loaded yet');
  let lagging;
  try {
    lagging = await sync.lagging();
  } catch {
    return { environments, note: 'Redis unreachable: serving the last snapshot' };
  }
  if (lagging.length > 0) {
    const now = Date.now();
    const detail = lagging
      .map((lag) => `${lag.environment} serves version ${lag.served} < projected ${lag.projected} for ${((now - lag.behindSinceMs) / 1000).toFixed(1)} s`)
      .join('; ');
    throw new Error(`L1 trails the projection: ${detail}`);
  }
  return { environments };
}
