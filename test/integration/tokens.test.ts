import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startApiServer } from '../../src/main/api-server.js';
import { eventually, startStack, type Stack } from './harness.js';
import { createEnvironmentToken, createFlag, createUser } from './governance-helpers.js';

let stack: Stack;
let key: string;
beforeAll(async () => {
  stack = await startStack();
  key = await createFlag(stack, 'tokens');
  // Different answers per environment, so a token's environment shows in what it gets.
  for (const [environment, enabled] of [['staging', true], ['production', false]] as const) {
    const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/${environment}`, { body: { enabled, value: true, off_value: false } });
    expect(put.status).toBe(200);
  }
});
afterAll(async () => {
  await stack?.close();
});

const evaluate = (token: string, headers: Record<string, string> = {}) =>
  stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'u-1' } }, token, headers });

describe('API tokens', () => {
  it('shows the secret once, with its kind in the prefix, and stores only a hash', async () => {
    const created = await stack.request('POST', '/api/v1/tokens', { body: { name: 'checkout service', kind: 'server', environment: 'staging' } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^rc_server_[A-Za-z0-9_-]{32}$/);
    expect(created.body).toMatchObject({ kind: 'server', environment: 'staging', user_id: null, revoked_at: null, prefix: created.body.token.slice(0, 14) });
    const read = await stack.request('GET', `/api/v1/tokens/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.token).toBeUndefined();
    const stored = await stack.db.query('SELECT token_hash FROM api_tokens WHERE id = $1', [created.body.id]);
    expect(stored.rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored.rows[0])).not.toContain(created.body.token);
    const listed = await stack.request('GET', '/api/v1/tokens?kind=server&environment=staging');
    expect(listed.body.tokens.map((t: { id: string }) => t.id)).toContain(created.body.id);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
  });

  it('lets a client token evaluate but not read definitions or write', async () => {
    const { token } = await createEnvironmentToken(stack, 'client', 'staging');
    const evaluation = await evaluate(token);
    expect(evaluation.status).toBe(200);
    expect(evaluation.body).toMatchObject({ key, value: true });
    for (const [method, path, body] of [
      ['GET', `/api/v1/flags/${key}`, undefined],
      ['GET', `/api/v1/flags/${key}/environments/staging`, undefined],
      ['GET', '/api/v1/flags', undefined],
      ['GET', '/api/v1/segments', undefined],
      ['GET', '/api/v1/audit', undefined],
      ['PUT', `/api/v1/flags/${key}/environments/staging`, { enabled: false, value: true, off_value: false }],
      ['POST', '/api/v1/flags', { key: 'nope', name: 'nope', type: 'boolean' }],
      ['POST', `/api/v1/flags/${key}/environments/staging/kill-switch`, { reason: 'no' }],
      ['POST', '/api/v1/tokens', { name: 'x', kind: 'client', environment: 'staging' }],
    ] as const) {
      const response = await stack.request(method, path, { token, body });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body.error.code).toBe('FORBIDDEN');
    }
  });

  it('lets a server token read definitions of its own environment only', async () => {
    const { token } = await createEnvironmentToken(stack, 'server', 'staging');
    expect((await evaluate(token)).status).toBe(200);
    const config = await stack.request('GET', `/api/v1/flags/${key}/environments/staging`, { token });
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({ key, enabled: true });
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`, { token })).status).toBe(403);
    const flag = await stack.request('GET', `/api/v1/flags/${key}`, { token });
    expect(Object.keys(flag.body.environments)).toEqual(['staging']);
    const list = await stack.request('GET', '/api/v1/flags?environment=production', { token });
    expect(list.status).toBe(200);
    for (const f of list.body.flags) expect(Object.keys(f.environments)).toEqual(['staging']);
    const write = await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { token, body: { enabled: false, value: true, off_value: false } });
    expect(write.status).toBe(403);
  });

  it("keeps a staging token in staging: it can't evaluate production", async () => {
    const { token } = await createEnvironmentToken(stack, 'client', 'staging');
    // Production serves false (disabled); staging true. The header can't move the token.
    const response = await evaluate(token, { 'x-environment': 'production' });
    // Refused: 403, and OFREP's 403 has no body (so nothing of production's value).
    expect(response.status).toBe(403);
    expect(response.body).toBeUndefined();
    // Without the header it evaluates in its own environment.
    expect((await evaluate(token)).body).toMatchObject({ key, value: true });
  });

  it('fails a revoked token at once, and says so in the audit log', async () => {
    const { token, id } = await createEnvironmentToken(stack, 'client', 'staging');
    expect((await evaluate(token)).status).toBe(200);
    const revoke = await stack.request('DELETE', `/api/v1/tokens/${id}`, { body: { reason: 'leaked in a log' } });
    expect(revoke.status).toBe(200);
    expect(revoke.body.revoked_at).not.toBeNull();
    // The very next request, through the same process that had the token cached.
    expect((await evaluate(token)).status).toBe(401);
    expect((await stack.request('DELETE', `/api/v1/tokens/${id}`)).status).toBe(409);
    const events = await stack.request('GET', `/api/v1/audit?resource_type=token&resource_id=${id}`);
    expect(events.body.events.map((e: { action: string }) => e.action)).toEqual(['token.revoked', 'token.created']);
    expect(events.body.events[0]).toMatchObject({ reason: 'leaked in a log' });
  });

  it('fails a revoked token in every API process by message, not by cache expiry', async () => {
    // The second process caches tokens for 10 minutes: only the revocation message can make it refuse.
    const other = await startApiServer(stack.config, createLogger('silent', 'second-api'), { tokenCacheTtlMs: 600_000 });
    try {
      const { token, id } = await createEnvironmentToken(stack, 'server', 'staging');
      const viaOther = () => fetch(`${other.url}/api/v1/flags/${key}/environments/staging`, { headers: { authorization: `Bearer ${token}` } });
      expect((await viaOther()).status).toBe(200); // now cached in the second process
      expect((await stack.request('DELETE', `/api/v1/tokens/${id}`)).status).toBe(200);
      await eventually(async () => (await viaOther()).status === 401, 'the second process to refuse the revoked token');
    } finally {
      await other.close();
    }
  });

  it('fails a revoked admin token at once too, and a deactivated user loses every token', async () => {
    const user = await createUser(stack, 'editor');
    expect((await stack.request('GET', '/api/v1/users/me', { token: user.token })).body.id).toBe(user.id);
    const deactivate = await stack.request('DELETE', `/api/v1/users/${user.id}`);
    expect(deactivate.status).toBe(200);
    expect(deactivate.body.revoked_tokens).toBe(1);
    expect((await stack.request('GET', '/api/v1/users/me', { token: user.token })).status).toBe(401);
  });

  it('records last_used_at without a write per request', async () => {
    const { token, id } = await createEnvironmentToken(stack, 'client', 'staging');
    for (let i = 0; i < 20; i++) expect((await evaluate(token)).status).toBe(200);
    const used = await eventually(async () => (await stack.request('GET', `/api/v1/tokens/${id}`)).body.last_used_at, 'last_used_at to be flushed');
    expect(Date.parse(used)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('lets anyone make an admin token for themselves, only admins for others, and names bad fields', async () => {
    const viewer = await createUser(stack, 'viewer');
    const other = await createUser(stack, 'viewer');
    const own = await stack.request('POST', '/api/v1/tokens', { token: viewer.token, body: { name: 'mine', kind: 'admin' } });
    expect(own.status).toBe(201);
    expect(own.body.user_id).toBe(viewer.id);
    const theirs = await stack.request('POST', '/api/v1/tokens', { token: viewer.token, body: { name: 'theirs', kind: 'admin', user_id: other.id } });
    expect(theirs.status).toBe(403);
    const envToken = await stack.request('POST', '/api/v1/tokens', { token: viewer.token, body: { name: 'env', kind: 'client', environment: 'staging' } });
    expect(envToken.status).toBe(403);
    // A viewer sees their own tokens only.
    const listed = await stack.request('GET', '/api/v1/tokens', { token: viewer.token });
    expect(listed.body.tokens.every((t: { user_id: string }) => t.user_id === viewer.id)).toBe(true);
    // Bad input names the field.
    const cases: Array<[unknown, string]> = [
      [{ name: 'x', kind: 'client' }, 'body.environment'],
      [{ name: 'x', kind: 'client', environment: 'moon' }, 'body.environment'],
      [{ name: 'x', kind: 'admin' }, 'body.user_id'],
      [{ name: 'x', kind: 'client', environment: 'staging', user_id: viewer.id }, 'body.user_id'],
      [{ name: 'x', kind: 'root' }, 'body.kind'],
    ];
    for (const [body, path] of cases) {
      const response = await stack.request('POST', '/api/v1/tokens', { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
  });
});
