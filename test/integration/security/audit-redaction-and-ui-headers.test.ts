import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, type TestUser } from '../governance-helpers.js';
import { startStack, uniqueKey, type Stack } from '../harness.js';

// Callers without admin rights read /audit without webhook URLs' secrets and
// without other users' e-mail, role and grants; the admin UI carries a Content-Security-Policy and
// refuses framing; the production UI build publishes no source map.

let stack: Stack;
let viewer: TestUser;
let editor: TestUser;
const uiDist = fileURLToPath(new URL('../../../ui/dist', import.meta.url));

beforeAll(async () => {
  stack = await startStack({}, { worker: false });
  viewer = await createUser(stack, 'viewer');
  editor = await createUser(stack, 'editor', [{ resource: 'flag', action: 'write' }]);
});
afterAll(async () => {
  await stack?.close();
});

const auditAs = async (token: string | undefined, query: Record<string, string>) => {
  const response = await stack.request('GET', `/api/v1/audit?${new URLSearchParams({ limit: '500', ...query })}`, token === undefined ? {} : { token });
  expect(response.status).toBe(200);
  return response.body.events as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
};

describe('audit redaction for callers without admin rights', () => {
  it('cuts webhook URLs to their origin: no credentials, path token or query string', async () => {
    const url = 'http://hookuser:hook-pass-123@127.0.0.1:9/services/path-token-abc?key=query-secret-xyz';
    const hook = await stack.request('POST', '/api/v1/webhooks', { body: { url, events: ['flag.killed'] } });
    expect(hook.status).toBe(201);
    const patched = await stack.request('PATCH', `/api/v1/webhooks/${hook.body.id}`, { body: { url: `${url}&v=2` } });
    expect(patched.status).toBe(200);

    const seen = await auditAs(viewer.token, { resource_type: 'webhook', resource_id: hook.body.id });
    expect(seen.map((e) => e.action)).toEqual(['webhook.updated', 'webhook.created']);
    expect(seen[0]!.old_value.url).toBe('http://127.0.0.1:9/[redacted]');
    expect(seen[0]!.new_value.url).toBe('http://127.0.0.1:9/[redacted]');
    expect(seen[0]!.new_value.events).toEqual(['flag.killed']);
    for (const leak of ['hook-pass-123', 'path-token-abc', 'query-secret-xyz', 'hookuser']) expect(JSON.stringify(seen)).not.toContain(leak);

    const asAdmin = await auditAs(undefined, { resource_type: 'webhook', resource_id: hook.body.id });
    expect(asAdmin[1]!.new_value.url).toBe(url);
    await stack.request('DELETE', `/api/v1/webhooks/${hook.body.id}`);
  });

  it("hides other users' e-mail, role and grants, and other actors' e-mail, but not the caller's own", async () => {
    const other = await stack.request('POST', '/api/v1/users', {
      body: { email: `${uniqueKey('private')}@example.com`.toLowerCase(), name: 'Private Person', role: 'editor', grants: [{ resource: 'flag', action: 'write' }] },
    });
    expect(other.status).toBe(201);
    const email = other.body.email as string;
    expect((await stack.request('PUT', `/api/v1/users/${other.body.id}/grants`, { body: { grants: [{ resource: 'audit', action: 'read' }] } })).status).toBe(200);
    // An event acted by the editor: its actorEmail is the editor's.
    const key = uniqueKey('redaction');
    expect((await stack.request('POST', '/api/v1/flags', { token: editor.token, body: { key, name: key, type: 'boolean' } })).status).toBe(201);

    const aboutOther = await auditAs(viewer.token, { resource_type: 'user', resource_id: other.body.id });
    expect(aboutOther.map((e) => e.action).sort()).toEqual(['user.created', 'user.grants.updated']);
    const created = aboutOther.find((e) => e.action === 'user.created')!;
    expect(created.new_value).toMatchObject({ id: other.body.id, name: 'Private Person', email: '[redacted]', role: '[redacted]', grants: '[redacted]' });
    const grants = aboutOther.find((e) => e.action === 'user.grants.updated')!;
    expect([grants.old_value, grants.new_value]).toEqual(['[redacted]', '[redacted]']);
    expect(JSON.stringify(aboutOther)).not.toContain(email);

    const byEditor = await auditAs(viewer.token, { flag: key });
    expect(byEditor[0]).toMatchObject({ user_id: editor.id, actor_name: 'Test editor', actor_email: null });

    // The caller's own record stays readable; an admin reads everything.
    const own = await auditAs(viewer.token, { resource_type: 'user', resource_id: viewer.id });
    expect(own[0]!.new_value).toMatchObject({ role: 'viewer', email: expect.stringContaining('@example.com') });
    const asAdmin = await auditAs(undefined, { resource_type: 'user', resource_id: other.body.id });
    expect(asAdmin.find((e) => e.action === 'user.created')!.new_value).toMatchObject({ email, role: 'editor' });
    expect((await auditAs(undefined, { flag: key }))[0]!.actor_email).toMatch(/@example\.com$/);
  });
});

describe('admin UI headers and source maps', () => {
  const headersOf = async (path: string) => {
    const response = await fetch(`${stack.api.url}${path}`);
    expect(response.status, path).toBe(200);
    return { headers: response.headers, text: await response.text() };
  };

  it('sends a Content-Security-Policy without inline script, and refuses framing, on the index, deep links and assets', async () => {
    const index = await headersOf('/');
    const assets = [...index.text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    // The index holds no inline script for the policy to forbid.
    expect(index.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    for (const path of ['/', '/flags/some-flag/production', ...assets]) {
      const { headers } = await headersOf(path);
      const csp = headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(csp, path).toContain("connect-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(headers.get('x-frame-options'), path).toBe('DENY');
    }
  });

  it('publishes no source map: none in the build, no sourceMappingURL comment, no .map reachable', async () => {
    const files = readdirSync(join(uiDist, 'assets'));
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    for (const file of files.filter((f) => /\.(js|css)$/.test(f))) {
      expect(readFileSync(join(uiDist, 'assets', file), 'utf8'), file).not.toMatch(/[#@] sourceMappingURL=/);
      const map = await fetch(`${stack.api.url}/assets/${file}.map`);
      expect(map.status, `${file}.map`).toBe(404);
      expect(map.headers.get('content-type')).not.toMatch(/javascript|json/);
      await map.body?.cancel();
    }
    expect(existsSync(join(uiDist, 'index.html'))).toBe(true);
  });
});
