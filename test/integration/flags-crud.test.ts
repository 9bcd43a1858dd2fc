import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisProjection } from '../../src/cache/projection.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { auditEvents, createFlag } from './governance-helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const evaluate = (key: string, environment = 'production') =>
  stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'user-7' } }, headers: { 'x-environment': environment } });

describe('flags', () => {
  it('creates, reads, lists with filters and pages by cursor', async () => {
    const tag = uniqueKey('team').replace(/-/g, '_');
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) keys.push(await createFlag(stack, `list${i}`, [tag, i % 2 ? 'odd' : 'even']));
    keys.sort();
    await stack.request('PUT', `/api/v1/flags/${keys[0]}/environments/staging`, { body: { enabled: true, value: true, off_value: false } });

    const all = await stack.request('GET', `/api/v1/flags?tag=${tag}&limit=2`);
    expect(all.status).toBe(200);
    expect(all.body.flags.map((f: { key: string }) => f.key)).toEqual(keys.slice(0, 2));
    const page2 = await stack.request('GET', `/api/v1/flags?tag=${tag}&limit=2&cursor=${all.body.next_cursor}`);
    expect(page2.body.flags.map((f: { key: string }) => f.key)).toEqual(keys.slice(2, 4));
    const page3 = await stack.request('GET', `/api/v1/flags?tag=${tag}&limit=2&cursor=${page2.body.next_cursor}`);
    expect(page3.body.flags.map((f: { key: string }) => f.key)).toEqual(keys.slice(4));
    expect(page3.body.next_cursor).toBeNull();

    const both = await stack.request('GET', `/api/v1/flags?tag=${tag}&tag=odd`);
    expect(both.body.flags).toHaveLength(2);
    const enabled = await stack.request('GET', `/api/v1/flags?tag=${tag}&environment=staging&state=enabled`);
    expect(enabled.body.flags.map((f: { key: string }) => f.key)).toEqual([keys[0]]);
    expect(Object.keys(enabled.body.flags[0].environments)).toEqual(['staging']);
    const disabled = await stack.request('GET', `/api/v1/flags?tag=${tag}&environment=staging&state=disabled`);
    expect(disabled.body.flags).toHaveLength(4);
    const text = await stack.request('GET', `/api/v1/flags?q=${keys[3]}`);
    expect(text.body.flags.map((f: { key: string }) => f.key)).toEqual([keys[3]]);
    const wildcard = await stack.request('GET', `/api/v1/flags?tag=${tag}&q=%25`);
    expect(wildcard.body.flags).toHaveLength(0);
  });

  it('updates name, description and tags with If-Match on the flag version', async () => {
    const key = await createFlag(stack, 'patch');
    const read = await stack.request('GET', `/api/v1/flags/${key}`);
    expect(read.headers.get('etag')).toBe(`"${read.body.version}"`);
    const patched = await stack.request('PATCH', `/api/v1/flags/${key}`, {
      body: { name: 'Renamed', tags: ['search'], reason: 'reorg' }, headers: { 'if-match': `"${read.body.version}"` },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Renamed', tags: ['search'], version: read.body.version + 1 });
    const stale = await stack.request('PATCH', `/api/v1/flags/${key}`, { body: { name: 'Again', version: read.body.version } });
    expect(stale.status).toBe(412);
    expect(stale.body.error.details.current_version).toBe(read.body.version + 1);
    const [event] = await auditEvents(stack, { flag: key, action: 'flag.updated' });
    expect(event).toMatchObject({ reason: 'reorg', old_value: { name: key, tags: [] }, new_value: { name: 'Renamed', tags: ['search'] } });
  });

  it('accepts the whole config model in one PUT and serves it', async () => {
    const key = await createFlag(stack, 'model');
    const segment = uniqueKey('beta');
    expect((await stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['user-7'] } })).status).toBe(201);
    const config = {
      enabled: true, value: true, off_value: false,
      rules: [
        { id: 'internal', type: 'user_attribute', conditions: [{ field: 'email', operator: 'ends_with', value: '@ripcord.dev' }], action: 'enable', priority: 1 },
        { id: 'old-apps', type: 'custom', conditions: [{ field: 'version', operator: 'semver_less_than', value: '2.0.0' }], action: 'disable', priority: 2 },
      ],
      targeting: [{ id: 'beta', segments: [segment], percentage: 100 }],
      rollout: { percentage: 0, strategy: 'gradual' },
    };
    const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: config });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ ...config, version: expect.any(Number), kill_switch: { enabled: false } });
    const get = await stack.request('GET', `/api/v1/flags/${key}/environments/production`);
    expect(get.body).toMatchObject(config);
    const served = await eventually(async () => {
      const r = await evaluate(key);
      return r.body?.reason === 'SPLIT' || r.body?.reason === 'TARGETING_MATCH' ? r : undefined;
    }, 'the segment match to be served');
    expect(served.body).toMatchObject({ value: true });
  });

  it('refuses targeting that names an unknown segment, naming the field', async () => {
    const key = await createFlag(stack, 'ghostseg');
    const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, {
      body: { enabled: true, value: true, off_value: false, targeting: [{ segments: ['no-such-segment'] }] },
    });
    expect(put.status).toBe(400);
    expect(put.body.error.details).toEqual([{ path: 'body.targeting.0.segments.0', message: "segment 'no-such-segment' does not exist" }]);
  });

  it('copies a config between environments, keeping the target kill switch and audit trail', async () => {
    const key = await createFlag(stack, 'copy');
    const source = { enabled: true, value: true, off_value: false, rollout: { percentage: 25, strategy: 'gradual' } };
    expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { body: source })).status).toBe(200);
    const target = await stack.request('GET', `/api/v1/flags/${key}/environments/production`);
    const copy = await stack.request('POST', `/api/v1/flags/${key}/environments/production/copy`, {
      body: { from: 'staging', reason: 'promote' }, headers: { 'if-match': String(target.body.version) },
    });
    expect(copy.status).toBe(200);
    expect(copy.body).toMatchObject({ ...source, kill_switch: { enabled: false }, metadata: { environment: 'production' } });
    const stale = await stack.request('POST', `/api/v1/flags/${key}/environments/production/copy`, { body: { from: 'staging', version: target.body.version } });
    expect(stale.status).toBe(412);
    const same = await stack.request('POST', `/api/v1/flags/${key}/environments/staging/copy`, { body: { from: 'staging' } });
    expect(same.status).toBe(400);
    const [event] = await auditEvents(stack, { flag: key, action: 'flag.config.copied' });
    expect(event).toMatchObject({ environment: 'production', reason: 'promote', metadata: { from: 'staging' } });
  });

  it('archives a flag out of serving, unarchives it back, and deletes only archived flags', async () => {
    const key = await createFlag(stack, 'archive');
    await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false } });
    await eventually(async () => (await evaluate(key)).body?.value === true, 'the flag to be served');

    expect((await stack.request('DELETE', `/api/v1/flags/${key}`)).status).toBe(409);
    const archived = await stack.request('POST', `/api/v1/flags/${key}/archive`, { body: { reason: 'launched' } });
    expect(archived.status).toBe(200);
    expect(archived.body.archived).toBe(true);
    const gone = await evaluate(key);
    expect(gone.status).toBe(404);
    expect(gone.body.errorCode).toBe('FLAG_NOT_FOUND');
    // Redis holds the tombstone: another process reading the projection drops it as well.
    const redis = new Redis(stack.config.REDIS_URL);
    try {
      const { definitions } = await new RedisProjection(redis, stack.config.REDIS_PREFIX).readAll('production');
      expect(definitions.find((d) => d.key === key)).toMatchObject({ archived: true });
    } finally {
      redis.disconnect();
    }

    expect((await stack.request('GET', `/api/v1/flags/${key}`)).body.archived).toBe(true);
    expect((await stack.request('GET', '/api/v1/flags')).body.flags.map((f: { key: string }) => f.key)).not.toContain(key);
    expect((await stack.request('GET', `/api/v1/flags?state=archived&q=${key}`)).body.flags).toHaveLength(1);
    const write = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: false, value: true, off_value: false } });
    expect(write.status).toBe(409);
    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'x' } });
    expect(kill.status).toBe(404);

    const back = await stack.request('POST', `/api/v1/flags/${key}/unarchive`);
    expect(back.status).toBe(200);
    await eventually(async () => (await evaluate(key)).body?.value === true, 'the unarchived flag to be served again');

    await stack.request('POST', `/api/v1/flags/${key}/archive`);
    expect((await stack.request('DELETE', `/api/v1/flags/${key}`)).status).toBe(204);
    expect((await stack.request('GET', `/api/v1/flags/${key}`)).status).toBe(404);
    const trail = (await auditEvents(stack, { flag: key })).map((e) => e.action);
    expect(trail.slice(0, 5)).toEqual(['flag.deleted', 'flag.archived', 'flag.unarchived', 'flag.archived', 'flag.config.updated']);
  });

  it('lets exactly one of two writers with the same version win, and loses nothing', async () => {
    const key = await createFlag(stack, 'race');
    const { body: current } = await stack.request('GET', `/api/v1/flags/${key}/environments/staging`);
    const write = (value: boolean, rollout: number) =>
      stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, {
        body: { enabled: value, value: true, off_value: false, rollout: { percentage: rollout, strategy: 'gradual' } },
        headers: { 'if-match': `"${current.version}"` },
      });
    const results = await Promise.all([write(true, 10), write(false, 20)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    const winner = results.find((r) => r.status === 200)!;
    const after = await stack.request('GET', `/api/v1/flags/${key}/environments/staging`);
    expect(after.body).toMatchObject({ enabled: winner.body.enabled, rollout: winner.body.rollout, version: winner.body.version });
    expect(await auditEvents(stack, { flag: key, action: 'flag.config.updated' })).toHaveLength(1);
    // The loser retries with the new version and succeeds: nothing is lost.
    const loserRollout = winner.body.rollout.percentage === 10 ? 20 : 10;
    const retry = await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, {
      body: { enabled: true, value: true, off_value: false, rollout: { percentage: loserRollout, strategy: 'gradual' } },
      headers: { 'if-match': String(winner.body.version) },
    });
    expect(retry.status).toBe(200);
    expect(await auditEvents(stack, { flag: key, action: 'flag.config.updated' })).toHaveLength(2);
  });

  it('serialises many concurrent writers on the same version to exactly one winner', async () => {
    const key = await createFlag(stack, 'race10');
    const { body: current } = await stack.request('GET', `/api/v1/flags/${key}/environments/development`);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        stack.request('PUT', `/api/v1/flags/${key}/environments/development`, {
          body: { enabled: true, value: true, off_value: false, rollout: { percentage: i, strategy: 'gradual' } }, headers: { 'if-match': String(current.version) },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 412)).toHaveLength(9);
  });
});
