import { expect } from 'vitest';
import type { Grant, Role } from '../../src/auth/rbac.js';
import { uniqueKey, type Stack } from './harness.js';

/** A user made through the API (as the bootstrap admin), with an admin token that acts as them. */
export interface TestUser {
  id: string;
  token: string;
  tokenId: string;
}

export async function createUser(stack: Stack, role: Role, grants: Array<Partial<Grant> & Pick<Grant, 'resource' | 'action'>> = []): Promise<TestUser> {
  const created = await stack.request('POST', '/api/v1/users', {
    body: { email: `${uniqueKey(role)}@example.com`.toLowerCase(), name: `Test ${role}`, role, grants },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const token = await stack.request('POST', '/api/v1/tokens', { body: { name: `${role} token`, kind: 'admin', user_id: created.body.id } });
  expect(token.status, JSON.stringify(token.body)).toBe(201);
  return { id: created.body.id, token: token.body.token, tokenId: token.body.id };
}

/** A client or server token of one environment. */
export async function createEnvironmentToken(stack: Stack, kind: 'client' | 'server', environment: string): Promise<{ token: string; id: string }> {
  const response = await stack.request('POST', '/api/v1/tokens', { body: { name: `${kind} ${environment}`, kind, environment } });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return { token: response.body.token, id: response.body.id };
}

/** Creates a boolean flag (as the bootstrap admin) and returns its key. */
export async function createFlag(stack: Stack, prefix = 'flag', tags: string[] = []): Promise<string> {
  const key = uniqueKey(prefix);
  const response = await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean', tags } });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return key;
}

/** Audit events matching a query, newest first. */
export async function auditEvents(stack: Stack, query: Record<string, string>): Promise<Array<Record<string, unknown>>> {
  const response = await stack.request('GET', `/api/v1/audit?${new URLSearchParams({ limit: '500', ...query })}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.events;
}
