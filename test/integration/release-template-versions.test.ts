import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, uniqueKey, type Stack } from './harness.js';

/**
 * A release template's version guards its replace and delete like a flag's: `If-Match` with the version
 * read; a stale one answers 412 with the current version, changes nothing and writes no audit event.
 */

let stack: Stack;
const PHASES = [{ environment: 'staging', plan: { strategy: 'immediate', percentage: 10 } }];
const path = (name: string) => `/api/v1/release-templates/${name}`;

beforeAll(async () => {
  stack = await startStack({}, { worker: false });
});
afterAll(async () => {
  await stack?.close();
});

async function template(): Promise<{ name: string; version: number }> {
  const created = await stack.request('POST', '/api/v1/release-templates', { body: { name: uniqueKey('tpl-version'), phases: PHASES } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}
const events = async (name: string) =>
  (await stack.db.query(`SELECT action FROM audit_events WHERE resource_id = $1 AND action LIKE 'release_template.%' ORDER BY seq`, [name])).rows.map((r: { action: string }) => r.action);

describe('release template versions', () => {
  it('replaces with the version read; a stale one is 412 with the current version and changes nothing', async () => {
    const { name, version } = await template();
    const replaced = await stack.request('PUT', path(name), { body: { description: 'first', phases: PHASES }, headers: { 'if-match': `"${version}"` } });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    expect(replaced.body).toMatchObject({ description: 'first', version: version + 1 });

    const stale = await stack.request('PUT', path(name), { body: { description: 'second', phases: PHASES }, headers: { 'if-match': String(version) } });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toMatchObject({ code: 'VERSION_CONFLICT', details: { current_version: version + 1 } });
    expect((await stack.request('GET', path(name))).body).toMatchObject({ description: 'first', version: version + 1 });
    expect(await events(name)).toEqual(['release_template.created', 'release_template.updated']);

    // Without If-Match the last write wins, as before.
    expect((await stack.request('PUT', path(name), { body: { description: 'third', phases: PHASES } })).status).toBe(200);
  });

  it('deletes with the version read; a stale one is 412 and the template stays', async () => {
    const { name, version } = await template();
    const stale = await stack.request('DELETE', path(name), { headers: { 'if-match': String(version + 1) } });
    expect(stale.status).toBe(412);
    expect((await stack.request('GET', path(name))).status).toBe(200);
    expect((await stack.request('DELETE', path(name), { headers: { 'if-match': String(version) } })).status).toBe(204);
    expect((await stack.request('GET', path(name))).status).toBe(404);
    expect(await events(name)).toEqual(['release_template.created', 'release_template.deleted']);
  });

  it('names a malformed If-Match (400), and answers 404 for an unknown template whatever the version', async () => {
    const { name } = await template();
    const bad = await stack.request('PUT', path(name), { body: { phases: PHASES }, headers: { 'if-match': 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('headers.if-match');
    expect((await stack.request('DELETE', path(uniqueKey('tpl-none')), { headers: { 'if-match': '1' } })).status).toBe(404);
  });
});
