import { describe, expect, it } from 'vitest';
import { guardedRedisUrl, refuseUnlessTestTargets, workerDatabase, workerTargets } from '../integration/test-target.js';

const testDb = 'postgres://ripcord:ripcord@127.0.0.1:5432/ripcord_test';
const testRedis = 'redis://127.0.0.1:6379/1';
const devDb = 'postgres://ripcord:ripcord@127.0.0.1:5432/ripcord';
const devRedis = 'redis://127.0.0.1:6379';
const stackEnv = { RIPCORD_TEST_DATABASE_URL: testDb, RIPCORD_TEST_REDIS_URL: testRedis };

describe('refuseUnlessTestTargets (the integration setup wipes what it is pointed at)', () => {
  it('accepts what scripts/test.sh exports', () => {
    expect(refuseUnlessTestTargets({ ...stackEnv, DATABASE_URL: testDb, REDIS_URL: testRedis })).toBeUndefined();
  });

  it('refuses the dev stack, as exported by `. .stack/env`', () => {
    expect(refuseUnlessTestTargets({ ...stackEnv, DATABASE_URL: devDb, REDIS_URL: devRedis })).toBe('DATABASE_URL is not RIPCORD_TEST_DATABASE_URL');
  });

  it('refuses a test variable that names a database not ending in _test', () => {
    const env = { RIPCORD_TEST_DATABASE_URL: devDb, RIPCORD_TEST_REDIS_URL: testRedis, DATABASE_URL: devDb, REDIS_URL: testRedis };
    expect(refuseUnlessTestTargets(env)).toBe('the database "ripcord" does not end in _test');
  });

  it('refuses Redis index 0, written or implied', () => {
    for (const redis of [devRedis, 'redis://127.0.0.1:6379/0']) {
      const env = { RIPCORD_TEST_DATABASE_URL: testDb, RIPCORD_TEST_REDIS_URL: redis, DATABASE_URL: testDb, REDIS_URL: redis };
      expect(refuseUnlessTestTargets(env)).toMatch(/index 0 is the dev stack's/);
    }
  });

  it('refuses an owner URL (MIGRATION_DATABASE_URL, the one that drops the schema) other than the test one', () => {
    const ownerTest = 'postgres://ripcord:ripcord@127.0.0.1:5432/ripcord_test';
    const env = { ...stackEnv, RIPCORD_TEST_MIGRATION_DATABASE_URL: ownerTest, DATABASE_URL: testDb, REDIS_URL: testRedis };
    expect(refuseUnlessTestTargets({ ...env, MIGRATION_DATABASE_URL: ownerTest })).toBeUndefined();
    expect(refuseUnlessTestTargets({ ...env, MIGRATION_DATABASE_URL: devDb })).toBe('MIGRATION_DATABASE_URL is not RIPCORD_TEST_MIGRATION_DATABASE_URL');
    const elsewhere = 'postgres://ripcord:ripcord@127.0.0.1:5432/other_test';
    expect(refuseUnlessTestTargets({ ...env, RIPCORD_TEST_MIGRATION_DATABASE_URL: elsewhere, MIGRATION_DATABASE_URL: elsewhere })).toMatch(/names another database/);
  });

  it('refuses unset variables and a REDIS_URL that is not the test one', () => {
    expect(refuseUnlessTestTargets({})).toBe('DATABASE_URL and REDIS_URL are not set');
    expect(refuseUnlessTestTargets({ ...stackEnv, DATABASE_URL: testDb, REDIS_URL: devRedis })).toBe('REDIS_URL is not RIPCORD_TEST_REDIS_URL');
  });
});

describe('a test worker\'s targets (each vitest worker wipes its own database, Redis index and namespace)', () => {
  const ownerTest = 'postgres://ripcord:ripcord@127.0.0.1:5432/ripcord_test';
  const env = { ...stackEnv, RIPCORD_TEST_MIGRATION_DATABASE_URL: ownerTest };
  const worker = (n: number) => ({ ...env, ...workerTargets(env, n), RIPCORD_TEST_WORKER: String(n) });

  it('derives them from the test targets: a database still ending in _test, the index above the test one, a prefix and a namespace of its own', () => {
    expect(workerTargets(env, 3)).toEqual({
      DATABASE_URL: 'postgres://ripcord:ripcord@127.0.0.1:5432/ripcord_w3_test',
      MIGRATION_DATABASE_URL: 'postgres://ripcord:ripcord@127.0.0.1:5432/ripcord_w3_test',
      REDIS_URL: 'redis://127.0.0.1:6379/4',
      REDIS_PREFIX: 'ripcord-test-w3',
      TEMPORAL_NAMESPACE: 'ripcord-test-w3',
    });
    expect(workerDatabase('other_test', 12)).toBe('other_w12_test');
    for (const n of [0, -1, 1.5]) expect(() => workerTargets(env, n)).toThrow(/not a positive integer/);
  });

  it('accepts exactly the worker\'s own targets', () => {
    for (const n of [1, 2, 4, 14]) expect(refuseUnlessTestTargets(worker(n))).toBeUndefined();
  });

  it('refuses the template, another worker\'s targets, or the dev stack, as a worker', () => {
    expect(refuseUnlessTestTargets({ ...worker(2), DATABASE_URL: testDb })).toBe('DATABASE_URL is not RIPCORD_TEST_DATABASE_URL of worker 2');
    expect(refuseUnlessTestTargets({ ...worker(2), DATABASE_URL: workerTargets(env, 3).DATABASE_URL })).toBe('DATABASE_URL is not RIPCORD_TEST_DATABASE_URL of worker 2');
    expect(refuseUnlessTestTargets({ ...worker(2), MIGRATION_DATABASE_URL: devDb })).toBe('MIGRATION_DATABASE_URL is not RIPCORD_TEST_MIGRATION_DATABASE_URL of worker 2');
    expect(refuseUnlessTestTargets({ ...worker(2), REDIS_URL: testRedis })).toBe('REDIS_URL is not RIPCORD_TEST_REDIS_URL of worker 2');
    expect(refuseUnlessTestTargets({ ...worker(2), REDIS_URL: devRedis })).toBe('REDIS_URL is not RIPCORD_TEST_REDIS_URL of worker 2');
    expect(refuseUnlessTestTargets({ ...worker(2), REDIS_PREFIX: 'ripcord' })).toBe('REDIS_PREFIX is not the test prefix of worker 2');
    expect(refuseUnlessTestTargets({ ...worker(2), TEMPORAL_NAMESPACE: 'default' })).toBe('TEMPORAL_NAMESPACE is not the test namespace of worker 2');
    for (const bad of ['0', '-1', 'two', '1.5', '']) expect(refuseUnlessTestTargets({ ...worker(2), RIPCORD_TEST_WORKER: bad })).toMatch(/is not a positive integer/);
    const noTestUrls = { DATABASE_URL: devDb, REDIS_URL: devRedis, RIPCORD_TEST_WORKER: '1', REDIS_PREFIX: 'ripcord-test-w1', TEMPORAL_NAMESPACE: 'ripcord-test-w1' };
    expect(refuseUnlessTestTargets(noTestUrls)).toBe('RIPCORD_TEST_DATABASE_URL and RIPCORD_TEST_REDIS_URL are not set');
  });

  it('still refuses a test database not ending in _test, and Redis indexes the server does not have', () => {
    const dev = { ...env, RIPCORD_TEST_DATABASE_URL: devDb, RIPCORD_TEST_MIGRATION_DATABASE_URL: undefined };
    const devWorker = { ...dev, ...workerTargets(dev, 1), RIPCORD_TEST_WORKER: '1' };
    expect(devWorker.DATABASE_URL).toBe(devDb); // nothing to insert before a _test that is not there
    expect(refuseUnlessTestTargets(devWorker)).toBe('the database "ripcord" does not end in _test');
    expect(refuseUnlessTestTargets(worker(15))).toBe('Redis database index 16 does not exist (a server has 16: fewer test workers)');
    // An external Redis whose test index wraps to 0 is the dev one: refused for the template and every worker.
    const wrapped = { ...env, RIPCORD_TEST_REDIS_URL: 'redis://127.0.0.1:6379/0' };
    expect(refuseUnlessTestTargets({ ...wrapped, DATABASE_URL: testDb, MIGRATION_DATABASE_URL: ownerTest, REDIS_URL: wrapped.RIPCORD_TEST_REDIS_URL })).toMatch(/index 0 is the dev stack's/);
  });

  it('lets a test flush Redis only through the guard', () => {
    expect(guardedRedisUrl(worker(2))).toBe('redis://127.0.0.1:6379/3');
    expect(() => guardedRedisUrl({ ...worker(2), REDIS_URL: devRedis })).toThrow('Refusing to flush Redis: REDIS_URL is not RIPCORD_TEST_REDIS_URL of worker 2');
    expect(() => guardedRedisUrl({ ...stackEnv, DATABASE_URL: devDb, REDIS_URL: devRedis })).toThrow(/DATABASE_URL is not RIPCORD_TEST_DATABASE_URL/);
  });
});
