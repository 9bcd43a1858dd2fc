import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startApiServer } from '../../src/main/api-server.js';
import { eventually, stackService, startStack, uniqueKey, type Stack } from './harness.js';
import { guardedRedisUrl } from './test-target.js';
import { createFlag, createToken, onForEveryone, putConfig } from './serving-helpers.js';

let stack: Stack;
let redis: Redis;
let clientToken: string;

beforeAll(async () => {
  stack = await startStack();
  // The one test below that empties Redis flushes only what the wipe guard accepts: this worker's index.
  redis = new Redis(guardedRedisUrl(), { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  clientToken = await createToken(stack.db, 'client');
});
afterAll(async () => {
  // Whatever happened above, leave the services running for the next file.
  await stackService('up', 'redis');
  await stackService('up', 'postgres');
  redis?.disconnect();
  await stack?.close();
});

const evaluate = (key: string, url = stack.api.url) =>
  fetch(`${url}/ofrep/v1/evaluate/flags/${key}`, {
    method: 'POST', headers: { authorization: `Bearer ${clientToken}`, 'content-type': 'application/json' }, body: '{"context":{"targetingKey":"u1"}}',
  }).then(async (response) => ({ status: response.status, body: (await response.json()) as { value?: unknown; reason?: string } }));

const readyz = async (url = stack.api.url) => {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, { status: string; error?: string }> } };
};

describe('Postgres down', () => {
  it('keeps evaluating and answers writes with 503 and a clear message', async () => {
    const key = uniqueKey('pg-down');
    await createFlag(stack, key, onForEveryone);
    await eventually(async () => (await evaluate(key)).body.value === true, 'the flag to serve');
    try {
      await stackService('down', 'postgres');
      for (let i = 0; i < 5; i++) expect(await evaluate(key)).toMatchObject({ status: 200, body: { value: true } });
      const bulk = await fetch(`${stack.api.url}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: { authorization: `Bearer ${clientToken}` }, body: '{}' });
      expect(bulk.status).toBe(200);

      const write = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { ...onForEveryone, enabled: false } });
      expect(write.status).toBe(503);
      expect(write.body.error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/database is unavailable/i) });
      const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'db down' } });
      expect(kill.status).toBe(503);
      expect((await readyz()).body.checks.postgres?.status).toBe('down');
    } finally {
      await stackService('up', 'postgres');
    }
    // The refused write was not applied; an accepted one after recovery is.
    expect((await evaluate(key)).body.value).toBe(true);
    await eventually(async () => (await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { ...onForEveryone, enabled: false } })).status === 200, 'writes to work again', 30_000);
    await eventually(async () => (await evaluate(key)).body.value === false, 'the write after recovery to serve');
  });
});

describe('Redis down', () => {
  it('keeps evaluating from L1 as STALE, reports not ready, and re-syncs by itself after Redis returns (bounded polls, no stopwatch)', async () => {
    const key = uniqueKey('redis-down');
    await createFlag(stack, key, onForEveryone);
    await eventually(async () => (await evaluate(key)).body.value === true, 'the flag to serve');
    let written: number;
    try {
      await stackService('down', 'redis');
      for (let i = 0; i < 5; i++) expect(await evaluate(key)).toMatchObject({ status: 200, body: { value: true } });
      const ready = await eventually(async () => {
        const probe = await readyz();
        return probe.body.checks.redis?.status === 'down' ? probe : undefined;
      }, '/readyz to report Redis down');
      expect(ready.status).toBe(503);
      // The subscription is gone: the replica serves its last snapshot, says so, and leaves the load balancer.
      expect(ready.body.status).toBe('not_ready');
      expect(ready.body.checks.snapshot?.error).toMatch(/stale: the Redis change subscription is down/);
      expect(await evaluate(key)).toMatchObject({ status: 200, body: { value: true, reason: 'STALE' } });
      const metrics = await (await fetch(`${stack.api.url}/metrics`)).text();
      expect(metrics).toMatch(/^ripcord_snapshot_stale 1$/m);
      // A write is accepted by Postgres while Redis is away; it must not be lost.
      written = await putConfig(stack, key, { ...onForEveryone, enabled: false });
    } finally {
      await stackService('up', 'redis');
    }
    expect(written).toBeGreaterThan(0);
    await eventually(async () => (await evaluate(key)).body.value === false, 'the write made during the outage to be served', 10_000);
    const other = uniqueKey('redis-back');
    await createFlag(stack, other, onForEveryone);
    const laggy = await startApiServer({ ...stack.config, PORT: 0 }, createLogger('silent'));
    try {
      await eventually(async () => (await evaluate(other, laggy.url)).body.value === true, 'a fresh process to load from the rebuilt projection');
    } finally {
      await laggy.close();
    }
    await eventually(async () => (await readyz()).status === 200, '/readyz to be ready again');
    expect((await evaluate(key)).body).toMatchObject({ value: false, reason: 'DISABLED' });
  });

  it('rebuilds a projection that Redis lost (restarted empty) from Postgres without anyone acting', async () => {
    const key = uniqueKey('redis-empty');
    const version = await createFlag(stack, key, onForEveryone);
    await redis.flushdb();
    const definition = await eventually(async () => {
      const json = await redis.hget(`${stack.config.REDIS_PREFIX}:env:production:flags`, key);
      return json ? (JSON.parse(json) as { version: number }) : undefined;
    }, 'the projection to be rebuilt');
    expect(definition.version).toBe(version);
    expect(Number(await redis.get(`${stack.config.REDIS_PREFIX}:env:production:version`))).toBeGreaterThanOrEqual(version);
    expect((await evaluate(key)).body.value).toBe(true);
  });
});

describe('a replica that falls behind', () => {
  it('stops reporting ready while its snapshot trails the projection, and is ready again once caught up', async () => {
    const replica = await startApiServer({ ...stack.config, PORT: 0, MAX_SNAPSHOT_LAG_SECONDS: 1 }, createLogger('silent'));
    try {
      await eventually(async () => (await readyz(replica.url)).status === 200, 'the replica to be ready');
      const key = uniqueKey('lagging');
      replica.sync.stop(); // as if its subscription and reconciliation had silently died
      await createFlag(stack, key, onForEveryone);
      const probe = await eventually(async () => {
        const answer = await readyz(replica.url);
        return answer.status === 503 ? answer : undefined;
      }, 'the lagging replica to report not ready', 10_000);
      expect(probe.body.status).toBe('not_ready');
      // Whichever it notices first: the projection moved on without it, or it has not synced for too long.
      expect(probe.body.checks.snapshot?.error).toMatch(/trails the projection: .*production serves version \d+ < projected \d+|stale: no sync with Redis for/);
      expect((await evaluate(key, replica.url)).status).toBe(404);

      await replica.sync.resume();
      expect((await readyz(replica.url)).status).toBe(200);
      expect((await evaluate(key, replica.url)).body.value).toBe(true);
    } finally {
      await replica.close();
    }
  });
});
