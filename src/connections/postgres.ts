import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import type { Config } from '../config.js';

export type PostgresSettings = Pick<Config, 'DATABASE_URL' | 'DATABASE_SSL_MODE' | 'DATABASE_SSL_CA' | 'DATABASE_POOL_SIZE' | 'DATABASE_STATEMENT_TIMEOUT_SECONDS' | 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS' | 'DATABASE_POOLER'>;

const SSL_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'];

/**
 * libpq's sslmode semantics, made explicit (node-postgres reads `sslmode=require` in a URL as
 * verify-full): require encrypts without checking the certificate, verify-ca checks it against
 * the CA, verify-full also checks the host name.
 */
function sslOptions(url: string, mode: string | undefined, caFile: string | undefined): false | ConnectionOptions {
  const params = new URL(url).searchParams;
  const sslmode = mode ?? params.get('sslmode') ?? 'disable';
  const caPath = caFile ?? params.get('sslrootcert') ?? undefined;
  const ca = caPath ? readFileSync(caPath) : undefined;
  switch (sslmode) {
    case 'require': return { rejectUnauthorized: false };
    case 'verify-ca': return { ...(ca ? { ca } : {}), rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full': return { ...(ca ? { ca } : {}), rejectUnauthorized: true };
    default: return false;
  }
}

/** DATABASE_URL without its TLS parameters: node-postgres lets the URL's win over `ssl`. */
function withoutSslParams(url: string): string {
  const parsed = new URL(url);
  for (const name of SSL_PARAMS) parsed.searchParams.delete(name);
  return parsed.toString();
}

/** The pool settings of one process: TLS, size and the server-side timeouts (in ms, as startup parameters). */
export function postgresPoolConfig(settings: PostgresSettings, overrides: { url?: string; max?: number } = {}): pg.PoolConfig {
  const url = overrides.url ?? settings.DATABASE_URL;
  const direct = settings.DATABASE_POOLER === 'none';
  const statementTimeout = settings.DATABASE_STATEMENT_TIMEOUT_SECONDS ?? (direct ? 30 : 0);
  const idleTimeout = settings.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS ?? (direct ? 60 : 0);
  return {
    connectionString: withoutSslParams(url),
    ssl: sslOptions(url, settings.DATABASE_SSL_MODE, settings.DATABASE_SSL_CA),
    max: overrides.max ?? settings.DATABASE_POOL_SIZE,
    ...(statementTimeout > 0 ? { statement_timeout: Math.round(statementTimeout * 1000) } : {}),
    ...(idleTimeout > 0 ? { idle_in_transaction_session_timeout: Math.round(idleTimeout * 1000) } : {}),
  };
}
