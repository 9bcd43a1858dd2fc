import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, uniqueKey, type Stack } from './harness.js';

let stack: Stack;
let key: string;
beforeAll(async () => {
  stack = await startStack();
  key = uniqueKey('input');
  await stack.request('POST', '/api/v1/flags', { body: { key, name: 'Input', type: 'boolean', tags: ['qa'] } });
});
afterAll(async () => {
  await stack?.close();
});

describe('OFREP errors', () => {
  const production = { 'x-environment': 'production' };

  it('answers 404 FLAG_NOT_FOUND for an unknown flag', async () => {
    const response = await stack.request('POST', '/ofrep/v1/evaluate/flags/no-such-flag', { body: { context: { targetingKey: 'u' } }, headers: production });
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ key: 'no-such-flag', errorCode: 'FLAG_NOT_FOUND' });
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('answers 400 PARSE_ERROR for malformed JSON', async () => {
    const response = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { raw: '{"context": {', headers: production });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ key, errorCode: 'PARSE_ERROR' });
  });

  it('answers 400 INVALID_CONTEXT when context is not an object', async () => {
    const response = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: 'me' }, headers: production });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ key, errorCode: 'INVALID_CONTEXT' });
  });

  it('answers 400 TARGETING_KEY_MISSING when a percentage needs a key', async () => {
    await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, {
      body: { enabled: true, value: true, off_value: false, rollout: { percentage: 50, strategy: 'immediate' } },
    });
    const response = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: {} }, headers: { 'x-environment': 'staging' } });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ key, errorCode: 'TARGETING_KEY_MISSING' });
  });

  it('answers 401 without a body for a missing or wrong token', async () => {
    for (const token of [null, 'wrong-token']) {
      const response = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: {} }, token });
      expect(response.status).toBe(401);
      expect(response.body).toBeUndefined();
    }
  });
});

describe('management errors', () => {
  it('answers 401 for a missing or wrong token', async () => {
    for (const token of [null, 'wrong-token']) {
      const response = await stack.request('GET', `/api/v1/flags/${key}`, { token });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('UNAUTHORIZED');
    }
    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'x' }, token: 'nope' });
    expect(kill.status).toBe(401);
  });

  it('names the bad fields of a new flag', async () => {
    const response = await stack.request('POST', '/api/v1/flags', { body: { key: 'bad key!', name: '', type: 'colour' } });
    expect(response.status).toBe(400);
    const paths = response.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['body.key', 'body.name', 'body.type']));
  });

  it('refuses a duplicate key with 409', async () => {
    const response = await stack.request('POST', '/api/v1/flags', { body: { key, name: 'again', type: 'boolean' } });
    expect(response.status).toBe(409);
  });

  it('refuses a value of the wrong type, naming the field', async () => {
    const response = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: 'yes', off_value: false } });
    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d: { path: string }) => d.path)).toContain('body.value');
  });

  it('answers 412 to a stale If-Match and keeps the newer write', async () => {
    const current = await stack.request('GET', `/api/v1/flags/${key}/environments/development`);
    const version = current.body.version;
    const first = await stack.request('PUT', `/api/v1/flags/${key}/environments/development`, {
      body: { enabled: true, value: true, off_value: false }, headers: { 'if-match': `"${version}"` },
    });
    expect(first.status).toBe(200);
    const stale = await stack.request('PUT', `/api/v1/flags/${key}/environments/development`, {
      body: { enabled: false, value: true, off_value: false }, headers: { 'if-match': `"${version}"` },
    });
    expect(stale.status).toBe(412);
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/development`)).body.enabled).toBe(true);
  });

  it('requires a reason to kill, and 404s unknown flags and environments', async () => {
    const noReason = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: {} });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.details[0].path).toBe('body.reason');
    const unknownFlag = await stack.request('POST', '/api/v1/flags/ghost/environments/production/kill-switch', { body: { reason: 'x' } });
    expect(unknownFlag.status).toBe(404);
    const unknownEnv = await stack.request('POST', `/api/v1/flags/${key}/environments/moon/kill-switch`, { body: { reason: 'x' } });
    expect(unknownEnv.status).toBe(404);
  });

  it('answers 400 for malformed JSON and 413 for an oversized body, never 500', async () => {
    const malformed = await stack.request('POST', '/api/v1/flags', { raw: '{"key":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('PARSE_ERROR');
    const huge = await stack.request('POST', '/api/v1/flags', { raw: JSON.stringify({ key: 'x', name: 'y'.repeat(300_000), type: 'boolean' }) });
    expect(huge.status).toBe(413);
  });
});

describe('operations', () => {
  it('reports liveness, readiness per dependency and Prometheus metrics', async () => {
    expect((await stack.request('GET', '/healthz', { token: null })).status).toBe(200);
    const ready = await stack.request('GET', '/readyz', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ postgres: { status: 'ok' }, redis: { status: 'ok' }, temporal: { status: 'ok' }, snapshot: { status: 'ok' } });
    const metrics = await stack.request('GET', '/metrics', { token: null });
    expect(metrics.body).toContain('ripcord_evaluations_total');
    expect(metrics.body).toContain('ripcord_evaluation_duration_seconds');
  });
});
