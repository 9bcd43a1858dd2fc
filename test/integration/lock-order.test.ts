/**
 * Lock order. Every transaction that locks a flag's config rows and its flag row takes the config
 * rows first (in environment order), as the kill switch, config updates, rollout steps and
 * scheduled changes do (lockFlagConfig, then the flag row as the write marks it changed). Archive,
 * unarchive and delete used to lock the flag row first and the config rows after: racing a kill or
 * a config update, each held what the other wanted and Postgres aborted one with a deadlock (a 500).
 * Segment edits re-version the configs that target the segment; they took the segment's row and
 * environment rows before those config rows, while a config write takes its config row before the
 * segments it names (FOR SHARE): the other way round, a deadlock again. Now a segment edit locks the
 * configs using it first, then the segment, then environment rows, then flag rows.
 * Here the paths run against one flag at once, in bounded loops: every answer is a success or an
 * honest refusal (404/409 while archived), never a 5xx, and Postgres counts no deadlock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag } from './serving-helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const ROUNDS = 12;

async function deadlocks(): Promise<number> {
  // Statistics are flushed by each backend within a second: read a fresh snapshot.
  await stack.db.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
  const { rows } = await stack.db.query('SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()');
  return rows[0].n as number;
}

describe('lock order between a flag row and its config rows', () => {
  it('archive/unarchive racing kills and config updates of the same flag: no deadlock, no 5xx', async () => {
    const key = uniqueKey('lock-order');
    await createFlag(stack, key, { enabled: true, value: true, off_value: false });
    const before = await deadlocks();
    const statuses: Array<{ path: string; status: number }> = [];
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await stack.request(method, path, { body: body ?? {} });
      statuses.push({ path: `${method} ${path.replace(key, '{key}')}`, status: response.status });
    };
    const config = `/api/v1/flags/${key}/environments/production`;

    const race = () => Promise.all([
      (async () => {
        for (let i = 0; i < ROUNDS; i++) {
          await call('POST', `/api/v1/flags/${key}/archive`);
          await call('POST', `/api/v1/flags/${key}/unarchive`);
        }
      })(),
      (async () => {
        for (let i = 0; i < ROUNDS * 2; i++) await call('PUT', config, { enabled: true, value: i % 2 === 0, off_value: false });
      })(),
      (async () => {
        for (let i = 0; i < ROUNDS; i++) {
          await call('POST', `${config}/kill-switch`, { reason: `lock order ${i}` });
          await call('DELETE', `${config}/kill-switch`, { reason: `lock order ${i}` });
        }
      })(),
    ]);
    // Each path must get through at least once while the others run, or the race wasn't real. Which
    // one wins is up to the scheduler (a run has seen every PUT land while the flag was archived), so
    // race again, a bounded number of times, until each has.
    const paths = ['POST /api/v1/flags/{key}/archive', 'PUT /api/v1/flags/{key}/environments/production', 'POST /api/v1/flags/{key}/environments/production/kill-switch'];
    const through = (path: string) => statuses.some((s) => s.path === path && s.status < 300);
    for (let attempt = 0; attempt < 4 && (attempt === 0 || !paths.every(through)); attempt++) await race();

    expect(statuses.filter((s) => s.status >= 500)).toEqual([]);
    expect(statuses.filter((s) => ![200, 201, 404, 409].includes(s.status))).toEqual([]);
    for (const path of paths) {
      expect(through(path), `${path} never got through: ${statuses.filter((s) => s.path === path).map((s) => s.status).join(' ')}`).toBe(true);
    }
    expect(await deadlocks()).toBe(before);
  });

  it('segment edits racing config writes and kills of the flags that target the segment: no deadlock, no 5xx', async () => {
    const segment = uniqueKey('lock-seg');
    expect((await stack.request('POST', '/api/v1/segments', {
      body: { key: segment, kind: 'rule', conditions: [{ field: 'tier', operator: 'equals', value: 'a' }] },
    })).status).toBe(201);
    const targeting = (i: number) => ({
      enabled: true, value: i % 2 === 0, off_value: false, targeting: [{ id: 'cohort', segments: [segment], percentage: 100 }],
    });
    const keys = [uniqueKey('lock-seg-a'), uniqueKey('lock-seg-b')];
    for (const key of keys) {
      await createFlag(stack, key, targeting(0));
      expect((await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { body: targeting(0) })).status).toBe(200);
    }
    const before = await deadlocks();
    const statuses: Array<{ path: string; status: number }> = [];
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await stack.request(method, path, { body: body ?? {} });
      statuses.push({ path: `${method} ${path}`, status: response.status });
    };
    await Promise.all([
      (async () => {
        for (let i = 0; i < ROUNDS * 2; i++) await call('PUT', `/api/v1/segments/${segment}`, { conditions: [{ field: 'tier', operator: 'equals', value: `t${i}` }] });
      })(),
      ...keys.flatMap((key) => ['production', 'staging'].map((environment) => (async () => {
        const config = `/api/v1/flags/${key}/environments/${environment}`;
        for (let i = 0; i < ROUNDS; i++) {
          await call('PUT', config, targeting(i));
          if (i % 3 === 0) {
            await call('POST', `${config}/kill-switch`, { reason: `lock order ${i}` });
            await call('DELETE', `${config}/kill-switch`, { reason: `lock order ${i}` });
          }
        }
      })())),
    ]);
    expect(statuses.filter((s) => s.status >= 300)).toEqual([]);
    expect(await deadlocks()).toBe(before);
  });
});
