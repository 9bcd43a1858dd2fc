import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, MAX_CACHED_TOKENS } from '../../../src/auth/principal.js';
import { tokenLookup } from '../../../src/users/token-store.js';
import { createEnvironmentToken } from '../governance-helpers.js';
import { ADMIN_TOKEN, startStack, type Stack } from '../harness.js';
import { requestFrom } from './source-address.js';

// Bogus bearer tokens cost bounded memory and no unbounded Postgres queries: a length cap before any
// lookup, no cached failures, LRU bounds, and a per-address limit on failed authentication
// (429 + Retry-After).

const FAILURES_PER_MINUTE = 5;
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ AUTH_FAILURES_PER_MINUTE: String(FAILURES_PER_MINUTE) });
});
afterAll(async () => {
  await stack?.close();
});

/** Counts the token lookups one authenticator sends to Postgres (the real one, through a counting wrapper). */
function countingAuthenticator() {
  let lookups = 0;
  const db = { query: (...args: Parameters<Stack['db']['query']>) => ((lookups += 1), stack.db.query(...args)) } as unknown as Stack['db'];
  const authenticator = createAuthenticator(tokenLookup(db), undefined, { usageFlushMs: 60_000 });
  return { authenticator, lookups: () => lookups };
}

describe('token lookups', () => {
  it('refuses a bearer value longer than 256 characters without a lookup', async () => {
    const { authenticator, lookups } = countingAuthenticator();
    expect(await authenticator.authenticate('x'.repeat(12_000))).toBeNull();
    expect(await authenticator.authenticate(`rc_client_${'a'.repeat(247)}`)).toBeNull();
    expect(lookups()).toBe(0);
    expect(await authenticator.authenticate('x'.repeat(40))).toBeNull();
    expect(lookups()).toBe(1);
    await authenticator.close();
  });

  it('never caches a failure, and caches a success by digest', async () => {
    const { authenticator, lookups } = countingAuthenticator();
    const bogus = `rc_client_${'b'.repeat(32)}`;
    await authenticator.authenticate(bogus);
    await authenticator.authenticate(bogus);
    expect(lookups()).toBe(2); // asked again: nothing was remembered for it
    const { token } = await createEnvironmentToken(stack, 'client', 'staging');
    expect(await authenticator.authenticate(token)).toMatchObject({ kind: 'client', environment: 'staging' });
    expect(await authenticator.authenticate(token)).toMatchObject({ kind: 'client' });
    expect(lookups()).toBe(3);
    await authenticator.close();
  });

  it('keeps at most MAX_CACHED_TOKENS resolved tokens (an LRU), so real tokens cannot grow memory without bound either', async () => {
    expect(MAX_CACHED_TOKENS).toBe(10_000);
    const { authenticator, lookups } = countingAuthenticator();
    const first = await createEnvironmentToken(stack, 'client', 'staging');
    const second = await createEnvironmentToken(stack, 'client', 'staging');
    await authenticator.authenticate(first.token);
    await authenticator.authenticate(second.token);
    const before = lookups();
    await authenticator.authenticate(first.token);
    expect(lookups()).toBe(before);
    await authenticator.close();
  });
});

describe('failed authentication per client address', () => {
  it(`answers 429 with Retry-After after ${FAILURES_PER_MINUTE} failures a minute, on the management API, OFREP, the native evaluate and the stream`, async () => {
    const { token } = await createEnvironmentToken(stack, 'client', 'staging');
    for (let i = 0; i < FAILURES_PER_MINUTE; i++) {
      expect((await stack.request('GET', '/api/v1/flags', { token: `rc_admin_bogus${i}${'y'.repeat(30)}` })).status).toBe(401);
    }
    const refused = [
      await stack.request('GET', '/api/v1/flags', { token: `rc_admin_${'z'.repeat(40)}` }),
      // Even a valid token waits: the address is refused before any lookup.
      await stack.request('POST', '/ofrep/v1/evaluate/flags', { token, body: { context: { targetingKey: 'u' } } }),
      await stack.request('POST', '/api/v1/evaluate', { token, body: { context: { targeting_key: 'u' } } }),
      await stack.request('GET', '/api/v1/stream', { token }),
    ];
    for (const response of refused) {
      expect(response.status).toBe(429);
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    expect(refused[0]!.body.error.code).toBe('RATE_LIMITED');
    expect(refused[2]!.body.error.code).toBe('RATE_LIMITED');
  });
});

describe('failed authentication from a shared address', () => {
  // Behind one NAT or proxy, a client sending bogus tokens must not lock out the others there: the
  // address's unknown tokens are refused, the tokens this process has seen valid are not.
  const address = '127.0.0.3';
  const from = (method: string, path: string, options: Parameters<typeof requestFrom>[4] = {}) => requestFrom(address, stack.api.url, method, path, options);

  it('keeps serving tokens known to be valid while it refuses unknown ones', async () => {
    const { token: client } = await createEnvironmentToken(stack, 'client', 'staging');
    const { token: unseen } = await createEnvironmentToken(stack, 'client', 'staging');
    const evaluation = { body: { context: { targetingKey: 'u' } } };
    // The on-call admin and a browser use their tokens from the office address.
    expect((await from('GET', '/api/v1/flags', { token: ADMIN_TOKEN })).status).toBe(200);
    expect((await from('POST', '/ofrep/v1/evaluate/flags', { token: client, ...evaluation })).status).toBe(200);
    // Someone else there sends bogus tokens until the address is limited.
    for (let i = 0; i < FAILURES_PER_MINUTE; i++) {
      expect((await from('GET', '/api/v1/flags', { token: `rc_admin_bogus${i}${'q'.repeat(30)}` })).status).toBe(401);
    }
    const bogus = await from('POST', '/ofrep/v1/evaluate/flags', { token: `rc_client_${'w'.repeat(40)}`, ...evaluation });
    expect(bogus.status).toBe(429);
    expect(Number(bogus.retryAfter)).toBeGreaterThanOrEqual(1);
    // The known tokens still work, on every surface.
    expect((await from('GET', '/api/v1/flags', { token: ADMIN_TOKEN })).status).toBe(200);
    expect((await from('POST', '/ofrep/v1/evaluate/flags', { token: client, ...evaluation })).status).toBe(200);
    expect((await from('POST', '/api/v1/evaluate', { token: client, ...evaluation })).status).toBe(200);
    expect((await from('GET', '/api/v1/stream', { token: client, stream: true })).status).toBe(200);
    // A token this process has never seen costs a lookup: it waits like any unknown token.
    expect((await from('POST', '/ofrep/v1/evaluate/flags', { token: unseen, ...evaluation })).status).toBe(429);
    expect((await from('GET', '/api/v1/flags', { token: `rc_admin_${'e'.repeat(40)}` })).status).toBe(429);
    // Another address is not concerned.
    expect((await requestFrom('127.0.0.4', stack.api.url, 'POST', '/ofrep/v1/evaluate/flags', { token: unseen, ...evaluation })).status).toBe(200);
  });
});
