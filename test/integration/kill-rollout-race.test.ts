/**
 * A kill racing a rollout step being written. Both write the flag's config row
 * (each locks it, FOR UPDATE, in its transaction), so they land one after the other, never
 * interleaved. The test holds that lock itself, lines both writers up behind it in a chosen order,
 * then lets them go together. Whichever lands first, the kill wins: the flag is killed in Postgres,
 * Redis and the API's answers, the step that landed kept the kill switch (nothing half-applied), the
 * rollout pauses and writes no further step, and the audit log has both events in commit order.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlagDefinition } from '../../src/domain/flag.js';
import { rolloutWorkflowId } from '../../src/temporal/workflow-ids.js';
import { eventually, startedWorkflow, startStack, uniqueKey, type Stack } from './harness.js';

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

const flagPath = (key: string) => `/api/v1/flags/${key}/environments/production`;

/** Sessions of the application waiting for the config row lock the test holds. */
async function waitingWriters(): Promise<number> {
  const { rows } = await stack.db.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM flag_configs%FOR UPDATE%'`,
  );
  return rows[0].n as number;
}

async function race(first: 'kill' | 'step') {
  const key = uniqueKey(`race-${first}-first`);
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  expect((await stack.request('PUT', flagPath(key), { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
  const plan = { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 50, hold: '1 hour' }, { percentage: 100 }] };
  expect((await stack.request('POST', `${flagPath(key)}/rollouts`, { body: { plan } })).status).toBe(201);
  await eventually(async () => (await stack.request('GET', `${flagPath(key)}/rollouts`)).body.current?.percentage === 10, 'the first step', 30_000);

  // Hold the config row; the skip makes the workflow write step 2 (50 %) at once, the kill writes the switch.
  const blocker = await stack.db.connect();
  const launch = {
    kill: () => stack.request('POST', `${flagPath(key)}/kill-switch`, { body: { reason: `race, ${first} first` } }),
    step: () => stack.request('POST', `${flagPath(key)}/rollouts/current/skip`, { body: {} }),
  };
  let answers: Record<'kill' | 'step', ReturnType<Stack['request']>>;
  try {
    await blocker.query('BEGIN');
    await blocker.query(
      `SELECT 1 FROM flag_configs c JOIN flags f ON f.id = c.flag_id WHERE f.key = $1 AND c.environment = 'production' FOR UPDATE OF c`, [key],
    );
    const second = first === 'kill' ? 'step' : 'kill';
    const firstAnswer = launch[first]();
    await eventually(async () => (await waitingWriters()) === 1, `the ${first} to wait for the config row`, 30_000);
    const secondAnswer = launch[second]();
    await eventually(async () => (await waitingWriters()) === 2, `the ${second} to wait behind it`, 30_000);
    answers = { [first]: firstAnswer, [second]: secondAnswer } as typeof answers;
  } finally {
    await blocker.query('COMMIT');
    blocker.release();
  }
  const kill = await answers.kill;
  expect(kill.status).toBe(201);
  expect(kill.body.changed).toBe(true);
  expect((await answers.step).status).toBe(200);

  // Both landed, one after the other, in the order they queued; the audit log has them in that order.
  const written = await eventually(async () => {
    const { rows } = await stack.db.query(
      `SELECT action, metadata->>'label' AS label, (metadata->>'version')::int AS version FROM audit_events
        WHERE resource_id = $1 AND action IN ('kill_switch.activated', 'rollout.step') ORDER BY seq`, [key],
    );
    return rows.length === 3 ? rows : undefined;
  }, 'the kill and the step in the audit log');
  const order = written.slice(1).map((r) => (r.action === 'kill_switch.activated' ? 'kill' : 'step'));
  expect(order).toEqual(first === 'kill' ? ['kill', 'step'] : ['step', 'kill']);
  expect(written.map((r) => r.label)).toEqual(first === 'kill' ? ['step:0', null, 'step:1'] : ['step:0', 'step:1', null]);
  const stepVersion = written.find((r) => r.label === 'step:1')!.version as number;
  expect(first === 'kill' ? stepVersion > kill.body.version : stepVersion < kill.body.version).toBe(true);
  const latest = Math.max(stepVersion, kill.body.version);

  // Postgres, Redis and the API all hold the latest version: the step's percentage with the kill on.
  const stored = await stack.db.query(
    `SELECT c.enabled, c.rollout, c.kill_switch, c.version FROM flag_configs c JOIN flags f ON f.id = c.flag_id WHERE f.key = $1 AND c.environment = 'production'`, [key],
  );
  expect(Number(stored.rows[0].version)).toBe(latest);
  expect(stored.rows[0]).toMatchObject({ enabled: true, rollout: { percentage: 50 }, kill_switch: { enabled: true } });
  const projected = await eventually(async () => {
    const raw = await redis.hget(`${stack.config.REDIS_PREFIX}:env:production:flags`, key);
    const definition = raw ? (JSON.parse(raw) as FlagDefinition) : undefined;
    return definition?.version === latest ? definition : undefined;
  }, 'Redis to hold the latest version');
  expect(projected.config).toMatchObject({ rollout: { percentage: 50 }, kill_switch: { enabled: true } });
  for (const user of ['u-1', 'u-2', 'u-3', 'u-4']) {
    const answer = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: user } }, headers: { 'x-environment': 'production' } });
    expect(answer.body).toMatchObject({ value: false, reason: 'DISABLED' });
  }

  // The kill's workflow paused the rollout at the step that landed: no further step is written.
  const progress = await eventually(async () => {
    const current = (await stack.request('GET', `${flagPath(key)}/rollouts`)).body.current;
    return current?.status === 'paused' ? current : undefined;
  }, 'the rollout to pause', 30_000);
  expect(progress).toMatchObject({ percentage: 50, step: 1, paused_reason: expect.stringMatching(/kill switch activated/) });
  await (await startedWorkflow(stack.temporal, kill.body.workflow.id)).result();
  const steps = await stack.db.query("SELECT count(*)::int AS n FROM audit_events WHERE resource_id = $1 AND action = 'rollout.step'", [key]);
  expect(steps.rows[0].n).toBe(2);
  await stack.temporal.workflow.getHandle(rolloutWorkflowId('production', key)).terminate('test over');
}

describe('a kill racing a rollout step being written', () => {
  it('kill queued first: the step lands after it and keeps the kill; the rollout pauses', () => race('kill'));
  it('step queued first: the kill lands after it; the rollout pauses', () => race('step'));
});
