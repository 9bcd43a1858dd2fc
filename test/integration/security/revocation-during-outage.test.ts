import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentToken, createUser } from '../governance-helpers.js';
import { eventually, stackService, startStack, type Stack } from '../harness.js';

// While Postgres is down, the resilient authenticator serves the last principal it
// knew for a token. A revoked token (or a deactivated user's) must not come back through that memory.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stackService('up', 'postgres');
  await stack?.close();
});

const evaluate = (token: string) =>
  fetch(`${stack.api.url}/ofrep/v1/evaluate/flags`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"context":{"targetingKey":"u1"}}',
  }).then((response) => response.status);

describe('revocation wins over the outage fallback', () => {
  it('with Postgres stopped, a revoked token and a deactivated user\'s token are refused while a live token keeps working', async () => {
    const live = await createEnvironmentToken(stack, 'client', 'production');
    const revoked = await createEnvironmentToken(stack, 'server', 'production');
    const user = await createUser(stack, 'viewer');
    // Each is seen once, so the fallback knows all three.
    for (const token of [live.token, revoked.token, user.token]) expect(await evaluate(token)).toBe(200);

    expect((await stack.request('DELETE', `/api/v1/tokens/${revoked.id}`)).status).toBe(200);
    expect((await stack.request('DELETE', `/api/v1/users/${user.id}`)).status).toBe(200);
    // Past the token cache's lifetime would not matter: the fallback is what is asked once Postgres is gone.
    try {
      await stackService('down', 'postgres');
      await eventually(async () => (await stack.request('GET', '/readyz', { token: null })).status === 503, 'readiness to see Postgres down');
      expect(await evaluate(live.token)).toBe(200);
      expect(await evaluate(revoked.token)).not.toBe(200);
      expect(await evaluate(user.token)).not.toBe(200);
    } finally {
      await stackService('up', 'postgres');
    }
    expect(await evaluate(revoked.token)).toBe(401);
    expect(await evaluate(user.token)).toBe(401);
  });
});
