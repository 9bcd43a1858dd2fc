import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentToken } from '../governance-helpers.js';
import { startStack, type Stack } from '../harness.js';
import { requestFrom } from './source-address.js';

// A public (client) token is shared by every browser of a site. One host flooding it used to spend
// the token's whole budget, so every other visitor got 429 too. Each address now gets a share of the
// budget (RATE_LIMIT_PER_ADDRESS_PER_SECOND), and what an address is refused costs the token nothing.

const TOKEN_BUDGET = 10;
const ADDRESS_SHARE = 5;
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ RATE_LIMIT_PER_SECOND: String(TOKEN_BUDGET), RATE_LIMIT_PER_ADDRESS_PER_SECOND: String(ADDRESS_SHARE) });
});
afterAll(async () => {
  await stack?.close();
});

const evaluation = { body: { context: { targetingKey: 'visitor' } } };

describe('each address gets a fair share of a client token', () => {
  it('refuses the flooding address and keeps serving another address with the same token', async () => {
    const { token } = await createEnvironmentToken(stack, 'client', 'staging');
    const flood = await Promise.all(Array.from({ length: 40 }, () => requestFrom('127.0.0.1', stack.api.url, 'POST', '/ofrep/v1/evaluate/flags', { token, ...evaluation })));
    const served = flood.filter((r) => r.status === 200).length;
    expect(flood.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    // Its burst, and at most what refilled meanwhile.
    expect(served).toBeGreaterThanOrEqual(ADDRESS_SHARE);
    expect(served).toBeLessThan(TOKEN_BUDGET);
    const refused = flood.find((r) => r.status === 429)!;
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    const native = await requestFrom('127.0.0.1', stack.api.url, 'POST', '/api/v1/evaluate', { token, ...evaluation });
    expect(native.status).toBe(429);
    expect(JSON.parse(native.body).error.message).toMatch(/from this address/);

    // Another visitor of the site, right after: served every time.
    for (let i = 0; i < ADDRESS_SHARE; i++) {
      expect((await requestFrom('127.0.0.2', stack.api.url, 'POST', '/ofrep/v1/evaluate/flags', { token, ...evaluation })).status).toBe(200);
    }
  });

  it('leaves server tokens (secret, used from a few backends) to the token budget alone', async () => {
    const { token } = await createEnvironmentToken(stack, 'server', 'staging');
    for (let i = 0; i < ADDRESS_SHARE + 3; i++) {
      expect((await requestFrom('127.0.0.1', stack.api.url, 'POST', '/ofrep/v1/evaluate/flags', { token, ...evaluation })).status).toBe(200);
    }
  });
});
