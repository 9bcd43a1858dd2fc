import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/index.js';
import { createLogger } from '../../src/logger.js';
import { startApiServer } from '../../src/main/api-server.js';
import { referenceBucket } from '../unit/engine/helpers.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { createFlag, createToken, onForEveryone } from './serving-helpers.js';

let stack: Stack;
let serverToken: string;
let clientToken: string;
const on = uniqueKey('native-on');
const off = uniqueKey('native-off');

beforeAll(async () => {
  stack = await startStack();
  await createFlag(stack, on, onForEveryone);
  await createFlag(stack, off, { enabled: false, value: true, off_value: false });
  serverToken = await createToken(stack.db, 'server');
  clientToken = await createToken(stack.db, 'client');
});
afterAll(async () => {
  await stack?.close();
});

describe('native bulk evaluation', () => {
  it('evaluates every flag, or the named ones, with value, variant, reason and version', async () => {
    const all = await stack.request('POST', '/api/v1/evaluate', { body: { context: { targeting_key: 'u1' } }, token: clientToken });
    expect(all.status).toBe(200);
    expect(all.body.environment).toBe('production');
    expect(all.body.flags.find((f: { key: string }) => f.key === on)).toMatchObject({ value: true, variant: 'on', reason: 'SPLIT', version: expect.any(Number) });
    const named = await stack.request('POST', '/api/v1/evaluate', { body: { context: { targeting_key: 'u1' }, flags: [off, 'missing-flag'] }, token: clientToken });
    expect(named.body.flags).toEqual([
      expect.objectContaining({ key: off, value: false, reason: 'DISABLED' }),
      expect.objectContaining({ key: 'missing-flag', reason: 'ERROR', error_code: 'FLAG_NOT_FOUND' }),
    ]);
    const etag = named.headers.get('etag')!;
    const again = await stack.request('POST', '/api/v1/evaluate', { body: { context: { targeting_key: 'u1' }, flags: [off, 'missing-flag'] }, token: clientToken, headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('answers 400 naming the bad field, 413 for an oversized body and 401 without a token, never 500', async () => {
    const bad = await stack.request('POST', '/api/v1/evaluate', { body: { context: { targeting_key: 7 }, flags: 'x' }, token: clientToken });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['body.context.targeting_key', 'body.flags']));
    expect((await stack.request('POST', '/api/v1/evaluate', { raw: '{"context":', token: clientToken })).body.error.code).toBe('PARSE_ERROR');
    const large = await stack.request('POST', '/api/v1/evaluate', { raw: JSON.stringify({ context: { x: 'y'.repeat(70_000) } }), token: clientToken });
    expect(large.status).toBe(413);
    expect(large.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await stack.request('POST', '/api/v1/evaluate', { body: {}, token: null })).status).toBe(401);
  });
});

describe('per-flag metrics', () => {
  it('counts evaluations per flag across replicas and exposes them as Prometheus series', async () => {
    const key = uniqueKey('metered');
    await createFlag(stack, key, { enabled: true, value: true, off_value: false, rollout: { percentage: 50, strategy: 'immediate' } });
    // A second API replica: 12 evaluations go to the first, 9 (one without a targeting key) to the second.
    const second = await startApiServer(stack.config, createLogger('silent', 'second-replica'));
    let secondPrometheus = '';
    try {
      await eventually(async () => second.snapshot.get('production', key), 'the second replica to load the flag');
      const evaluateVia = (url: string, context: Record<string, unknown>) =>
        fetch(`${url}/ofrep/v1/evaluate/flags/${key}`, { method: 'POST', headers: { authorization: `Bearer ${clientToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ context }) });
      for (let i = 0; i < 20; i++) await evaluateVia(i < 12 ? stack.api.url : second.url, { targetingKey: `user-${i}` });
      await evaluateVia(second.url, {});
      // Each replica counted only its own share in process; the endpoint adds up both.
      const localCount = (replica: typeof second) => [...replica.flagMetrics.totals()].find((e) => e.flag === key)?.total.evaluations;
      expect([localCount(stack.api), localCount(second)]).toEqual([12, 9]);

      const metrics = await eventually(async () => {
        const response = await stack.request('GET', `/api/v1/flags/${key}/metrics?environment=production`, { token: serverToken });
        return response.body?.evaluation_count === 21 ? response : undefined;
      }, 'the metrics to count 21 evaluations from both replicas');
      expect(metrics.body).toMatchObject({ flag_key: key, error_count: 1, cache_hit_rate: 1, last_evaluation: expect.any(String), scope: 'all-replicas' });
      const inside = Array.from({ length: 20 }, (_, i) => `user-${i}`).filter((user) => referenceBucket(key, user) < 50_000).length;
      expect(metrics.body).toMatchObject({ enabled_count: inside, disabled_count: 20 - inside });
      expect(metrics.body.avg_evaluation_time_ms).toBeGreaterThan(0);
      secondPrometheus = await (await fetch(`${second.url}/metrics`)).text();
    } finally {
      await second.close();
    }
    await eventually(async () => Number(await stack.api.flagMetrics.read(key, ['production']).then((r) => r.shared)), 'a flush');

    const forbidden = await stack.request('GET', `/api/v1/flags/${key}/metrics`, { token: clientToken });
    expect(forbidden.status).toBe(403);
    expect((await stack.request('GET', '/api/v1/flags/no-such-flag/metrics')).status).toBe(404);

    // Prometheus series are per process: read both replicas' /metrics.
    const prometheus = (await stack.request('GET', '/metrics', { token: null })).body as string + secondPrometheus;
    expect(prometheus).toMatch(new RegExp(`ripcord_flag_evaluations_total\\{flag="${key}",environment="production",variant="on",reason="SPLIT"\\} \\d+`));
    expect(prometheus).toMatch(new RegExp(`ripcord_flag_evaluations_total\\{flag="${key}",environment="production",variant="[^"]+",reason="ERROR"\\} 1`));
    expect(prometheus).toMatch(/ripcord_cache_requests_total\{layer="l1",result="hit"\} [1-9]/);
    expect(prometheus).toContain('ripcord_cache_requests_total{layer="l2",result="hit"}');
    expect(prometheus).toContain('ripcord_served_version{environment="production"}');
  });

  it('counts "enabled" as any variant but the config\'s off variant, as the events guards split treated and untreated', async () => {
    // Named variants: off is `control` (served when killed), and a weighted split serves all three.
    const key = uniqueKey('metered-variants');
    await createFlag(stack, key, {
      enabled: true,
      variants: [{ name: 'control', value: 'classic' }, { name: 'compact', value: 'dense' }, { name: 'off', value: 'none' }],
      on_variant: 'compact', off_variant: 'control',
      split: [{ variant: 'control', weight: 40 }, { variant: 'compact', weight: 30 }, { variant: 'off', weight: 30 }],
    }, { type: 'string' });
    await eventually(async () => stack.api.snapshot.get('production', key), 'the API to load the flag');
    const served = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const answer = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: `user-${i}` } }, token: clientToken });
      served.set(answer.body.variant, (served.get(answer.body.variant) ?? 0) + 1);
    }
    // The split must have served both the off variant and a variant literally named `off` for the test to tell the rules apart.
    expect(served.get('control')).toBeGreaterThan(0);
    expect(served.get('off')).toBeGreaterThan(0);
    const killed = await stack.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { body: { reason: 'metrics test' } });
    expect(killed.status).toBe(201);
    // Polled on the snapshot itself, so that only the answers below are counted.
    await eventually(async () => evaluate(stack.api.snapshot.get('production', key)!, { targetingKey: 'probe' }, Date.now()).reason === 'DISABLED', 'the API to load the kill');
    for (let i = 0; i < 5; i++) {
      const answer = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: `user-${i}` } }, token: clientToken });
      expect(answer.body).toMatchObject({ variant: 'control', reason: 'DISABLED' });
    }

    const metrics = await eventually(async () => {
      const read = await stack.api.flagMetrics.read(key, ['production']);
      return read.metrics.evaluation_count === 35 ? read.metrics : undefined;
    }, 'the 35 evaluations to be counted');
    expect(metrics).toMatchObject({
      enabled_count: (served.get('compact') ?? 0) + served.get('off')!,
      disabled_count: served.get('control')! + 5,
      error_count: 0,
    });
  });
});
