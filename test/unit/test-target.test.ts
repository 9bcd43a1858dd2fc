import { describe, expect, it } from 'vitest';
import { refuseUnlessTestTargets } from '../integration/test-target.js';

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
