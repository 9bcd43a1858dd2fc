import pg from 'pg';

export type Database = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

// bigint columns (versions, sequence numbers) stay well below 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Opens a connection pool (a URL, or the settings from postgresPoolConfig); callers end it on shutdown. */
export function createDatabase(target: string | pg.PoolConfig, max = 10): Database {
  const settings = typeof target === 'string' ? { connectionString: target, max } : target;
  const pool = new pg.Pool({ connectionTimeoutMillis: 5_000, ...settings });
  // An idle client losing its server (Postgres restart) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs fn inside one transaction: commit on success, rollback on any error. */
export async function withTransaction<T>(db: Database, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  // The server may end the session while fn awaits something else (idle_in_transaction_session_timeout,
  // a restart): the next query then fails, but the client's 'error' event must not crash the process.
  let broken: Error | undefined;
  const onError = (error: Error) => (broken = error);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.off('error', onError);
    // A broken connection is discarded rather than returned to the pool.
    client.release(broken);
  }
}

/** Whether PostgreSQL answers (the readiness check): one round trip, no table read. */
export async function pingDatabase(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}
