import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerVector, startFakePrometheus } from './fake-prometheus.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';

// An unreadable metric is never a breach. Real API, worker, Postgres,
// Redis and Temporal (real timers); Prometheus is a loopback fake whose answer depends on the query.
// A rollout with a Prometheus guard reads it every second: when the metric can't be read (500, an
// empty result, NaN, Prometheus unreachable, PROMETHEUS_URL unset) each reading says so, none is a
// breach, and the rollout keeps its step; a real breach through the same fake rolls it back.

const answers: Record<string, (res: ServerResponse) => void> = {
  fails_500: (res) => void res.writeHead(500).end('internal error'),
  empty_result: (res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
  },
  not_a_number: (res) => answerVector(res, 'NaN'),
  error_rate_high: (res) => answerVector(res, '0.9'),
};
const queries = new Map<string, number>();
let prometheus: Awaited<ReturnType<typeof startFakePrometheus>>;
let prometheusUrl: string;

beforeAll(async () => {
  prometheus = await startFakePrometheus((query, res) => {
    queries.set(query, (queries.get(query) ?? 0) + 1);
    (answers[query] ?? ((r) => void r.writeHead(400).end()))(res);
  });
  prometheusUrl = prometheus.url;
});
afterAll(() => prometheus?.close());

const rolloutsPath = (key: string) => `/api/v1/flags/${key}/environments/production/rollouts`;

async function startGuardedRollout(stack: Stack, query: string): Promise<{ key: string; workflowId: string }> {
  const key = uniqueKey('promguard');
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  const plan = {
    strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }],
    guard: { source: 'prometheus', query, threshold: 0.5, comparison: 'above', interval: '1 second' },
  };
  const started = await stack.request('POST', rolloutsPath(key), { body: { plan } });
  expect(started.status).toBe(201);
  return { key, workflowId: started.body.workflow_id };
}

type Reading = { breached: boolean; detail: string; source: string };

/** Waits for `count` guard readings, then checks the rollout held its step: no breach, no rollback, still 10%. */
async function expectUnreadableNeverBreaches(stack: Stack, rollout: { key: string; workflowId: string }, detail: RegExp, count = 3) {
  const current = await eventually(async () => {
    const c = (await stack.request('GET', rolloutsPath(rollout.key))).body.current;
    return (c?.guard?.readings?.length ?? 0) >= count ? c : undefined;
  }, `${count} guard readings of ${rollout.key}`);
  const readings = current.guard.readings as Reading[];
  for (const reading of readings) {
    expect(reading).toMatchObject({ source: 'prometheus', breached: false });
    expect(reading.detail).toMatch(detail);
  }
  expect(current.guard.breach).toBeNull();
  expect(current).toMatchObject({ status: 'running', percentage: 10 });
  expect((await stack.request('GET', `/api/v1/flags/${rollout.key}/environments/production`)).body.rollout).toMatchObject({ percentage: 10 });
  const rollbacks = await stack.db.query(`SELECT 1 FROM audit_events WHERE resource_id = $1 AND action = 'rollout.rolled_back'`, [rollout.key]);
  expect(rollbacks.rows).toHaveLength(0);
  // Done looking: abort without rollback, and wait for the workflow to end.
  expect((await stack.request('POST', `${rolloutsPath(rollout.key)}/current/abort`, { body: { rollback: false } })).status).toBe(200);
  expect(await stack.temporal.workflow.getHandle(rollout.workflowId).result()).toMatchObject({ status: 'aborted', percentage: 10 });
}

describe('Prometheus guard, PROMETHEUS_URL set (a loopback fake)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ PROMETHEUS_URL: prometheusUrl });
  });
  afterAll(async () => stack?.close());

  it('a 500, an empty result and NaN are unreadable readings, never a breach: the rollout holds its step', async () => {
    const [failing, empty, nan] = await Promise.all(['fails_500', 'empty_result', 'not_a_number'].map((q) => startGuardedRollout(stack, q)));
    await Promise.all([
      expectUnreadableNeverBreaches(stack, failing!, /metric unreadable: .*Prometheus answered 500/),
      expectUnreadableNeverBreaches(stack, empty!, /metric unreadable: .*no sample/),
      expectUnreadableNeverBreaches(stack, nan!, /metric unreadable: .*non-numeric sample .*NaN/),
    ]);
    for (const q of ['fails_500', 'empty_result', 'not_a_number']) expect(queries.get(q)).toBeGreaterThanOrEqual(3);
  });

  it('a value above the threshold through the same fake is a breach: the rollout rolls back to 0%', async () => {
    const rollout = await startGuardedRollout(stack, 'error_rate_high');
    const result = await stack.temporal.workflow.getHandle(rollout.workflowId).result();
    expect(result).toMatchObject({ status: 'rolled_back', percentage: 0 });
    expect(result.guard.breach).toMatchObject({ breached: true, value: 0.9 });
    expect((await stack.request('GET', `/api/v1/flags/${rollout.key}/environments/production`)).body.rollout).toMatchObject({ percentage: 0 });
    const rollbacks = await stack.db.query(`SELECT 1 FROM audit_events WHERE resource_id = $1 AND action = 'rollout.rolled_back'`, [rollout.key]);
    expect(rollbacks.rows).toHaveLength(1);
  });
});

describe('Prometheus guard, Prometheus unreachable', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A port nothing listens on: a server is started and closed to find one.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    stack = await startStack({ PROMETHEUS_URL: `http://127.0.0.1:${port}` });
  });
  afterAll(async () => stack?.close());

  it('every reading is unreadable, never a breach: the rollout holds its step', async () => {
    await expectUnreadableNeverBreaches(stack, await startGuardedRollout(stack, 'error_rate_high'), /metric unreadable: .*fetch failed/);
  });
});

describe('Prometheus guard, PROMETHEUS_URL unset', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({});
  });
  afterAll(async () => stack?.close());

  it('every reading says PROMETHEUS_URL is not configured, never a breach: the rollout holds its step', async () => {
    expect(stack.config.PROMETHEUS_URL).toBeUndefined();
    const before = queries.get('error_rate_high') ?? 0;
    await expectUnreadableNeverBreaches(stack, await startGuardedRollout(stack, 'error_rate_high'), /PROMETHEUS_URL is not configured/);
    // The fake that would have reported a breach was never asked.
    expect(queries.get('error_rate_high') ?? 0).toBe(before);
  });
});
