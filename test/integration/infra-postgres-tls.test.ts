import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { postgresPoolConfig } from '../../src/connections/postgres.js';
import { createDatabase } from '../../src/connections/database.js';
import { ADMIN_TOKEN, eventually, uniqueKey } from './harness.js';
import { freePort, httpCall, InfraProcesses, makeCertificates, portAccepts, type Managed } from './infra-processes.js';

/**
 * PostgreSQL over TLS for real. A PostgreSQL cluster of this test's own (Debian's server,
 * initdb in a temporary directory) accepts only TLS connections (`hostssl`, and `hostnossl … reject`)
 * with a certificate from a CA the test makes. The settings' sslmodes are checked against it, then
 * migrate and an API process run on it as the application role.
 */
const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const procs = new InfraProcesses();
const isRoot = process.getuid?.() === 0;
let certs: ReturnType<typeof makeCertificates>;
let port: number;
let postmaster: Managed | undefined;

function pgBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
  return `/usr/lib/postgresql/${versions.at(-1)}/bin`;
}

/** Runs a PostgreSQL program as the `postgres` user when we are root (the server refuses to run as root). */
function asPostgres(program: string, args: string[]) {
  return isRoot ? run('runuser', ['-u', 'postgres', '--', join(pgBin(), program), ...args], { cwd: '/' }) : run(join(pgBin(), program), args);
}

const url = (user: string, host: string, query: string) => `postgres://${user}@${host}:${port}/ripcord?${query}`;
const settings = (extra: Record<string, string>) => loadConfig({ ...process.env, ...extra });

async function sslInUse(databaseUrl: string, extra: Record<string, string>): Promise<boolean> {
  const db = createDatabase(postgresPoolConfig(settings({ DATABASE_URL: databaseUrl, ...extra }), { max: 1 }));
  try {
    return (await db.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl as boolean;
  } finally {
    await db.end();
  }
}

beforeAll(async () => {
  certs = makeCertificates(procs.dir, 'localhost');
  port = await freePort();
  const data = procs.path('pgdata');
  mkdirSync(data, { mode: 0o700 });
  if (isRoot) await run('chown', ['postgres:postgres', data]);
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=trust', '-E', 'UTF8', '--no-locale', '--no-sync', '--no-instructions']);
  // The server's key must belong to the server's user and be private to it.
  for (const [from, to] of [[certs.serverCert, 'server.crt'], [certs.serverKey, 'server.key']] as const) {
    copyFileSync(from, join(data, to));
    chmodSync(join(data, to), 0o600);
    if (isRoot) await run('chown', ['postgres:postgres', join(data, to)]);
  }
  procs.write('pg_hba.conf', 'local all all trust\nhostnossl all all 127.0.0.1/32 reject\nhostssl all all 127.0.0.1/32 trust\n');
  copyFileSync(procs.path('pg_hba.conf'), join(data, 'pg_hba.conf'));
  if (isRoot) await run('chown', ['postgres:postgres', join(data, 'pg_hba.conf')]);
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c ssl=on -c unix_socket_directories=${data} -c fsync=off`;
  postmaster = procs.start('postgres-tls', isRoot ? 'runuser' : join(pgBin(), 'postgres'),
    isRoot ? ['-u', 'postgres', '--', join(pgBin(), 'postgres'), '-D', data, ...options.split(' ')] : ['-D', data, ...options.split(' ')], { cwd: '/' });
  await eventually(() => portAccepts(port), 'the TLS PostgreSQL to accept connections', 30_000);
  await asPostgres('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', data, '-p', String(port), '-d', 'postgres', '-c', 'CREATE DATABASE ripcord', '-c', 'CREATE ROLE ripcord_app LOGIN']);
}, 120_000);

afterAll(async () => {
  await procs.stopAll();
});

describe('PostgreSQL over TLS', () => {
  it('refuses a connection without TLS: the server only accepts hostssl', async () => {
    await expect(sslInUse(url('postgres', '127.0.0.1', 'sslmode=disable'), {})).rejects.toThrow(/no encryption|pg_hba\.conf rejects/);
  });

  it('sslmode=require encrypts without checking the certificate', async () => {
    expect(await sslInUse(url('postgres', '127.0.0.1', 'sslmode=require'), {})).toBe(true);
  });

  it('verify-full checks the CA and the host name', async () => {
    expect(await sslInUse(url('postgres', 'localhost', 'sslmode=verify-full'), { DATABASE_SSL_CA: certs.ca })).toBe(true);
    // The certificate names localhost, not 127.0.0.1.
    await expect(sslInUse(url('postgres', '127.0.0.1', 'sslmode=verify-full'), { DATABASE_SSL_CA: certs.ca })).rejects.toThrow(/Hostname\/IP does not match|altnames/i);
    // A CA that did not sign the server's certificate.
    await expect(sslInUse(url('postgres', 'localhost', 'sslmode=verify-full'), { DATABASE_SSL_CA: procs.path('stranger-ca.pem') })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('verify-ca checks the CA but not the host name', async () => {
    expect(await sslInUse(url('postgres', '127.0.0.1', 'sslmode=verify-ca'), { DATABASE_SSL_CA: certs.ca })).toBe(true);
    await expect(sslInUse(url('postgres', '127.0.0.1', 'sslmode=verify-ca'), { DATABASE_SSL_CA: procs.path('stranger-ca.pem') })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('migrates as the owner and serves an API as the application role, every connection over verified TLS', async () => {
    const tls = { DATABASE_SSL_MODE: 'verify-full', DATABASE_SSL_CA: certs.ca };
    const env = {
      ...tls,
      DATABASE_URL: url('ripcord_app', 'localhost', ''),
      MIGRATION_DATABASE_URL: url('postgres', 'localhost', ''),
    };
    const migrated = await run(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', 'migrate'], { cwd: root, env: { ...process.env, ...env } });
    expect(migrated.stdout).toContain('role ripcord_app granted');

    const apiPort = await freePort();
    await procs.startApi(apiPort, { ...env, TEMPORAL_TASK_QUEUE: uniqueKey('pg-tls') });
    const key = uniqueKey('tls');
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    expect((await httpCall(apiPort, 'POST', '/api/v1/flags', JSON.stringify({ key, name: key, type: 'boolean' }), auth)).status).toBe(201);
    const put = await httpCall(apiPort, 'PUT', `/api/v1/flags/${key}/environments/production`, JSON.stringify({ enabled: true, value: true, off_value: false }), auth);
    expect(put.status, put.text).toBe(200);
    await eventually(async () => {
      const answer = await httpCall(apiPort, 'POST', `/ofrep/v1/evaluate/flags/${key}`, JSON.stringify({ context: { targetingKey: 'u1' } }), auth);
      return answer.status === 200 && JSON.parse(answer.text).value === true;
    }, 'the flag to be served', 10_000);

    // Every client connection the API holds is encrypted (the server would refuse any other).
    const check = createDatabase(postgresPoolConfig(settings({ DATABASE_URL: url('postgres', 'localhost', ''), ...tls }), { max: 1 }));
    try {
      const rows = (await check.query(`SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.usename = 'ripcord_app'`)).rows;
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.ssl === true)).toBe(true);
    } finally {
      await check.end();
    }
    expect(postmaster?.child.exitCode).toBeNull();
  }, 120_000);
});
