import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentToken, createFlag, createUser } from '../governance-helpers.js';
import { startStack, type Stack } from '../harness.js';

// Outcome events steer rollout guards, which roll back or pull
// the kill switch, so a client token (shipped to browsers) must not report them, and a report must name
// flags that exist in the reporter's environment.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({}, { worker: false });
});
afterAll(async () => {
  await stack?.close();
});

const errorsFor = (flag: string) => ({ events: [{ flag, variant: 'on', outcome: 'error', count: 1000 }] });

async function storedErrors(key: string): Promise<number> {
  const rows = await stack.db.query('SELECT coalesce(sum(errors), 0)::int AS errors FROM flag_events WHERE flag_key = $1', [key]);
  return rows.rows[0].errors;
}

describe('POST /api/v1/events', () => {
  it('refuses a client token with 403 and records nothing', async () => {
    const key = await createFlag(stack, 'outcome');
    const client = await createEnvironmentToken(stack, 'client', 'production');
    const refused = await stack.request('POST', '/api/v1/events', { token: client.token, body: errorsFor(key) });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect(await storedErrors(key)).toBe(0);
  });

  it('accepts a server token of the environment', async () => {
    const key = await createFlag(stack, 'outcome');
    const server = await createEnvironmentToken(stack, 'server', 'production');
    const accepted = await stack.request('POST', '/api/v1/events', { token: server.token, body: errorsFor(key) });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ accepted: 1, environment: 'production' });
    expect(await storedErrors(key)).toBe(1000);
  });

  it('refuses a batch naming an unknown or archived flag with 404 naming it, and records none of the batch', async () => {
    const key = await createFlag(stack, 'outcome');
    const archived = await createFlag(stack, 'outcome');
    expect((await stack.request('POST', `/api/v1/flags/${archived}/archive`, { body: {} })).status).toBe(200);
    const server = await createEnvironmentToken(stack, 'server', 'production');
    for (const ghost of ['no-such-flag-anywhere', archived]) {
      const body = { events: [{ flag: key, variant: 'on', outcome: 'error', count: 5 }, { flag: ghost, variant: 'on', outcome: 'error', count: 5 }] };
      const refused = await stack.request('POST', '/api/v1/events', { token: server.token, body });
      expect(refused.status).toBe(404);
      expect(refused.body.error.details).toEqual({ flags: [ghost] });
    }
    expect(await storedErrors(key)).toBe(0);
  });

  it('lets a user report only where they may change flags', async () => {
    const key = await createFlag(stack, 'outcome');
    const viewer = await createUser(stack, 'viewer');
    const stagingEditor = await createUser(stack, 'viewer', [{ resource: 'flag', action: 'write', conditions: { environments: ['staging'] } }]);
    const production = { environment: 'production', ...errorsFor(key) };
    expect((await stack.request('POST', '/api/v1/events', { token: viewer.token, body: production })).status).toBe(403);
    expect((await stack.request('POST', '/api/v1/events', { token: stagingEditor.token, body: production })).status).toBe(403);
    expect((await stack.request('POST', '/api/v1/events', { token: stagingEditor.token, body: { ...production, environment: 'staging' } })).status).toBe(202);
    expect(await storedErrors(key)).toBe(1000);
  });
});
