import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { postgresPoolConfig } from '../../src/connections/postgres.js';
import { createDatabase, withTransaction } from '../../src/connections/database.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { freePort, InfraProcesses, portAccepts } from './infra-processes.js';
import { createFlag, onForEveryone } from './serving-helpers.js';

/**
 * PostgreSQL settings for production, against the stack's real server: the timeouts
 * are enforced by the server, sslmode is honoured, and a transaction-mode PgBouncer (Debian's) works
 * with DATABASE_POOLER=transaction while showing what it breaks otherwise.
 */
const procs = new InfraProcesses();
const appUrl = () => process.env.DATABASE_URL!;
const env = (extra: Record<string, string>) => loadConfig({ ...process.env, ...extra });

afterAll(async () => {
  await procs.stopAll();
});

describe('PostgreSQL connection settings', () => {
  it('enforces the statement timeout on the server', async () => {
    const db = createDatabase(postgresPoolConfig(env({ DATABASE_STATEMENT_TIMEOUT_SECONDS: '0.3', DATABASE_POOL_SIZE: '2' })));
    try {
      expect((await db.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('300ms');
      await expect(db.query('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: '57014' });
    } finally {
      await db.end();
    }
  });

  it('ends a session that idles inside a transaction, and the process survives it', async () => {
    const db = createDatabase(postgresPoolConfig(env({ DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS: '0.3' })));
    const watcher = new pg.Client({ connectionString: appUrl() });
    await watcher.connect();
    try {
      const outcome = withTransaction(db, async (tx) => {
        const pid = (await tx.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
        // Idle inside the transaction until the server terminates the session by itself.
        await eventually(async () => (await watcher.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0, 'the idle transaction to be ended', 10_000);
        await tx.query('SELECT 1');
      });
      await expect(outcome).rejects.toThrow();
      // The broken connection was discarded: the pool serves the next query on a fresh one.
      expect((await db.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await watcher.end();
      await db.end();
    }
  });

  // A server with TLS, used with sslmode=require, verify-ca and verify-full: infra-postgres-tls.test.ts.
  it('asks for TLS with sslmode=require: a server without TLS is refused', async () => {
    const probe = new pg.Client({ connectionString: appUrl() });
    await probe.connect();
    const serverTls = (await probe.query('SHOW ssl')).rows[0].ssl as string;
    await probe.end();
    // The stack's PostgreSQL (scripts/stack/postgres.sh) runs without TLS.
    expect(serverTls, 'this test needs the stack\'s PostgreSQL, which has no TLS').toBe('off');
    const db = createDatabase(postgresPoolConfig(env({ DATABASE_SSL_MODE: 'require', DATABASE_POOL_SIZE: '1' })));
    try {
      await expect(db.query('SELECT 1')).rejects.toThrow(/does not support SSL/);
    } finally {
      await db.end();
    }
  });
});

describe('through a transaction-mode PgBouncer', () => {
  let bouncerUrl = '';
  let stack: Stack | undefined;

  beforeAll(async () => {
    const target = new URL(appUrl());
    const port = await freePort();
    const user = decodeURIComponent(target.username);
    const database = target.pathname.slice(1);
    procs.write('userlist.txt', `"${user}" ""\n`);
    const ini = procs.write('pgbouncer.ini', [
      '[databases]',
      `${database} = host=${target.hostname} port=${target.port} dbname=${database} user=${user} password=${decodeURIComponent(target.password)}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1', `listen_port = ${port}`, "unix_socket_dir = ''",
      'auth_type = trust', `auth_file = ${procs.path('userlist.txt')}`,
      // Few server connections, so consecutive transactions of one client land on different ones.
      'pool_mode = transaction', 'default_pool_size = 2', 'max_client_conn = 100', '',
    ].join('\n'));
    // PgBouncer refuses to run as root; -u drops to nobody, which can read the files (0644) it needs.
    procs.start('pgbouncer', 'pgbouncer', process.getuid?.() === 0 ? ['-u', 'nobody', ini] : [ini]);
    await eventually(() => portAccepts(port), 'pgbouncer to listen', 15_000);
    target.port = String(port);
    target.password = '';
    bouncerUrl = target.toString();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('refuses the timeouts as connection parameters, so they must live on the role', async () => {
    const db = createDatabase(postgresPoolConfig(env({ DATABASE_URL: bouncerUrl, DATABASE_POOL_SIZE: '1' })));
    try {
      await expect(db.query('SELECT 1')).rejects.toThrow(/unsupported startup parameter: (statement_timeout|idle_in_transaction_session_timeout)/);
    } finally {
      await db.end();
    }
  });

  it('serves the API with DATABASE_POOLER=transaction: concurrent writes keep the audit chain whole, kills apply', async () => {
    stack = await startStack({ DATABASE_URL: bouncerUrl, DATABASE_POOLER: 'transaction', DATABASE_POOL_SIZE: '8' }, { worker: false });
    const key = uniqueKey('pooled');
    await createFlag(stack, key, onForEveryone);
    // The audit chain serialises writers with pg_advisory_xact_lock, which is transaction-scoped: fine here.
    const writes = await Promise.all(Array.from({ length: 16 }, (_, i) => stack!.request('PATCH', `/api/v1/flags/${key}`, { body: { description: `write ${i}` } })));
    expect(writes.map((write) => write.status).filter((status) => status !== 200 && status !== 412)).toEqual([]);
    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'through pgbouncer' } });
    expect(kill.status).toBe(201);
    const verify = await stack.request('GET', '/api/v1/audit/verify');
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ ok: true, first_broken: null });
  }, 60_000);

  it('refuses to migrate through the pooler without a direct MIGRATION_DATABASE_URL', async () => {
    const run = promisify(execFile);
    const outcome = await run(process.execPath, ['--import', 'tsx', 'src/main/migrate.ts'], {
      env: { ...process.env, DATABASE_URL: bouncerUrl, DATABASE_POOLER: 'transaction', MIGRATION_DATABASE_URL: '' },
    }).then(() => ({ code: 0, stderr: '' }), (error: { code: number; stderr: string }) => error);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/MIGRATION_DATABASE_URL: must be set \(a direct PostgreSQL URL\) when DATABASE_POOLER is transaction/);
  }, 60_000);
});
