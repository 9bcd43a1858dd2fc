import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEvaluationBuckets } from '../../src/flag-metrics/evaluation-rollup-store.js';
import { createEnvironmentToken, createFlag } from './governance-helpers.js';
import { eventually, startStack, type Stack } from './harness.js';

// Flag lifecycle against the real API, Postgres and Redis: evaluations through OFREP reach the durable
// last-evaluated table through the replicas' flush; "moving the clock" backdates the stored times
// (config changes, creation, last evaluations) as days passing would, with no sleeps.

let stack: Stack;
const tokens: Record<string, string> = {};
const ENVIRONMENTS = ['development', 'staging', 'production'];
const DAY = 86_400_000;

beforeAll(async () => {
  stack = await startStack({}, { worker: false });
  for (const env of ['staging', 'production']) tokens[env] = (await createEnvironmentToken(stack, 'server', env)).token;
});
afterAll(async () => {
  await stack?.close();
});

async function lifecycleOf(key: string) {
  const response = await stack.request('GET', `/api/v1/flags/${key}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.lifecycle;
}

async function configure(key: string, config: Record<string, unknown>, environments = ENVIRONMENTS) {
  for (const env of environments) {
    const response = await stack.request('PUT', `/api/v1/flags/${key}/environments/${env}`, { body: config });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  }
}

async function evaluateIn(env: string, key: string) {
  const response = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { token: tokens[env], body: { context: { targetingKey: 'user-1' } } });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
}

/** Moves a flag's past back by `days`: creation, config changes and last evaluations, as if that time had passed. */
async function ageFlag(key: string, days: number, parts: { created?: boolean; changed?: boolean; evaluated?: boolean } = { created: true, changed: true, evaluated: true }) {
  const shift = `${days} days`;
  if (parts.created) await stack.ownerDb.query(`UPDATE flags SET created_at = created_at - $2::interval WHERE key = $1`, [key, shift]);
  if (parts.changed) await stack.ownerDb.query(`UPDATE flag_configs SET updated_at = updated_at - $2::interval WHERE flag_id = (SELECT id FROM flags WHERE key = $1)`, [key, shift]);
  if (parts.evaluated) await stack.ownerDb.query(`UPDATE flag_last_evaluated SET last_evaluated = last_evaluated - $2::interval WHERE flag_key = $1`, [key, shift]);
}

describe('flag lifecycle stages from real evaluations', () => {
  it('new → active when evaluated in production → launched after 7 days unchanged → stale after 30; the list and flag API carry it', async () => {
    const key = await createFlag(stack, 'life-launch');
    await configure(key, { enabled: true, value: true, off_value: false });
    expect(await lifecycleOf(key)).toMatchObject({ stage: 'new', reason: expect.stringContaining('not evaluated in production yet') });

    // Staging evaluations do not end "new"; production's do.
    await evaluateIn('staging', key);
    await eventually(async () => (await lifecycleOf(key)).environments.staging.last_evaluated, 'the staging evaluation flushed');
    expect((await lifecycleOf(key)).stage).toBe('new');
    await evaluateIn('production', key);
    const active = await eventually(async () => {
      const lifecycle = await lifecycleOf(key);
      return lifecycle.environments.production.last_evaluated && lifecycle;
    }, 'the production evaluation flushed');
    expect(active).toMatchObject({
      stage: 'active', serves: { variant: 'on', value: true },
      reason: expect.stringContaining('launched once unchanged for 7 days'),
      environments: { production: { serves: { variant: 'on', value: true }, diverts: null }, development: { last_evaluated: null } },
    });
    expect(Date.now() - Date.parse(active.environments.production.last_evaluated)).toBeLessThan(60_000);

    await ageFlag(key, 8);
    expect(await lifecycleOf(key)).toMatchObject({ stage: 'launched', reason: expect.stringContaining('serves true to everyone in every environment') });
    const list = await stack.request('GET', `/api/v1/flags?q=${key}`);
    expect(list.body.flags.map((f: { key: string; lifecycle: { stage: string } }) => [f.key, f.lifecycle.stage])).toEqual([[key, 'launched']]);

    await ageFlag(key, 23); // 31 days unchanged, evaluated 31 days ago too: stale on both counts, unused first
    expect(await lifecycleOf(key)).toMatchObject({ stage: 'stale', reason: expect.stringContaining('not evaluated in any environment since') });
    await evaluateIn('production', key); // still in use, but serving one value for 31 days: ready to remove
    await eventually(async () => (await lifecycleOf(key)).reason.includes('ready to remove'), 'stale for serving one value');

    // A change restarts the launch clock.
    await configure(key, { enabled: true, value: true, off_value: false, rules: [{ id: 'beta', type: 'custom', conditions: [{ field: 'beta', operator: 'equals', value: true }], action: 'disable', priority: 0 }] }, ['production']);
    expect(await lifecycleOf(key)).toMatchObject({ stage: 'active', reason: expect.stringContaining('in production it 1 rule serves another value'), environments: { production: { serves: null, diverts: '1 rule serves another value' } } });
  });

  it('a flag in use that diverts stays active until its evaluations stop for 30 days', async () => {
    const key = await createFlag(stack, 'life-unused');
    await configure(key, { enabled: true, value: true, off_value: false, rollout: { percentage: 20, strategy: 'gradual' } });
    await evaluateIn('production', key);
    await eventually(async () => (await lifecycleOf(key)).environments.production.last_evaluated, 'the evaluation flushed');
    await ageFlag(key, 100, { created: true, changed: true });
    expect(await lifecycleOf(key)).toMatchObject({ stage: 'active', reason: expect.stringContaining('rolls out to 20%') });
    await ageFlag(key, 29, { evaluated: true });
    expect((await lifecycleOf(key)).stage).toBe('active');
    await ageFlag(key, 1.01, { evaluated: true });
    expect(await lifecycleOf(key)).toMatchObject({ stage: 'stale', reason: expect.stringContaining('not evaluated in any environment since') });
    // Archived wins.
    expect((await stack.request('POST', `/api/v1/flags/${key}/archive`, { body: {} })).status).toBe(200);
    expect(await lifecycleOf(key)).toMatchObject({ stage: 'archived' });
  });

  it('the durable last-evaluated time only moves forward, whichever replica flushes last', async () => {
    const key = await createFlag(stack, 'life-forward');
    const now = Date.now();
    const bucket = (at: number) => ({ flagKey: key, environment: 'production', variant: 'on', minute: at - (at % 60_000), evaluations: 1, errors: 0, lastEvaluated: at });
    await addEvaluationBuckets(stack.db, [bucket(now)]);
    await addEvaluationBuckets(stack.db, [bucket(now - 3 * DAY)]); // a late flush of older counts
    const row = await stack.db.query('SELECT last_evaluated FROM flag_last_evaluated WHERE flag_key = $1', [key]);
    expect((row.rows[0].last_evaluated as Date).getTime()).toBe(now);
    // Pruning the per-minute rollups leaves it.
    await stack.ownerDb.query('DELETE FROM flag_evaluation_minutes WHERE flag_key = $1', [key]);
    expect((await lifecycleOf(key)).environments.production.last_evaluated).toBe(new Date(now).toISOString());
  });

  it('ready to remove: stale and launched flags with their evaluations, served value and code references', async () => {
    const referenced = await createFlag(stack, 'life-ref');
    const unreferenced = await createFlag(stack, 'life-unref');
    const diverting = await createFlag(stack, 'life-div');
    await configure(referenced, { enabled: true, value: true, off_value: false });
    await configure(unreferenced, { enabled: false, value: true, off_value: false });
    await configure(diverting, { enabled: true, value: true, off_value: false, rollout: { percentage: 50, strategy: 'gradual' } });
    for (const key of [referenced, unreferenced, diverting]) await evaluateIn('production', key);
    await eventually(async () => (await lifecycleOf(diverting)).environments.production.last_evaluated, 'the evaluations flushed');
    for (const key of [referenced, unreferenced, diverting]) await ageFlag(key, 10, { created: true, changed: true });
    await ageFlag(unreferenced, 40, { created: true, changed: true });
    const upload = await stack.request('PUT', '/api/v1/code-references', {
      body: { repository: `life-repo-${referenced}`, references: [
        { flag: referenced, path: 'src/a.ts', line: 3, kind: 'call' }, { flag: referenced, path: 'src/a.ts', line: 9, kind: 'call' },
        { flag: referenced, path: 'src/b.ts', line: 1, kind: 'literal' },
      ] },
    });
    expect(upload.status, JSON.stringify(upload.body)).toBe(200);

    const response = await stack.request('GET', '/api/v1/lifecycle/ready-to-remove');
    expect(response.status).toBe(200);
    const ours = response.body.flags.filter((f: { key: string }) => [referenced, unreferenced, diverting].includes(f.key));
    expect(ours).toEqual([
      expect.objectContaining({ key: unreferenced, owner: 'bootstrap-admin', referenced_files: 0, lifecycle: expect.objectContaining({ stage: 'stale', serves: { variant: 'off', value: false } }) }),
      expect.objectContaining({ key: referenced, referenced_files: 2, lifecycle: expect.objectContaining({ stage: 'launched', serves: { variant: 'on', value: true } }) }),
    ]);
    expect(ours[1].lifecycle.environments.production.last_evaluated).toEqual(expect.any(String));
    expect(ours[1].lifecycle.environments.development.last_evaluated).toBeNull();
    expect(response.body.thresholds).toEqual({ new_days: 7, launched_days: 7, stale_launched_days: 30, unused_days: 30, production_environment: 'production' });
  });
});
