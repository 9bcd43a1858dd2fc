/** Hit and miss counts of the three cache layers, read by /metrics at scrape time. */
export class CacheStats {
  /** L1, the in-process snapshot: a flag lookup by an evaluation. */
  l1Hits = 0;
  l1Misses = 0;
  /** L2, the Redis projection: a full read of an environment (miss: Redis held nothing for it). */
  l2Hits = 0;
  l2Misses = 0;
  /** L3, Postgres: a load to repair or rebuild the projection (miss: the load failed). */
  l3Hits = 0;
  l3Misses = 0;
}
