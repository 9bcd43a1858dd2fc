/**
 * The integration setup wipes what the tests are pointed at: the template database's schema, and
 * each vitest worker's database (cloned from that template), Redis index and Temporal workflows.
 * Before it does, this proves the targets are the test ones: `scripts/test.sh` points DATABASE_URL
 * and REDIS_URL at RIPCORD_TEST_DATABASE_URL and RIPCORD_TEST_REDIS_URL, while `.stack/env` (sourced
 * by people) points them at the dev stack; a worker's targets are derived from the test ones only.
 */

/** A Redis server has databases 0 to 15 unless configured otherwise. */
const REDIS_DATABASES = 16;

export interface WorkerTargets {
  DATABASE_URL: string;
  MIGRATION_DATABASE_URL?: string;
  REDIS_URL: string;
  REDIS_PREFIX: string;
  TEMPORAL_NAMESPACE: string;
}

/** `ripcord_test` -> `ripcord_w3_test`: the worker's database still ends in _test. */
export const workerDatabase = (testDatabase: string, worker: number) => testDatabase.replace(/_test$/, `_w${worker}_test`);

function withDatabase(url: string, worker: number): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(workerDatabase(decodeURIComponent(u.pathname.slice(1)), worker))}`;
  return u.toString();
}

/**
 * Vitest worker `worker`'s own targets (1, 2, ...), derived from the test ones: its database beside
 * the test database, the Redis index `worker` above the test index, a key and channel prefix (pub/sub
 * channels are shared by every index of a server) and a Temporal namespace (workflow ids such as
 * `rollout:production:<flag>` are unique per namespace).
 */
export function workerTargets(env: Record<string, string | undefined>, worker: number): WorkerTargets {
  const { RIPCORD_TEST_DATABASE_URL, RIPCORD_TEST_MIGRATION_DATABASE_URL, RIPCORD_TEST_REDIS_URL } = env;
  if (!RIPCORD_TEST_DATABASE_URL || !RIPCORD_TEST_REDIS_URL) throw new Error('RIPCORD_TEST_DATABASE_URL and RIPCORD_TEST_REDIS_URL are not set');
  if (!Number.isInteger(worker) || worker < 1) throw new Error(`worker ${worker} is not a positive integer`);
  const redis = new URL(RIPCORD_TEST_REDIS_URL);
  redis.pathname = `/${Number(redis.pathname.slice(1) || '0') + worker}`;
  return {
    DATABASE_URL: withDatabase(RIPCORD_TEST_DATABASE_URL, worker),
    ...(RIPCORD_TEST_MIGRATION_DATABASE_URL ? { MIGRATION_DATABASE_URL: withDatabase(RIPCORD_TEST_MIGRATION_DATABASE_URL, worker) } : {}),
    REDIS_URL: redis.toString(),
    REDIS_PREFIX: `ripcord-test-w${worker}`,
    TEMPORAL_NAMESPACE: `ripcord-test-w${worker}`,
  };
}

/**
 * Returns why the targets are refused, or undefined when they are safe. Without RIPCORD_TEST_WORKER
 * they must be the test URLs themselves (the template the global setup migrates); with it, exactly
 * that worker's targets.
 */
export function refuseUnlessTestTargets(env: Record<string, string | undefined>): string | undefined {
  const { DATABASE_URL, REDIS_URL, RIPCORD_TEST_DATABASE_URL, RIPCORD_TEST_REDIS_URL, MIGRATION_DATABASE_URL, RIPCORD_TEST_MIGRATION_DATABASE_URL, RIPCORD_TEST_WORKER } = env;
  if (!DATABASE_URL || !REDIS_URL) return 'DATABASE_URL and REDIS_URL are not set';
  let expected: { DATABASE_URL?: string; MIGRATION_DATABASE_URL?: string; REDIS_URL?: string; REDIS_PREFIX?: string; TEMPORAL_NAMESPACE?: string } = {
    DATABASE_URL: RIPCORD_TEST_DATABASE_URL, MIGRATION_DATABASE_URL: RIPCORD_TEST_MIGRATION_DATABASE_URL, REDIS_URL: RIPCORD_TEST_REDIS_URL,
  };
  const test = RIPCORD_TEST_WORKER === undefined ? '' : ` of worker ${RIPCORD_TEST_WORKER}`;
  if (RIPCORD_TEST_WORKER !== undefined) {
    const worker = Number(RIPCORD_TEST_WORKER);
    if (!/^[1-9]\d*$/.test(RIPCORD_TEST_WORKER)) return `RIPCORD_TEST_WORKER "${RIPCORD_TEST_WORKER}" is not a positive integer`;
    if (!RIPCORD_TEST_DATABASE_URL || !RIPCORD_TEST_REDIS_URL) return 'RIPCORD_TEST_DATABASE_URL and RIPCORD_TEST_REDIS_URL are not set';
    try {
      expected = workerTargets(env, worker);
    } catch {
      return 'RIPCORD_TEST_DATABASE_URL or RIPCORD_TEST_REDIS_URL is not a URL';
    }
    if (env.REDIS_PREFIX !== expected.REDIS_PREFIX) return `REDIS_PREFIX is not the test prefix${test}`;
    if (env.TEMPORAL_NAMESPACE !== expected.TEMPORAL_NAMESPACE) return `TEMPORAL_NAMESPACE is not the test namespace${test}`;
  }
  if (DATABASE_URL !== expected.DATABASE_URL) return `DATABASE_URL is not RIPCORD_TEST_DATABASE_URL${test}`;
  // The owner's URL (the one that drops the schema) must name the test database too.
  if (MIGRATION_DATABASE_URL && MIGRATION_DATABASE_URL !== expected.MIGRATION_DATABASE_URL) return `MIGRATION_DATABASE_URL is not RIPCORD_TEST_MIGRATION_DATABASE_URL${test}`;
  if (REDIS_URL !== expected.REDIS_URL) return `REDIS_URL is not RIPCORD_TEST_REDIS_URL${test}`;
  let database: string;
  let redisIndex: number;
  try {
    database = decodeURIComponent(new URL(DATABASE_URL).pathname.slice(1));
    const ownerDatabase = MIGRATION_DATABASE_URL ? decodeURIComponent(new URL(MIGRATION_DATABASE_URL).pathname.slice(1)) : database;
    if (ownerDatabase !== database) return `MIGRATION_DATABASE_URL names another database ("${ownerDatabase}") than DATABASE_URL`;
    redisIndex = Number(new URL(REDIS_URL).pathname.slice(1) || '0');
  } catch {
    return 'DATABASE_URL or REDIS_URL is not a URL';
  }
  if (!database.endsWith('_test')) return `the database "${database}" does not end in _test`;
  if (!Number.isInteger(redisIndex) || redisIndex === 0) return `Redis database index ${redisIndex} is the dev stack's (tests need a non-zero index)`;
  if (redisIndex >= REDIS_DATABASES) return `Redis database index ${redisIndex} does not exist (a server has ${REDIS_DATABASES}: fewer test workers)`;
  return undefined;
}

/** The process's REDIS_URL once the guard accepts the targets: what a test may flush. */
export function guardedRedisUrl(env: Record<string, string | undefined> = process.env): string {
  const refusal = refuseUnlessTestTargets(env);
  if (refusal) throw new Error(`Refusing to flush Redis: ${refusal}`);
  return env.REDIS_URL!;
}
