import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { auditEvents, createFlag } from './governance-helpers.js';

let stack: Stack;
let redis: Redis;
beforeAll(async () => {
  stack = await startStack();
  redis = new Redis(stack.config.REDIS_URL);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.close();
});

const evaluate = (key: string, context: Record<string, unknown>) =>
  stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context }, headers: { 'x-environment': 'production' } });

async function targetedFlag(segments: string[]): Promise<string> {
  const key = await createFlag(stack, 'seg-flag');
  const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, {
    body: { enabled: true, value: true, off_value: false, targeting: [{ id: 'cohort', segments, percentage: 100 }], rollout: { percentage: 0, strategy: 'gradual' } },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return key;
}

describe('segments', () => {
  it('serves a rule segment, and a change to its conditions reaches evaluation with a new flag version', async () => {
    const segment = uniqueKey('enterprise');
    const created = await stack.request('POST', '/api/v1/segments', {
      body: { key: segment, name: 'Enterprise', kind: 'rule', conditions: [{ field: 'tier', operator: 'equals', value: 'enterprise' }] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key: segment, kind: 'rule', user_count: null });
    const key = await targetedFlag([segment]);
    const before = await stack.request('GET', `/api/v1/flags/${key}/environments/production`);

    await eventually(async () => (await evaluate(key, { targetingKey: 'a', tier: 'enterprise' })).body?.value === true, 'the segment to match');
    expect((await evaluate(key, { targetingKey: 'a', tier: 'free' })).body.value).toBe(false);

    const update = await stack.request('PUT', `/api/v1/segments/${segment}`, {
      body: { conditions: [{ field: 'tier', operator: 'in', value: ['enterprise', 'pro'] }] }, headers: { 'if-match': String(created.body.version) },
    });
    expect(update.status).toBe(200);
    await eventually(async () => (await evaluate(key, { targetingKey: 'a', tier: 'pro' })).body?.value === true, 'the new conditions to be served');
    const after = await stack.request('GET', `/api/v1/flags/${key}/environments/production`);
    expect(after.body.version).toBeGreaterThan(before.body.version);
    const stale = await stack.request('PUT', `/api/v1/segments/${segment}`, { body: { name: 'x' }, headers: { 'if-match': String(created.body.version) } });
    expect(stale.status).toBe(412);
    const [event] = await auditEvents(stack, { resource_type: 'segment', resource_id: segment, action: 'segment.updated' });
    expect(event!.metadata).toMatchObject({ flags: [{ flag: key, environment: 'production' }] });
  });

  it('precomputes a 100 000-member list into a Redis set, keeps user_count current and serves membership', async () => {
    const segment = uniqueKey('beta-testers');
    expect((await stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['u-early'] } })).status).toBe(201);
    const members = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
    const upload = await fetch(`${stack.api.url}/api/v1/segments/${segment}/members`, {
      method: 'PUT', headers: { authorization: 'Bearer integration-test-admin-token', 'content-type': 'text/plain' }, body: members.join('\n'),
    });
    expect(upload.status).toBe(200);
    expect(((await upload.json()) as { user_count: number }).user_count).toBe(100_000);
    expect(await redis.scard(`${stack.config.REDIS_PREFIX}:segment:${segment}:members`)).toBe(100_000);
    expect(await redis.sismember(`${stack.config.REDIS_PREFIX}:segment:${segment}:members`, 'user-99999')).toBe(1);
    expect(await redis.sismember(`${stack.config.REDIS_PREFIX}:segment:${segment}:members`, 'u-early')).toBe(0);

    const member = await stack.request('GET', `/api/v1/segments/${segment}/members/user-4242`);
    expect(member.body).toEqual({ member: 'user-4242', in_segment: true, source: 'redis' });
    expect((await stack.request('GET', `/api/v1/segments/${segment}/members/nobody`)).body.in_segment).toBe(false);

    const key = await targetedFlag([segment]);
    await eventually(async () => (await evaluate(key, { targetingKey: 'user-77777' })).body?.value === true, 'a member to be served');
    expect((await evaluate(key, { targetingKey: 'user-100000' })).body.value).toBe(false);

    const change = await stack.request('POST', `/api/v1/segments/${segment}/members`, { body: { add: ['vip-1', 'user-1'], remove: ['user-77777'] } });
    expect(change.status).toBe(200);
    expect(change.body).toMatchObject({ added: 1, removed: 1, user_count: 100_000 });
    await eventually(async () => (await evaluate(key, { targetingKey: 'user-77777' })).body?.value === false, 'the removal to be served');
    expect((await evaluate(key, { targetingKey: 'vip-1' })).body.value).toBe(true);

    const page = await stack.request('GET', `/api/v1/segments/${segment}/members?limit=3`);
    expect(page.body.members).toEqual(['user-0', 'user-1', 'user-10']);
    const next = await stack.request('GET', `/api/v1/segments/${segment}/members?limit=2&cursor=${page.body.next_cursor}`);
    expect(next.body.members).toEqual(['user-100', 'user-1000']);
  });

  it('refuses to delete a segment in use, naming the flags, and deletes it once unused', async () => {
    const segment = uniqueKey('in-use');
    await stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['a'] } });
    const key = await targetedFlag([segment]);
    const refused = await stack.request('DELETE', `/api/v1/segments/${segment}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain(key);
    expect(refused.body.error.details).toEqual([{ flag: key, environment: 'production', archived: false }]);
    expect((await stack.request('GET', `/api/v1/segments/${segment}`)).body.used_by).toEqual([{ flag: key, environment: 'production', archived: false }]);

    await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false } });
    const deleted = await stack.request('DELETE', `/api/v1/segments/${segment}`, { body: { reason: 'cleanup' } });
    expect(deleted.status).toBe(204);
    expect((await stack.request('GET', `/api/v1/segments/${segment}`)).status).toBe(404);
    expect(await redis.exists(`${stack.config.REDIS_PREFIX}:segment:${segment}:members`)).toBe(0);
  });

  it('lists segments by kind and text with pagination, and names bad fields', async () => {
    const prefix = uniqueKey('lst');
    for (const kind of ['list', 'list', 'rule'] as const) {
      const body = kind === 'list' ? { key: uniqueKey(prefix), kind, members: [] } : { key: uniqueKey(prefix), kind, conditions: [{ field: 'country', operator: 'equals', value: 'NL' }] };
      expect((await stack.request('POST', '/api/v1/segments', { body })).status).toBe(201);
    }
    const lists = await stack.request('GET', `/api/v1/segments?q=${prefix}&kind=list&limit=1`);
    expect(lists.body.segments).toHaveLength(1);
    const more = await stack.request('GET', `/api/v1/segments?q=${prefix}&kind=list&limit=1&cursor=${lists.body.next_cursor}`);
    expect(more.body.segments).toHaveLength(1);
    expect(more.body.next_cursor).toBeNull();

    const cases: Array<[unknown, string]> = [
      [{ key: 'x y', kind: 'list' }, 'body.key'],
      [{ key: 'ok', kind: 'group' }, 'body.kind'],
      [{ key: 'ok', kind: 'rule', conditions: [] }, 'body.conditions'],
      [{ key: 'ok', kind: 'rule', conditions: [{ field: 'age', operator: 'greater_than', value: 'old' }] }, 'body.conditions.0.value'],
      [{ key: 'ok', kind: 'list', members: ['fine', ''] }, 'body.members.1'],
    ];
    for (const [body, path] of cases) {
      const response = await stack.request('POST', '/api/v1/segments', { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    const xml = await fetch(`${stack.api.url}/api/v1/segments/whatever/members`, {
      method: 'PUT', headers: { authorization: 'Bearer integration-test-admin-token', 'content-type': 'application/xml' }, body: '<a/>',
    });
    expect(xml.status).toBe(415);
  });

  it('rebuilds the segment projection from Postgres when Redis lost it', async () => {
    const segment = uniqueKey('rebuilt');
    await stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['m-1', 'm-2'] } });
    await redis.del(`${stack.config.REDIS_PREFIX}:segment:${segment}:members`, `${stack.config.REDIS_PREFIX}:segments:revision`, `${stack.config.REDIS_PREFIX}:segments:versions`, `${stack.config.REDIS_PREFIX}:segments:definitions`);
    await eventually(async () => (await redis.scard(`${stack.config.REDIS_PREFIX}:segment:${segment}:members`)) === 2, 'the reconciler to rebuild the set');
  });
});
