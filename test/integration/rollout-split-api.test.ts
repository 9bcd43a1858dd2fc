import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';

// A split rollout end to end on the real Temporal dev server: started through the API, its steps set
// the config's weighted split, and OFREP answers move as they apply.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const USERS = Array.from({ length: 400 }, (_, i) => `user-${i}`);
const STEP_1 = [{ variant: 'compact', weight: 20 }, { variant: 'control', weight: 80 }];
const STEP_2 = [{ variant: 'compact', weight: 30 }, { variant: 'wide', weight: 20 }, { variant: 'control', weight: 50 }];

/** Each user's variant, as OFREP answers it. */
async function variantsOf(key: string): Promise<Map<string, string>> {
  const answers = new Map<string, string>();
  for (let i = 0; i < USERS.length; i += 50) {
    await Promise.all(USERS.slice(i, i + 50).map(async (user) => {
      const r = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: user } } });
      expect(r.status).toBe(200);
      answers.set(user, r.body.variant);
    }));
  }
  return answers;
}

const count = (answers: Map<string, string>, variant: string) => [...answers.values()].filter((v) => v === variant).length;

describe('split rollouts through the API', () => {
  it('moves OFREP answers step by step; a user moved to compact stays in compact when it grows', async () => {
    const key = uniqueKey('split-api');
    expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'string' } })).status).toBe(201);
    const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: {
      enabled: true, on_variant: 'control', off_variant: 'control',
      variants: [{ name: 'control', value: 'list' }, { name: 'compact', value: 'compact-list' }, { name: 'wide', value: 'wide-grid' }],
    } });
    expect(put.status).toBe(200);
    const path = `/api/v1/flags/${key}/environments/production/rollouts`;

    // Refused at creation, naming the field: an undeclared variant, weights that do not add up to 100.
    const unknown = await stack.request('POST', path, { body: { plan: { strategy: 'split', steps: [{ split: [{ variant: 'tiny', weight: 100 }] }] } } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([expect.objectContaining({ path: 'body.plan.steps.0.split.0.variant', message: expect.stringContaining("unknown variant 'tiny'") })]);
    const badSum = await stack.request('POST', path, { body: { plan: { strategy: 'split', steps: [{ split: [{ variant: 'compact', weight: 20 }, { variant: 'control', weight: 70 }] }] } } });
    expect(badSum.status).toBe(400);
    expect(badSum.body.error.details).toContainEqual(expect.objectContaining({ path: 'body.plan.steps.0.split', message: 'the weights add up to 90, not 100' }));

    const before = await variantsOf(key);
    expect(count(before, 'control')).toBe(USERS.length);

    const started = await stack.request('POST', path, { body: { plan: { strategy: 'split', steps: [{ split: STEP_1 }, { split: STEP_2, approval: true }] } } });
    expect(started.status).toBe(201);
    expect(started.body.summary).toBe('split: compact 20 / control 80 → compact 30 / wide 20 / control 50');
    const waiting = await eventually(async () => {
      const current = (await stack.request('GET', path)).body.current;
      return current?.status === 'waiting_approval' ? current : undefined;
    }, 'the first step and the approval gate');
    expect(waiting).toMatchObject({ strategy: 'split', split: STEP_1, start_split: [{ variant: 'control', weight: 100 }], percentage: 20 });
    const first = await variantsOf(key);

    expect((await stack.request('POST', `${path}/current/approve`)).status).toBe(200);
    await stack.temporal.workflow.getHandle(started.body.workflow_id).result();
    const second = await variantsOf(key);

    // Each user's bucket is fixed (murmur3 of flag key and targeting key); a step's split gives each
    // variant a range of buckets in the order listed. compact is listed first, so its range only grows
    // ([0, 20) → [0, 30)); control is listed last, so its range only shrinks ([20, 100) → [50, 100)).
    const inCompact = USERS.filter((u) => first.get(u) === 'compact');
    expect(inCompact.length).toBeGreaterThan(USERS.length * 0.1);
    expect(inCompact.filter((u) => second.get(u) !== 'compact')).toEqual([]);
    expect(USERS.filter((u) => second.get(u) === 'control' && first.get(u) !== 'control')).toEqual([]);
    expect(count(first, 'wide')).toBe(0);
    for (const [variant, weight] of [['compact', 30], ['wide', 20], ['control', 50]] as const) {
      const share = count(second, variant) / USERS.length;
      expect(share, variant).toBeGreaterThan(weight / 100 - 0.08);
      expect(share, variant).toBeLessThan(weight / 100 + 0.08);
    }
    // The value goes with the variant.
    const sample = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: inCompact[0] } } });
    expect(sample.body).toMatchObject({ variant: 'compact', value: 'compact-list' });
    const config = (await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body;
    expect(config.split).toEqual(STEP_2);
  }, 60_000);
});
