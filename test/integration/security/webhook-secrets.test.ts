import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { startWorkerProcess } from '../../../src/main/worker-process.js';
import { createSecretBox } from '../../../src/auth/secret-box.js';
import { parseSecretKey } from '../../../src/config-parsers.js';
import { startStack, type Stack } from '../harness.js';

// Webhook secrets are encrypted at rest (AES-256-GCM, WEBHOOK_SECRET_KEY); `migrate`
// encrypts the rows stored in plaintext before; the worker refuses to start without the key once
// webhooks exist; and a database error on a row carrying secrets never puts the row into the log.

const root = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);
const log: string[] = [];
let stack: Stack;
beforeAll(async () => {
  // The API's log, as the process writes it (JSON lines), captured here.
  stack = await startStack({ LOG_LEVEL: 'info' }, { worker: false, log: { write: (line: string) => void log.push(line) } });
});
afterAll(async () => {
  await stack?.close();
});

const rawSecret = async (id: string) => (await stack.ownerDb.query('SELECT secret FROM webhooks WHERE id = $1', [id])).rows[0].secret as string;

async function migrate(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const migrationUrl = stack.config.MIGRATION_DATABASE_URL ?? stack.config.DATABASE_URL;
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/main/migrate.ts'], {
      cwd: root, timeout: 120_000,
      env: { ...process.env, DATABASE_URL: stack.config.DATABASE_URL, MIGRATION_DATABASE_URL: migrationUrl, ...env },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe('webhook secrets at rest', () => {
  it('stores a secret encrypted: the raw column holds no plaintext, and the key decrypts it', async () => {
    const secret = 'receiver-shared-secret-0123456789';
    const hook = await stack.request('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['flag.killed'], secret } });
    expect(hook.status).toBe(201);
    expect(hook.body.secret).toBe(secret);
    const stored = await rawSecret(hook.body.id);
    expect(stored).toMatch(/^enc:v1:/);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(Buffer.from(secret).toString('base64').slice(0, 16));
    expect(createSecretBox(parseSecretKey(stack.config.WEBHOOK_SECRET_KEY!)).decrypt(stored)).toBe(secret);
    await stack.request('DELETE', `/api/v1/webhooks/${hook.body.id}`);
  });

  it('has migrate encrypt secrets stored in plaintext, and refuse to without the key', async () => {
    const plaintext = 'legacy-plaintext-secret-9876543210';
    const row = await stack.ownerDb.query(
      `INSERT INTO webhooks (url, secret, events, enabled, created_by) VALUES ('http://127.0.0.1:9/legacy', $1, '{flag.killed}', false, 'test') RETURNING id`,
      [plaintext],
    );
    const id = row.rows[0].id as string;
    try {
      const refused = await migrate({ WEBHOOK_SECRET_KEY: '' });
      expect(refused.code).toBe(2);
      expect(refused.output).toContain('WEBHOOK_SECRET_KEY must be set to encrypt the 1 webhook secret(s) stored in plaintext');
      expect(await rawSecret(id)).toBe(plaintext);

      const migrated = await migrate({ WEBHOOK_SECRET_KEY: stack.config.WEBHOOK_SECRET_KEY! });
      expect(migrated.code).toBe(0);
      expect(migrated.output).toContain('encrypted 1 webhook secret(s) stored in plaintext');
      const stored = await rawSecret(id);
      expect(stored).not.toContain(plaintext);
      expect(createSecretBox(parseSecretKey(stack.config.WEBHOOK_SECRET_KEY!)).decrypt(stored)).toBe(plaintext);
      // Idempotent: a second run finds nothing left in plaintext.
      expect((await migrate({ WEBHOOK_SECRET_KEY: stack.config.WEBHOOK_SECRET_KEY! })).output).not.toContain('encrypted');
    } finally {
      await stack.ownerDb.query('DELETE FROM webhooks WHERE id = $1', [id]);
    }
  });

  it('has the worker refuse to start without WEBHOOK_SECRET_KEY once a webhook exists, naming the variable', async () => {
    const hook = await stack.request('POST', '/api/v1/webhooks', { body: { url: 'http://127.0.0.1:9/hook', events: ['flag.killed'] } });
    expect(hook.status).toBe(201);
    try {
      const config = loadConfig({ ...process.env, WEBHOOK_SECRET_KEY: '', TEMPORAL_TASK_QUEUE: 'never-polled' });
      await expect(startWorkerProcess(config, createLogger('silent'))).rejects.toThrow(/WEBHOOK_SECRET_KEY must be set: \d+ webhook\(s\) have secrets/);
    } finally {
      await stack.request('DELETE', `/api/v1/webhooks/${hook.body.id}`);
    }
  });

  it('keeps a database error on a webhook row out of the log: no secret, no URL credentials, no row detail', async () => {
    const secret = 'never-in-any-log-secret-5550199';
    const url = 'http://hookuser:pa55w0rd-in-url@127.0.0.1:9/force-db-error?token=query-string-secret';
    // A constraint the row breaks: PostgreSQL's error then carries "Failing row contains (…)" with every column.
    await stack.ownerDb.query(`ALTER TABLE webhooks ADD CONSTRAINT refuse_for_log_test CHECK (url NOT LIKE '%force-db-error%') NOT VALID`);
    try {
      log.length = 0;
      const failed = await stack.request('POST', '/api/v1/webhooks', { body: { url, events: ['flag.killed'], secret } });
      expect(failed.status).toBe(500);
      const logged = log.join('');
      // The failure is logged (code and constraint), so an operator can act on it…
      expect(logged).toContain('23514');
      expect(logged).toContain('refuse_for_log_test');
      // …but never the row, the secret (plain or encrypted) or the URL's credentials.
      for (const leak of [secret, 'pa55w0rd-in-url', 'query-string-secret', 'Failing row', 'enc:v1:']) {
        expect(logged).not.toContain(leak);
        expect(JSON.stringify(failed.body)).not.toContain(leak);
      }
    } finally {
      await stack.ownerDb.query('ALTER TABLE webhooks DROP CONSTRAINT refuse_for_log_test');
    }
  });
});
