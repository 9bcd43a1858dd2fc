import type { FlagSnapshot } from '../cache/flag-snapshot.js';
import type { Lag, SnapshotSync } from '../cache/snapshot-sync.js';

/**
 * The readiness of this replica's L1: fails when it never loaded, when it is stale (its change
 * subscription is down, or it has not reached Redis for longer than the allowed lag: it then
 * answers evaluations from its last snapshot with reason STALE), or when it has trailed the Redis
 * projection for longer than the allowed lag. A replica silently serving old flags must not stay ready.
 */
export async function snapshotReadiness(sync: SnapshotSync, snapshot: FlagSnapshot): Promise<Record<string, unknown>> {
  const environments = Object.fromEntries(snapshot.environmentKeys().map((env) => [env, { version: snapshot.version(env) }]));
  if (snapshot.environmentKeys().length === 0 && !sync.redisHealthy) throw new Error('no snapshot loaded yet');
  const stale = sync.staleness();
  let lagging: Lag[];
  try {
    lagging = await sync.lagging();
  } catch {
    lagging = [];
  }
  if (lagging.length > 0) {
    const now = Date.now();
    const detail = lagging
      .map((lag) => `${lag.environment} serves version ${lag.served} < projected ${lag.projected} for ${((now - lag.behindSinceMs) / 1000).toFixed(1)} s`)
      .join('; ');
    throw new Error(`L1 trails the projection: ${detail}`);
  }
  if (stale) throw new Error(`stale: ${stale.reason}; serving the last snapshot (reason STALE) since ${new Date(stale.sinceMs).toISOString()}`);
  return { environments };
}
