import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type Stack } from './harness.js';
import { createFlag, createUser } from './governance-helpers.js';

/**
 * The rules every write obeys, whatever the entry point, where a probe found them bent: approvals
 * that no longer count at apply. Each case failed before its fix.
 */

let stack: Stack;
const ENV = 'staging';
const POLICY = `/api/v1/environments/${ENV}/change-policy`;
const configPath = (key: string) => `/api/v1/flags/${key}/environments/${ENV}`;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  if (stack) expect((await stack.request('PUT', POLICY, { body: { required_approvals: 0 } })).status).toBe(200);
  await stack?.close();
});

async function settled(id: string, status: string) {
  return eventually(async () => {
    const request = (await stack.request('GET', `/api/v1/change-requests/${id}`)).body;
    return request.status === status ? request : undefined;
  }, `change request ${id} to be ${status}`, 30_000);
}

describe('approvals at apply', () => {
  it('an approver demoted after approving no longer counts: the request fails and nothing is written', async () => {
    const author = await createUser(stack, 'editor');
    const first = await createUser(stack, 'editor');
    const second = await createUser(stack, 'editor');
    const key = await createFlag(stack, 'wp-demoted');
    expect((await stack.request('PUT', POLICY, { body: { required_approvals: 2 } })).status).toBe(200);
    const before = (await stack.request('GET', configPath(key))).body.version;
    const made = await stack.request('PUT', configPath(key), { token: author.token, body: { enabled: true, value: true, off_value: false } });
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    const id = made.body.change_request.id as string;
    expect((await stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: first.token, body: {} })).body.status).toBe('pending');
    // Still an active user, but no longer one who may change flags in staging: what the policy asks of approvers.
    expect((await stack.request('PATCH', `/api/v1/users/${first.id}`, { body: { role: 'viewer', reason: 'moved to support' } })).status).toBe(200);
    expect((await stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: second.token, body: {} })).body.status).toBe('approved');
    const failed = await settled(id, 'failed');
    expect(failed.outcome).toMatch(/approval of Test editor no longer counts: only users who may change flags in 'staging' may approve/);
    expect((await stack.request('GET', configPath(key))).body).toMatchObject({ version: before, enabled: false });
  });
});
