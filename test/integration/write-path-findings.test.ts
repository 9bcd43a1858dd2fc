import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type Stack } from './harness.js';
import { createEnvironmentToken, createFlag, createUser } from './governance-helpers.js';

/**
 * The rules every entry point obeys, where a probe found them bent: approvals that no longer count
 * at apply, a segment edit widening an approved change, a server token reading other environments, a stream ticket outliving its user. Each case
 * failed before its fix.
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

describe('segments named by approved changes', () => {
  it('a segment edited after the request was made makes the approved scheduled change conflict instead of widening it', async () => {
    const author = await createUser(stack, 'editor');
    const approver = await createUser(stack, 'editor');
    const key = await createFlag(stack, 'wp-segment');
    const segment = `canary-${key.slice(-8)}`;
    expect((await stack.request('POST', '/api/v1/segments', {
      body: { key: segment, name: 'Canary', kind: 'rule', conditions: [{ field: 'tier', operator: 'equals', value: 'canary' }] },
    })).status).toBe(201);
    expect((await stack.request('PUT', POLICY, { body: { required_approvals: 1 } })).status).toBe(200);
    const before = (await stack.request('GET', configPath(key))).body.version;
    const at = new Date(Date.now() + 8_000).toISOString();
    const made = await stack.request('POST', `${configPath(key)}/scheduled-changes`, {
      token: author.token,
      body: { at, config: { enabled: true, value: true, off_value: false, targeting: [{ id: 'canary', segments: [segment], percentage: 100 }], rollout: { percentage: 0, strategy: 'gradual' } } },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    const id = made.body.change_request.id as string;
    expect((await stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: approver.token, body: {} })).body.status).toBe('approved');
    // No live config targets the segment yet, and segments are not covered: the edit applies at once.
    const widened = await stack.request('PUT', `/api/v1/segments/${segment}`, { token: author.token, body: { conditions: [{ field: 'targetingKey', operator: 'exists' }] } });
    expect(widened.status, JSON.stringify(widened.body)).toBe(200);
    const conflicted = await settled(id, 'conflicted');
    expect(conflicted.outcome).toMatch(new RegExp(`segment '${segment}' changed after the request was made`));
    expect((await stack.request('GET', configPath(key))).body).toMatchObject({ version: before, enabled: false });
  });
});

describe('what a server token reads', () => {
  it('GET /api/v1/flags and /flags/{key} show a staging server token nothing of other environments', async () => {
    const key = await createFlag(stack, 'wp-scope');
    // Production serves something and has been evaluated: what a staging token must not learn.
    expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
    const server = await createEnvironmentToken(stack, 'server', ENV);
    const one = await stack.request('GET', `/api/v1/flags/${key}`, { token: server.token });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(Object.keys(one.body.environments)).toEqual([ENV]);
    expect(JSON.stringify(one.body)).not.toMatch(/production|development/);
    const list = await stack.request('GET', `/api/v1/flags?q=${key}`, { token: server.token });
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    const entry = list.body.flags.find((f: { key: string }) => f.key === key);
    expect(entry).toBeDefined();
    expect(JSON.stringify(entry)).not.toMatch(/production|development/);
    // A user who may read every environment still sees the lifecycle.
    expect((await stack.request('GET', `/api/v1/flags/${key}`)).body.lifecycle.environments).toHaveProperty('production');
  });
});

describe('stream tickets', () => {
  async function openWithTicket(ticket: string): Promise<number> {
    const aborter = new AbortController();
    try {
      const response = await fetch(`${stack.api.url}/api/v1/stream?ticket=${ticket}`, { signal: aborter.signal });
      return response.status;
    } finally {
      aborter.abort();
    }
  }
  const mint = async (token: string) => {
    const minted = await stack.request('POST', '/api/v1/stream/tickets', { token, body: { environments: [ENV] } });
    expect(minted.status, JSON.stringify(minted.body)).toBe(201);
    return minted.body.ticket as string;
  };

  it('a ticket minted before its user was deactivated opens nothing; an active user’s ticket opens the stream', async () => {
    const leaving = await createUser(stack, 'viewer');
    const ticket = await mint(leaving.token);
    expect((await stack.request('DELETE', `/api/v1/users/${leaving.id}`, { body: { reason: 'left' } })).status).toBe(200);
    expect(await openWithTicket(ticket)).toBe(401);

    const staying = await createUser(stack, 'viewer');
    expect(await openWithTicket(await mint(staying.token))).toBe(200);
  });
});
