import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../packages/node/src/index.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { auditEvents } from './governance-helpers.js';
import { createFlag, createToken } from './serving-helpers.js';

let stack: Stack;
let serverToken: string;
beforeAll(async () => {
  stack = await startStack();
  serverToken = await createToken(stack.db, 'server');
});
afterAll(async () => {
  await stack?.close();
});

const LAYOUTS = {
  enabled: true,
  variants: [{ name: 'control', value: 'classic' }, { name: 'compact', value: 'dense' }, { name: 'wide', value: 'airy' }],
  on_variant: 'control',
  off_variant: 'control',
  split: [{ variant: 'control', weight: 50 }, { variant: 'compact', weight: 30 }, { variant: 'wide', weight: 20 }],
};
const ofrep = (key: string, targetingKey: string) =>
  stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey } }, headers: { 'x-environment': 'production' } });

describe('variants through the API', () => {
  it('stores variants and a split, serves the variant name over OFREP, the native API and the Node SDK alike', async () => {
    const key = uniqueKey('layout');
    await createFlag(stack, key, LAYOUTS, { type: 'string' });
    const read = await stack.request('GET', `/api/v1/flags/${key}/environments/production`);
    expect(read.body).toMatchObject({ ...LAYOUTS, value: 'classic', off_value: 'classic' });
    const [event] = await auditEvents(stack, { flag: key, action: 'flag.config.updated' });
    expect(event).toMatchObject({ new_value: { split: LAYOUTS.split, on_variant: 'control' } });

    // alice's bucket for this key is whatever murmur3 says: the test compares the three paths, and the split's shares.
    const client = createClient({ url: stack.api.url, token: serverToken, mode: 'local' });
    try {
      expect(await client.ready()).toBe('server');
      await eventually(async () => client.status().version >= read.body.version, 'the SDK has the flag');
      const seen = new Map<string, number>();
      for (let i = 0; i < 60; i++) {
        const targetingKey = `user-${i}`;
        const answer = await ofrep(key, targetingKey);
        expect(answer.status).toBe(200);
        const native = await stack.request('POST', '/api/v1/evaluate', { token: serverToken, body: { context: { targeting_key: targetingKey }, flags: [key] } });
        const local = client.details(key, 'default', { targetingKey });
        expect({ value: native.body.flags[0].value, variant: native.body.flags[0].variant }).toEqual({ value: answer.body.value, variant: answer.body.variant });
        expect({ value: local.value, variant: local.variant, reason: local.reason }).toEqual({ value: answer.body.value, variant: answer.body.variant, reason: 'SPLIT' });
        expect(LAYOUTS.variants).toContainEqual({ name: answer.body.variant, value: answer.body.value });
        seen.set(answer.body.variant, (seen.get(answer.body.variant) ?? 0) + 1);
      }
      expect([...seen.keys()].sort()).toEqual(['compact', 'control', 'wide']);
    } finally {
      await client.close();
    }

    // The kill serves the off variant, by name.
    const killed = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'layout broke' } });
    expect(killed.status, JSON.stringify(killed.body)).toBe(201);
    await eventually(async () => ((await ofrep(key, 'user-1')).body.reason === 'DISABLED' ? true : undefined), 'the kill is served');
    expect((await ofrep(key, 'user-1')).body).toMatchObject({ value: 'classic', variant: 'control', reason: 'DISABLED' });
  });

  it('refuses bad variants with 400 naming the field', async () => {
    const key = uniqueKey('bad-variants');
    await createFlag(stack, key, { enabled: false, value: 'a', off_value: 'b' }, { type: 'string' });
    const put = (body: Record<string, unknown>) => stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { ...LAYOUTS, ...body } });
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ on_variant: 'huge' }, 'body.on_variant', /unknown variant 'huge'/],
      [{ split: [{ variant: 'control', weight: 50 }, { variant: 'wide', weight: 30 }] }, 'body.split', /add up to 80, not 100/],
      [{ split: [{ variant: 'control', weight: 50 }, { variant: 'narrow', weight: 50 }] }, 'body.split.1.variant', /unknown variant 'narrow'/],
      [{ variants: [...LAYOUTS.variants, { name: 'wide', value: 'x' }] }, 'body.variants.3.name', /duplicate variant name/],
      [{ variants: [{ name: 'control', value: 42 }] }, 'body.variants.0.value', /string/],
      [{ rules: [{ id: 'r', type: 'custom', conditions: [], action: 'serve', variant: 'nope', priority: 1 }] }, 'body.rules.0.variant', /unknown variant 'nope'/],
    ];
    for (const [body, path, message] of cases) {
      const response = await put(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.details).toContainEqual({ path, message: expect.stringMatching(message) });
    }
    // Nothing was written.
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body).toMatchObject({ value: 'a', variants: [{ name: 'on', value: 'a' }, { name: 'off', value: 'b' }] });
  });

  it('still takes the shape before variants, answering with variants on and off', async () => {
    const key = uniqueKey('old-shape');
    await createFlag(stack, key, { enabled: true, value: true, off_value: false, rollout: { percentage: 100, strategy: 'immediate' } });
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body)
      .toMatchObject({ value: true, off_value: false, variants: [{ name: 'on', value: true }, { name: 'off', value: false }], on_variant: 'on', off_variant: 'off' });
    expect((await ofrep(key, 'anyone')).body).toMatchObject({ value: true, variant: 'on' });
  });
});
