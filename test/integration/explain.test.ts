import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('explain', () => {
  it('returns the result and the trace of the rule that matched and the ones that did not', async () => {
    const key = uniqueKey('explain');
    await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'string' } });
    const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, {
      body: {
        enabled: true, value: 'new', off_value: 'old',
        rules: [
          { id: 'beta-testers', type: 'user_attribute', priority: 1, action: 'override_value', value: 'beta',
            conditions: [{ field: 'user.groups', operator: 'contains', value: 'beta' }] },
          { id: 'eu-off', type: 'user_attribute', priority: 2, action: 'disable', conditions: [{ field: 'region', operator: 'equals', value: 'eu' }] },
        ],
      },
    });
    expect(put.status).toBe(200);
    const path = `/api/v1/flags/${key}/environments/staging/explain`;
    const explained = await eventually(async () => {
      const response = await stack.request('POST', path, { body: { context: { targeting_key: 'u1', region: 'eu', user: { groups: ['staff'] } } } });
      return response.status === 200 && response.body.version === put.body.version ? response : undefined;
    }, 'the new config to be served');
    expect(explained.body.result).toMatchObject({ value: 'old', variant: 'off', reason: 'TARGETING_MATCH', rule_id: 'eu-off' });
    const rules = explained.body.trace.filter((s: { step: string }) => s.step === 'rule');
    expect(rules).toEqual([
      expect.objectContaining({ id: 'beta-testers', matched: false }),
      expect.objectContaining({ id: 'eu-off', matched: true }),
    ]);

    const beta = await stack.request('POST', path, { body: { context: { targeting_key: 'u2', user: { groups: ['beta'] } } } });
    expect(beta.body.result).toMatchObject({ value: 'beta', variant: 'beta-testers', rule_id: 'beta-testers' });
  });

  it('names the bad field and 404s an unknown flag', async () => {
    const bad = await stack.request('POST', '/api/v1/flags/anything/environments/staging/explain', { body: { context: { targeting_key: 7 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('body.context.targeting_key');
    const missing = await stack.request('POST', '/api/v1/flags/no-such-flag/environments/staging/explain', { body: { context: {} } });
    expect(missing.status).toBe(404);
  });
});
