import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { OpenFeature, type Client } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature } from '@openfeature/web-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startApiServer } from '../../src/main/api-server.js';
import { referenceBucket } from '../unit/engine/helpers.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, createToken, putConfig } from './serving-helpers.js';

let stack: Stack;
let clientToken: string;
let serverToken: string;
let client: Client;
const keys = {
  on: uniqueKey('conf-on'),
  off: uniqueKey('conf-off'),
  rule: uniqueKey('conf-rule'),
  split: uniqueKey('conf-split'),
  number: uniqueKey('conf-number'),
  json: uniqueKey('conf-json'),
};

beforeAll(async () => {
  stack = await startStack();
  await createFlag(stack, keys.on, { enabled: true, value: true, off_value: false });
  await createFlag(stack, keys.off, { enabled: false, value: true, off_value: false });
  await createFlag(stack, keys.rule, {
    enabled: true, value: 'standard', off_value: 'none',
    rules: [{ id: 'vip', type: 'user_attribute', priority: 1, action: 'override_value', value: 'gold', conditions: [{ field: 'tier', operator: 'equals', value: 'vip' }] }],
  }, { type: 'string' });
  await createFlag(stack, keys.split, { enabled: true, value: true, off_value: false, rollout: { percentage: 50, strategy: 'immediate' } });
  await createFlag(stack, keys.number, { enabled: true, value: 42, off_value: 0 }, { type: 'number' });
  await createFlag(stack, keys.json, { enabled: true, value: { theme: 'dark' }, off_value: {} }, { type: 'json' });
  clientToken = await createToken(stack.db, 'client');
  serverToken = await createToken(stack.db, 'server');
  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: stack.api.url, headers: [['Authorization', `Bearer ${serverToken}`]] }));
  client = OpenFeature.getClient();
});
afterAll(async () => {
  await OpenFeature.close();
  await WebOpenFeature.close();
  await stack?.close();
});

/** The first `user-N` whose bucket (floor(murmur3(flagKey + user) × 100000 / 2^32), by an independent murmur3) passes `test`. */
function userWhere(flagKey: string, test: (bucket: number) => boolean): string {
  for (let i = 0; i < 1_000; i++) {
    const user = `user-${i}`;
    if (test(referenceBucket(flagKey, user))) return user;
  }
  throw new Error('no such user among 1000');
}

const ofrep = (path: string, body: unknown, headers: Record<string, string> = {}, token: string | null = clientToken) =>
  stack.request('POST', path, { body, headers, token });

describe('OFREP through the official server provider', () => {
  it('serves values, variants and reasons of every type', async () => {
    expect(await client.getBooleanDetails(keys.on, false, { targetingKey: 'u1' })).toMatchObject({ value: true, variant: 'on', reason: 'STATIC' });
    expect(await client.getBooleanDetails(keys.off, true, { targetingKey: 'u1' })).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });
    expect(await client.getStringDetails(keys.rule, 'default', { targetingKey: 'u1', tier: 'vip' })).toMatchObject({
      value: 'gold', variant: 'vip', reason: 'TARGETING_MATCH',
    });
    expect(await client.getStringDetails(keys.rule, 'default', { targetingKey: 'u1', tier: 'free' })).toMatchObject({ value: 'standard', reason: 'STATIC' });
    expect(await client.getNumberValue(keys.number, 0, { targetingKey: 'u1' })).toBe(42);
    expect(await client.getObjectValue(keys.json, {}, { targetingKey: 'u1' })).toEqual({ theme: 'dark' });
    // The flag key is random, so pick one user inside and one outside the 50% by the reference hash.
    const inside = userWhere(keys.split, (bucket) => bucket < 50_000);
    const outside = userWhere(keys.split, (bucket) => bucket >= 50_000);
    const split = await client.getBooleanDetails(keys.split, false, { targetingKey: inside });
    expect(split).toMatchObject({ value: true, variant: 'on', reason: 'SPLIT' });
    expect(split.flagMetadata).toMatchObject({ version: expect.any(Number) });
    expect(await client.getBooleanDetails(keys.split, true, { targetingKey: outside })).toMatchObject({ value: false, variant: 'off', reason: 'DEFAULT' });
  });

  it('answers the caller default with FLAG_NOT_FOUND for an unknown flag', async () => {
    const details = await client.getBooleanDetails('no-such-flag', true, { targetingKey: 'u1' });
    expect(details).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
  });

  it('answers TARGETING_KEY_MISSING when a split needs a targeting key', async () => {
    const details = await client.getBooleanDetails(keys.split, true, {});
    expect(details).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' });
  });

  it('answers TYPE_MISMATCH when the flag serves another type', async () => {
    const details = await client.getNumberDetails(keys.on, 7, { targetingKey: 'u1' });
    expect(details).toMatchObject({ value: 7, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
  });
});

describe('OFREP through the official web provider (bulk, ETag)', () => {
  it('evaluates every flag in one bulk request and picks up a change on the next fetch', async () => {
    const provider = new OFREPWebProvider({ baseUrl: stack.api.url, headers: [['Authorization', `Bearer ${clientToken}`]], cacheMode: 'disabled' });
    await WebOpenFeature.setContext({ targetingKey: 'web-user', tier: 'vip' });
    await WebOpenFeature.setProviderAndWait(provider);
    const web = WebOpenFeature.getClient();
    expect(web.getBooleanDetails(keys.on, false)).toMatchObject({ value: true, reason: 'STATIC' });
    expect(web.getStringDetails(keys.rule, 'x')).toMatchObject({ value: 'gold', reason: 'TARGETING_MATCH' });
    expect(web.getBooleanDetails('no-such-flag', true)).toMatchObject({ value: true, errorCode: 'FLAG_NOT_FOUND' });

    await putConfig(stack, keys.on, { enabled: false, value: true, off_value: false });
    await WebOpenFeature.setContext({ targetingKey: 'web-user', tier: 'vip', refresh: 1 });
    expect(web.getBooleanDetails(keys.on, true)).toMatchObject({ value: false, reason: 'DISABLED' });
    await putConfig(stack, keys.on, { enabled: true, value: true, off_value: false });
  });
});

describe('OFREP on the wire', () => {
  it('answers 304 to If-None-Match until a result for that context changes', async () => {
    const context = { context: { targetingKey: 'etag-user', tier: 'vip' } };
    const first = await ofrep('/ofrep/v1/evaluate/flags', context);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.body.flags.map((f: { key: string }) => f.key)).toEqual(expect.arrayContaining(Object.values(keys)));
    expect(first.body.flags.find((f: { key: string }) => f.key === keys.rule)).toMatchObject({ value: 'gold', reason: 'TARGETING_MATCH', variant: 'vip' });

    const again = await ofrep('/ofrep/v1/evaluate/flags', context, { 'if-none-match': etag! });
    expect(again.status).toBe(304);
    expect(again.body).toBeUndefined();
    const otherContext = await ofrep('/ofrep/v1/evaluate/flags', { context: { targetingKey: 'etag-user', tier: 'free' } }, { 'if-none-match': etag! });
    expect(otherContext.status).toBe(200);

    await putConfig(stack, keys.number, { enabled: true, value: 43, off_value: 0 });
    const changed = await eventually(async () => {
      const response = await ofrep('/ofrep/v1/evaluate/flags', context, { 'if-none-match': etag! });
      return response.status === 200 ? response : undefined;
    }, 'the ETag to change after a flag change');
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(changed.body.flags.find((f: { key: string }) => f.key === keys.number).value).toBe(43);
  });

  it('reports failures per flag inside a bulk answer', async () => {
    const response = await ofrep('/ofrep/v1/evaluate/flags', { context: {} });
    expect(response.status).toBe(200);
    expect(response.body.flags.find((f: { key: string }) => f.key === keys.split)).toEqual({
      key: keys.split, errorCode: 'TARGETING_KEY_MISSING', errorDetails: expect.any(String),
    });
  });

  it('accepts X-API-Key as well as a bearer token, and answers 401 and 403 without a body', async () => {
    const path = `/ofrep/v1/evaluate/flags/${keys.on}`;
    expect((await stack.request('POST', path, { body: { context: {} }, token: null, headers: { 'x-api-key': clientToken } })).status).toBe(200);
    for (const token of [null, 'not-a-token']) {
      const response = await ofrep(path, { context: {} }, {}, token);
      expect(response.status).toBe(401);
      expect(response.body).toBeUndefined();
    }
    const wrongEnvironment = await ofrep(path, { context: {} }, { 'x-environment': 'staging' });
    expect(wrongEnvironment.status).toBe(403);
    expect(wrongEnvironment.body).toBeUndefined();
  });

  it('answers 400 with OFREP error codes for malformed input and 413 for an oversized body, never 500', async () => {
    const path = `/ofrep/v1/evaluate/flags/${keys.on}`;
    const cases: Array<[string, number, string]> = [
      ['{"context": {', 400, 'PARSE_ERROR'],
      ['[1,2]', 400, 'INVALID_CONTEXT'],
      ['{"context": 5}', 400, 'INVALID_CONTEXT'],
      ['{"context": {"targetingKey": 5}}', 400, 'INVALID_CONTEXT'],
      [JSON.stringify({ context: { blob: 'x'.repeat(100_000) } }), 413, 'PARSE_ERROR'],
    ];
    for (const [raw, status, errorCode] of cases) {
      for (const target of [path, '/ofrep/v1/evaluate/flags']) {
        const response = await stack.request('POST', target, { raw, token: clientToken });
        expect(response.status, `${target} ${raw.slice(0, 30)}`).toBe(status);
        expect(response.body).toMatchObject({ errorCode });
      }
    }
  });

  it('allows browser callers: CORS preflight and exposed ETag', async () => {
    const preflight = await fetch(`${stack.api.url}/ofrep/v1/evaluate/flags`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,if-none-match' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    for (const header of ['Authorization', 'X-API-Key', 'If-None-Match', 'Content-Type']) {
      expect(preflight.headers.get('access-control-allow-headers')).toContain(header);
    }
    const response = await ofrep('/ofrep/v1/evaluate/flags', { context: {} }, { origin: 'https://app.example' });
    expect(response.headers.get('access-control-expose-headers')).toContain('ETag');
  });

  it('limits each token with 429 and Retry-After, seen by the provider as an error, then lets it through again', async () => {
    const limited = await startApiServer({ ...stack.config, PORT: 0, RATE_LIMIT_PER_SECOND: 3 }, createLogger('silent'));
    try {
      const call = () =>
        fetch(`${limited.url}/ofrep/v1/evaluate/flags/${keys.on}`, {
          method: 'POST', headers: { authorization: `Bearer ${clientToken}`, 'content-type': 'application/json' }, body: '{"context":{}}',
        });
      const statuses: number[] = [];
      let refused: Response | undefined;
      for (let i = 0; i < 6; i++) {
        const response = await call();
        statuses.push(response.status);
        if (response.status === 429) refused ??= response;
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses).toContain(429);
      expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Another token has its own budget.
      const other = await fetch(`${limited.url}/ofrep/v1/evaluate/flags/${keys.on}`, {
        method: 'POST', headers: { authorization: `Bearer ${serverToken}` }, body: '{}',
      });
      expect(other.status).toBe(200);

      const provider = new OFREPProvider({ baseUrl: limited.url, headers: [['Authorization', `Bearer ${clientToken}`]] });
      await OpenFeature.setProviderAndWait('limited', provider);
      const limitedClient = OpenFeature.getClient('limited');
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await limitedClient.getBooleanDetails(keys.on, false, { targetingKey: 'u' }));
      expect(results.some((r) => r.reason === 'ERROR' && r.value === false)).toBe(true);
      await eventually(async () => (await call()).status === 200, 'the budget to refill');
    } finally {
      await limited.close();
    }
  });
});
