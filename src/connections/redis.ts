import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';

export type RedisSettings = Pick<Config, 'REDIS_URL' | 'REDIS_TLS_CA' | 'REDIS_TLS_CERT' | 'REDIS_TLS_KEY' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_MASTER' | 'REDIS_SENTINEL_PASSWORD'>;

/** The TLS options of a rediss:// URL, with the configured CA and client certificate. */
function tlsOptions(settings: RedisSettings): ConnectionOptions | undefined {
  if (!settings.REDIS_URL.startsWith('rediss:')) return undefined;
  return {
    ...(settings.REDIS_TLS_CA ? { ca: readFileSync(settings.REDIS_TLS_CA) } : {}),
    ...(settings.REDIS_TLS_CERT && settings.REDIS_TLS_KEY
      ? { cert: readFileSync(settings.REDIS_TLS_CERT), key: readFileSync(settings.REDIS_TLS_KEY) }
      : {}),
  };
}

/**
 * Opens one Redis connection (commands or a pub/sub subscriber) as configured: a plain or TLS URL,
 * or, with REDIS_SENTINELS, ioredis's Sentinel support, which asks the sentinels for the current
 * primary on every (re)connect and checks its role, so commands and subscriptions move to the new
 * primary after a failover by themselves. (Not its `failoverDetector`: in ioredis 6.0.0, a
 * `+switch-master` that arrives while the connection is reconnecting ends it for good.)
 */
export function createRedis(settings: RedisSettings, options: RedisOptions = {}): Redis {
  const tls = tlsOptions(settings);
  if (!settings.REDIS_SENTINELS || !settings.REDIS_SENTINEL_MASTER) {
    return new Redis(settings.REDIS_URL, { ...(tls ? { tls } : {}), ...options });
  }
  const url = new URL(settings.REDIS_URL);
  const db = Number(url.pathname.slice(1) || 0);
  const sentinels = settings.REDIS_SENTINELS.split(',').map((pair) => {
    const [host, port] = pair.trim().split(':');
    return { host: host!, port: Number(port) };
  });
  return new Redis({
    sentinels,
    name: settings.REDIS_SENTINEL_MASTER,
    db: Number.isInteger(db) ? db : 0,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(settings.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: settings.REDIS_SENTINEL_PASSWORD } : {}),
    ...(tls ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    // Sentinels answer fast; keep asking them at most 500 ms apart while a failover is under way.
    sentinelRetryStrategy: (times: number) => Math.min(times * 100, 500),
    ...options,
  });
}
