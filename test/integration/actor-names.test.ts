import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, uniqueKey, type Stack } from './harness.js';
import { createUser } from './governance-helpers.js';

/**
 * GET /api/v1/names: the names screens show for the actor ids the API answers — users (a viewer may
 * ask), the bootstrap admin, alert triggers as the audit log names them (a deleted one by the name its
 * audit events recorded), API tokens with their kind (revoked ones too); what is not known is left out.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe('actor names', () => {
  it('names users, the bootstrap admin, triggers (deleted too) and tokens (revoked too), leaves out what it does not know, and checks the ids', async () => {
    const editor = await createUser(stack, 'editor');
    const viewer = await createUser(stack, 'viewer');
    const key = uniqueKey('names');
    expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
    const trigger = await stack.request('POST', `/api/v1/flags/${key}/environments/staging/triggers`, { body: { name: 'Error rate', source: 'generic' } });
    expect(trigger.status).toBe(201);
    const deleted = await stack.request('POST', `/api/v1/flags/${key}/environments/staging/triggers`, { body: { name: 'Gone', source: 'generic' } });
    // Deleted, a trigger keeps the name its audit events recorded.
    expect((await stack.request('DELETE', `/api/v1/triggers/${deleted.body.id}`)).status).toBe(204);
    const server = await stack.request('POST', '/api/v1/tokens', { body: { name: 'deploy bot', kind: 'server', environment: 'staging' } });
    expect(server.status, JSON.stringify(server.body)).toBe(201);
    const revoked = await stack.request('POST', '/api/v1/tokens', { body: { name: 'old laptop', kind: 'admin', user_id: editor.id } });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(201);
    expect((await stack.request('DELETE', `/api/v1/tokens/${revoked.body.id}`)).status).toBe(200);
    const ids = [editor.id, 'bootstrap-admin', `trigger:${trigger.body.id}`, `trigger:${deleted.body.id}`, '00000000-0000-4000-8000-000000000000', 'trigger:nope', 'system', editor.id,
      `token:${server.body.id}`, `token:${revoked.body.id}`, 'token:00000000-0000-4000-8000-000000000000', `token:${trigger.body.id}`, `trigger:${server.body.id}`, 'token:nope'];
    const answer = await stack.request('GET', `/api/v1/names?ids=${encodeURIComponent(ids.join(','))}`, { token: viewer.token });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(new Map(answer.body.names.map((n: { id: string; name: string }) => [n.id, n.name]))).toEqual(new Map([
      [editor.id, 'Test editor'], ['bootstrap-admin', 'bootstrap admin (RIPCORD_ADMIN_TOKEN)'], [`trigger:${trigger.body.id}`, 'Error rate (alert trigger)'],
      [`trigger:${deleted.body.id}`, 'Gone (alert trigger, deleted)'], [`token:${server.body.id}`, 'deploy bot (server token)'], [`token:${revoked.body.id}`, 'old laptop (admin token, revoked)'],
    ]));
    const bad = await stack.request('GET', `/api/v1/names?ids=${Array.from({ length: 101 }, (_, i) => `u${i}`).join(',')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('query.ids');
    expect((await stack.request('GET', '/api/v1/names')).status).toBe(400);
    expect((await stack.request('GET', '/api/v1/names?ids=a,,b')).status).toBe(400);
  });
});
