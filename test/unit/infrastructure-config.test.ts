import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { postgresPoolConfig } from '../../src/connections/postgres.js';
import { temporalConnectionOptions } from '../../src/connections/temporal.js';

const dir = mkdtempSync(join(tmpdir(), 'ripcord-config-'));
const pem = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const ca = pem('ca.pem', 'CA PEM');
const cert = pem('client.pem', 'CERT PEM');
const key = pem('client.key', 'KEY PEM');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The message of the ConfigError that loading `env` throws. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('Temporal connection settings', () => {
  it('connects in plain text by default', () => {
    expect(temporalConnectionOptions(loadConfig({}))).toEqual({ address: '127.0.0.1:7233' });
  });

  it('reads the CA, the client certificate pair and the server name for mTLS', () => {
    const options = temporalConnectionOptions(loadConfig({
      TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal',
    }));
    expect(options.address).toBe('temporal.internal:7233');
    expect(options.tls?.serverNameOverride).toBe('frontend.temporal');
    expect(Buffer.from(options.tls!.serverRootCACertificate!).toString()).toBe('CA PEM');
    expect(Buffer.from(options.tls!.clientCertPair!.crt).toString()).toBe('CERT PEM');
    expect(Buffer.from(options.tls!.clientCertPair!.key).toString()).toBe('KEY PEM');
  });

  it('turns TLS on with an API key (Temporal Cloud) and with TEMPORAL_TLS=on alone', () => {
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_API_KEY: 'cloud-key' }))).toEqual({ address: '127.0.0.1:7233', tls: {}, apiKey: 'cloud-key' });
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_TLS: 'on' }))).toEqual({ address: '127.0.0.1:7233', tls: {} });
  });

  it('refuses half a certificate pair, unreadable files and TLS settings with TLS off, naming the variable', () => {
    expect(refusal({ TEMPORAL_TLS_CERT: cert })).toMatch(/TEMPORAL_TLS_KEY: must be set with TEMPORAL_TLS_CERT/);
    expect(refusal({ TEMPORAL_TLS_KEY: key })).toMatch(/TEMPORAL_TLS_CERT: must be set with TEMPORAL_TLS_KEY/);
    expect(refusal({ TEMPORAL_TLS_CA: join(dir, 'missing.pem') })).toMatch(/TEMPORAL_TLS_CA: must be the path of a readable PEM file/);
    expect(refusal({ TEMPORAL_TLS: 'off', TEMPORAL_API_KEY: 'k' })).toMatch(/TEMPORAL_API_KEY: needs TLS, but TEMPORAL_TLS is off/);
    expect(refusal({ TEMPORAL_TLS_SERVER_NAME: 'not a name' })).toMatch(/TEMPORAL_TLS_SERVER_NAME: must be a host name/);
  });
});

describe('Redis connection settings', () => {
  it('takes sentinels with the master name, and refuses one without the other', () => {
    const config = loadConfig({ REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379', REDIS_SENTINEL_MASTER: 'ripcord' });
    expect(config.REDIS_SENTINELS).toBe('10.0.0.1:26379, 10.0.0.2:26379');
    expect(refusal({ REDIS_SENTINELS: '10.0.0.1:26379' })).toMatch(/REDIS_SENTINEL_MASTER: REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together/);
    expect(refusal({ REDIS_SENTINEL_MASTER: 'ripcord' })).toMatch(/REDIS_SENTINELS: REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together/);
    expect(refusal({ REDIS_SENTINELS: '10.0.0.1', REDIS_SENTINEL_MASTER: 'm' })).toMatch(/REDIS_SENTINELS: must be host:port pairs/);
  });

  it('takes a CA and client certificate for rediss:// only', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://cache:6380/0', REDIS_TLS_CA: ca }).REDIS_TLS_CA).toBe(ca);
    expect(refusal({ REDIS_URL: 'redis://cache:6379/0', REDIS_TLS_CA: ca })).toMatch(/REDIS_TLS_CA: needs a rediss:\/\/ REDIS_URL/);
    expect(refusal({ REDIS_URL: 'rediss://cache:6380/0', REDIS_TLS_CERT: cert })).toMatch(/REDIS_TLS_KEY: must be set with REDIS_TLS_CERT/);
  });
});

describe('PostgreSQL connection settings', () => {
  it('defaults to no TLS, a pool of 10, 30 s statements and 60 s idle transactions', () => {
    const pool = postgresPoolConfig(loadConfig({}));
    expect(pool).toMatchObject({ ssl: false, max: 10, statement_timeout: 30_000, idle_in_transaction_session_timeout: 60_000 });
  });

  it('maps sslmode as libpq does, from the URL or DATABASE_SSL_MODE, and keeps TLS parameters out of the URL', () => {
    const require = postgresPoolConfig(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/x?sslmode=require&application_name=a' }));
    expect(require.ssl).toEqual({ rejectUnauthorized: false });
    expect(require.connectionString).toBe('postgres://u:p@db:5432/x?application_name=a');
    const full = postgresPoolConfig(loadConfig({ DATABASE_URL: 'postgres://u:p@db/x', DATABASE_SSL_MODE: 'verify-full', DATABASE_SSL_CA: ca }));
    expect(full.ssl).toMatchObject({ rejectUnauthorized: true });
    expect(String((full.ssl as { ca: Buffer }).ca)).toBe('CA PEM');
    const verifyCa = postgresPoolConfig(loadConfig({ DATABASE_URL: `postgres://u:p@db/x?sslmode=verify-ca&sslrootcert=${ca}` }));
    expect(verifyCa.ssl).toMatchObject({ rejectUnauthorized: true });
    // verify-ca checks the chain but not the host name.
    expect((verifyCa.ssl as { checkServerIdentity: () => unknown }).checkServerIdentity()).toBeUndefined();
  });

  it('sets the pool size and timeouts, and sends no timeouts through a transaction-mode pooler', () => {
    expect(postgresPoolConfig(loadConfig({ DATABASE_POOL_SIZE: '25', DATABASE_STATEMENT_TIMEOUT_SECONDS: '2.5', DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS: '0' })))
      .toMatchObject({ max: 25, statement_timeout: 2_500 });
    expect(postgresPoolConfig(loadConfig({ DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS: '0' }))).not.toHaveProperty('idle_in_transaction_session_timeout');
    const pooled = postgresPoolConfig(loadConfig({ DATABASE_POOLER: 'transaction' }));
    expect(pooled).not.toHaveProperty('statement_timeout');
    expect(pooled).not.toHaveProperty('idle_in_transaction_session_timeout');
  });

  it('refuses contradictions and unsupported modes, naming the variable', () => {
    expect(refusal({ DATABASE_URL: 'postgres://db/x?sslmode=require', DATABASE_SSL_MODE: 'disable' })).toMatch(/DATABASE_SSL_MODE: says disable but DATABASE_URL says sslmode=require/);
    expect(refusal({ DATABASE_URL: 'postgres://db/x?sslmode=prefer' })).toMatch(/DATABASE_URL: sslmode "prefer" is not one of/);
    expect(refusal({ DATABASE_SSL_MODE: 'prefer' })).toMatch(/DATABASE_SSL_MODE: must be disable, require, verify-ca or verify-full/);
    expect(refusal({ DATABASE_SSL_MODE: 'require', DATABASE_SSL_CA: ca })).toMatch(/DATABASE_SSL_CA: is only used with DATABASE_SSL_MODE verify-ca or verify-full/);
    expect(refusal({ DATABASE_POOL_SIZE: '0' })).toMatch(/DATABASE_POOL_SIZE: /);
    expect(refusal({ DATABASE_POOLER: 'transaction', DATABASE_STATEMENT_TIMEOUT_SECONDS: '5' }))
      .toMatch(/DATABASE_STATEMENT_TIMEOUT_SECONDS: a transaction-mode pooler refuses it as a connection parameter/);
    expect(refusal({ DATABASE_POOLER: 'session' })).toMatch(/DATABASE_POOLER: /);
  });
});

describe('lifecycle settings', () => {
  it('has bounded defaults and refuses nonsense', () => {
    expect(loadConfig({})).toMatchObject({ HOST: '127.0.0.1', SHUTDOWN_READINESS_DELAY_SECONDS: 5, SHUTDOWN_TIMEOUT_SECONDS: 25, WORKER_SHUTDOWN_GRACE_SECONDS: 30, WORKER_STICKY_QUEUE_TIMEOUT_SECONDS: 3 });
    expect(refusal({ SHUTDOWN_TIMEOUT_SECONDS: '0' })).toMatch(/SHUTDOWN_TIMEOUT_SECONDS: /);
    expect(refusal({ WORKER_STICKY_QUEUE_TIMEOUT_SECONDS: '0' })).toMatch(/WORKER_STICKY_QUEUE_TIMEOUT_SECONDS: /);
    expect(refusal({ HOST: 'everywhere' })).toMatch(/HOST: must be an IP address/);
  });
});

describe('shared Redis and prebuilt workflows', () => {
  it('prefixes Redis keys and channels with ripcord unless told, and refuses a prefix that is not a plain name', () => {
    expect(loadConfig({}).REDIS_PREFIX).toBe('ripcord');
    expect(loadConfig({ REDIS_PREFIX: 'ripcord-test-w3' }).REDIS_PREFIX).toBe('ripcord-test-w3');
    for (const bad of ['Ripcord', 'a:b', '-x', 'a b', 'x'.repeat(64)]) expect(refusal({ REDIS_PREFIX: bad })).toMatch(/REDIS_PREFIX: /);
  });

  it('takes a readable workflow bundle file, and names an unreadable one', () => {
    const bundle = pem('workflow-bundle.js', '// bundled workflows');
    expect(loadConfig({ WORKFLOW_BUNDLE: bundle }).WORKFLOW_BUNDLE).toBe(bundle);
    expect(loadConfig({}).WORKFLOW_BUNDLE).toBeUndefined();
    expect(refusal({ WORKFLOW_BUNDLE: join(dir, 'missing.js') })).toMatch(/WORKFLOW_BUNDLE: must be the path of a readable workflow bundle/);
  });
});
