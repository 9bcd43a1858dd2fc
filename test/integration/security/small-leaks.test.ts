import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentToken, createFlag, createUser } from '../governance-helpers.js';
import { startStack, type Stack } from '../harness.js';

// Small leaks closed: tokens of other users, the ?token= validity oracle, tokens
// made by a deactivated user, Retry-After on the native evaluate's 429, trusted proxies as a setting.

let stack: Stack;
let behindProxy: Stack;
beforeAll(async () => {
  stack = await startStack({ RATE_LIMIT_PER_SECOND: '1' });
  behindProxy = await startStack({ TRUSTED_PROXIES: 'loopback' }, { worker: false });
});
afterAll(async () => {
  await behindProxy?.close();
  await stack?.close();
});

describe('tokens of other users', () => {
  it('an editor can neither read nor revoke a token another user made; its maker and admins can', async () => {
    const maker = await createUser(stack, 'editor');
    const other = await createUser(stack, 'editor');
    const made = await stack.request('POST', '/api/v1/tokens', { token: maker.token, body: { name: 'mine', kind: 'server', environment: 'staging' } });
    expect(made.status).toBe(201);
    expect((await stack.request('GET', `/api/v1/tokens/${made.body.id}`, { token: other.token })).status).toBe(404);
    expect((await stack.request('DELETE', `/api/v1/tokens/${made.body.id}`, { token: other.token })).status).toBe(404);
    expect((await stack.request('GET', `/api/v1/tokens/${maker.tokenId}`, { token: other.token })).status).toBe(404);
    expect((await stack.request('GET', `/api/v1/tokens/${made.body.id}`, { token: maker.token })).status).toBe(200);
    expect((await stack.request('GET', `/api/v1/tokens/${made.body.id}`)).status).toBe(200);
  });

  it("deactivating a user revokes the client and server tokens they made, not only their own", async () => {
    const editor = await createUser(stack, 'editor');
    const made = await stack.request('POST', '/api/v1/tokens', { token: editor.token, body: { name: 'browser', kind: 'client', environment: 'staging' } });
    expect(made.status).toBe(201);
    const unrelated = await createEnvironmentToken(stack, 'client', 'staging');
    expect((await stack.request('DELETE', `/api/v1/users/${editor.id}`)).status).toBe(200);
    const token = await stack.request('GET', `/api/v1/tokens/${made.body.id}`);
    expect(token.body.revoked_at).not.toBeNull();
    expect((await stack.request('GET', `/api/v1/tokens/${unrelated.id}`)).body.revoked_at).toBeNull();
  });
});

describe('?token= on the stream', () => {
  it('answers a valid server or admin token exactly as an unknown one', async () => {
    const server = await createEnvironmentToken(stack, 'server', 'staging');
    const ask = async (token: string) => {
      const response = await fetch(`${stack.api.url}/api/v1/stream?token=${encodeURIComponent(token)}`);
      return { status: response.status, body: await response.text() };
    };
    const unknown = await ask(`rc_server_${'q'.repeat(32)}`);
    expect(unknown.status).toBe(401);
    expect(await ask(server.token)).toEqual(unknown);
    const admin = await createUser(stack, 'viewer');
    expect(await ask(admin.token)).toEqual(unknown);
  });
});

describe('native evaluate', () => {
  it('answers 429 with Retry-After when the token is over its rate', async () => {
    const { token } = await createEnvironmentToken(stack, 'client', 'staging');
    let limited: Awaited<ReturnType<Stack['request']>> | undefined;
    for (let i = 0; i < 5 && !limited; i++) {
      const response = await stack.request('POST', '/api/v1/evaluate', { token, body: { context: { targeting_key: 'u' } } });
      if (response.status === 429) limited = response;
    }
    expect(limited?.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('trusted proxies (TRUSTED_PROXIES)', () => {
  const changeWithForwardedFor = async (target: Stack) => {
    const key = await createFlag(target, 'xff');
    const put = await target.request('PUT', `/api/v1/flags/${key}/environments/staging`, {
      body: { enabled: true, value: true, off_value: false }, headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(put.status).toBe(200);
    const { rows } = await target.db.query(`SELECT ip_address FROM audit_events WHERE resource_id = $1 AND action = 'flag.config.updated'`, [key]);
    return rows[0].ip_address as string;
  };

  it('by default trusts no proxy: a forged X-Forwarded-For changes nothing', async () => {
    expect(await changeWithForwardedFor(stack)).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  });

  it('with TRUSTED_PROXIES=loopback, a proxy on loopback reports the client', async () => {
    expect(await changeWithForwardedFor(behindProxy)).toBe('203.0.113.9');
  });
});
