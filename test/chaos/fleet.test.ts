/**
 * The chaos suite: the promises Ripcord makes, kept across a fleet (3 API processes behind a load
 * balancer, 2 workers, Redis, PostgreSQL, Temporal) while links fail and processes die, under a
 * constant evaluation load. Each scenario prints its figures; assertions are about behaviour
 * (what was served, confirmed, audited), never about speed.
 */
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listReplicas } from '../../src/serving/replica-heartbeat.js';
import { readAcks } from '../../src/serving/change-acks.js';
import { rolloutWorkflowId } from '../../src/temporal/workflow-ids.js';
import { startFakeSlackApi, type FakeSlackApi } from '../integration/fake-slack-api.js';
import { eventually, startedWorkflow, uniqueKey } from '../integration/harness.js';
import { EvaluationLoad } from './fleet/evaluation-load.js';
import { FLEET_ADMIN_TOKEN, Fleet, type FleetProcess } from './fleet/fleet.js';

let fleet: Fleet;
let load: EvaluationLoad;
let temporal: Client;
let connection: Connection;
let db: pg.Pool;
let redis: Redis;
let slack: FakeSlackApi;
const LOAD_FLAG = 'chaos-load';

const report = (scenario: string, figures: object) => console.log(`[chaos] ${scenario}: ${JSON.stringify(figures)}`);

async function evaluateOn(api: string, key: string): Promise<{ status: number; body: { value?: unknown; reason?: string } }> {
  const response = await fleet.direct(api, `/ofrep/v1/evaluate/flags/${key}`, { method: 'POST', body: '{"context":{"targetingKey":"chaos-user"}}' });
  return { status: response.status, body: (await response.json()) as { value?: unknown; reason?: string } };
}

async function liveFlag(key: string): Promise<void> {
  expect((await fleet.request('POST', '/api/v1/flags', { key, name: key, type: 'boolean' })).status).toBe(201);
  expect((await fleet.request('PUT', `/api/v1/flags/${key}/environments/production`, { enabled: true, value: true, off_value: false })).status).toBe(200);
  for (const api of fleet.apis) await eventually(async () => (await evaluateOn(api.name, key)).body.value === true, `${api.name} to serve ${key}`);
}

async function replicaOf(api: string): Promise<string> {
  const pid = fleet.apis.find((p) => p.name === api)!.child.pid;
  const replica = await eventually(async () => (await listReplicas(redis)).find((r) => r.pid === pid), `the heartbeat of ${api}`);
  return replica.replica;
}

async function auditCount(action: string, resourceId: string, extra = ''): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = $1 AND resource_id = $2 ${extra}`, [action, resourceId]);
  return rows[0].n as number;
}

const alertsAbout = (key: string, title: string) =>
  slack.calls.filter((c) => c.path === '/api/chat.postMessage' && String(c.body.text).startsWith(`${title}: ${key} `)).length;

beforeAll(async () => {
  slack = await startFakeSlackApi();
  fleet = await Fleet.start({
    apis: 3, workers: 2, maxLagSeconds: 1,
    // The workers run the workflow bundle built once for the run (test/integration/global-setup.ts) instead of bundling for themselves.
    env: { SLACK_BOT_TOKEN: 'xoxb-chaos', SLACK_ALERT_CHANNEL: 'C0CHAOS', SLACK_API_URL: slack.url, WORKFLOW_BUNDLE: inject('workflowBundlePath') },
  });
  connection = await Connection.connect({ address: fleet.temporalAddress });
  temporal = new Client({ connection });
  db = new pg.Pool({ connectionString: fleet.databaseUrl, max: 2 });
  redis = new Redis(fleet.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  await liveFlag(LOAD_FLAG);
  load = new EvaluationLoad({ url: fleet.url, token: FLEET_ADMIN_TOKEN, flag: () => LOAD_FLAG, ratePerSecond: 40, concurrency: 2 });
  load.start();
}, 240_000);

afterAll(async () => {
  const total = await load?.stop();
  if (total) report('evaluation load, whole suite', total);
  redis?.disconnect();
  await db?.end();
  await connection?.close();
  await fleet?.stop();
  await slack?.close();
}, 60_000);

describe('a fleet under faults', () => {
  it('one API partitioned from Redis serves STALE, leaves the load balancer; the kill meanwhile is confirmed by the other two, the laggard named; healed, it catches up and acknowledges', async () => {
    const key = 'chaos-partition';
    await liveFlag(key);
    const laggard = await replicaOf('api-1');
    load.reset();
    const figures: Record<string, unknown> = {};
    let kill: { status: number; body: { version: number; workflow: { id: string } } } = { status: 0, body: { version: 0, workflow: { id: '' } } };
    const partitioned = Date.now();
    fleet.link('api-1', 'redis').set({ kind: 'blackhole' });
    try {
      await partitionedPhase();
    } finally {
      fleet.link('api-1', 'redis').heal();
    }
    // Everything while api-1 is cut off; the finally above heals it whatever happens.
    async function partitionedPhase() {
      // The kill goes out at once, while api-1's heartbeat still counts it as live.
      kill = await fleet.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { reason: 'partition drill' });
      expect(kill.status).toBe(201);
      const stale = await eventually(async () => {
        const answer = await evaluateOn('api-1', LOAD_FLAG);
        return answer.body.reason === 'STALE' ? answer : undefined;
      }, 'api-1 to answer STALE', 15_000);
      expect(stale.body.value).toBe(true);
      const staleAfterMs = Date.now() - partitioned;
      await eventually(async () => !fleet.lb.isReady('api-1'), 'the load balancer to take api-1 out', 15_000);
      const outOfBalancerMs = fleet.lb.backends.find((b) => b.name === 'api-1')!.changedAt - partitioned;
      const readyz = await fleet.direct('api-1', '/readyz');
      expect(readyz.status).toBe(503);
      expect(JSON.stringify(await readyz.json())).toMatch(/stale/);

      const outcome = await (await startedWorkflow(temporal, kill.body.workflow.id)).result();
      expect(outcome.convergence).toMatchObject({ converged: false, confirmedReplicas: 2, totalReplicas: 3, laggards: [laggard] });
      // The other two serve the kill (as DISABLED, or STALE if a 1 s sync slipped on this loaded machine).
      for (const api of ['api-0', 'api-2']) expect((await evaluateOn(api, key)).body.value).toBe(false);
      await eventually(async () => alertsAbout(key, 'Kill switch not confirmed on every replica') === 1, 'the laggard alert');
      expect(JSON.stringify(slack.calls.filter((c) => String(c.body.text).includes(key)))).toContain(laggard);
      figures.staleAfterMs = staleAfterMs;
      figures.outOfBalancerMs = outOfBalancerMs;
      figures.workflow = outcome.convergence;
    }

    const healed = Date.now();
    await eventually(async () => ((await readAcks(redis, 'production', key)).get(laggard)?.version ?? 0) >= kill.body.version, 'api-1 to acknowledge the kill', 15_000);
    const ackedAfterMs = Date.now() - healed;
    // It serves the kill at once; it stops answering STALE after its next comparison with Redis.
    expect((await evaluateOn('api-1', key)).body.value).toBe(false);
    await eventually(async () => (await evaluateOn('api-1', key)).body.reason === 'DISABLED', 'api-1 to vouch for its snapshot again', 15_000);
    await eventually(async () => fleet.lb.isReady('api-1'), 'api-1 back behind the load balancer', 15_000);
    const state = await fleet.request('GET', `/api/v1/flags/${key}/environments/production/kill-switch`);
    expect(state.body.confirmation).toMatchObject({ status: 'confirmed', confirmed_replicas: 3, total_replicas: 3, laggards: [] });
    const evaluations = load.read();
    report('partition', { ...figures, healedToAckMs: ackedAfterMs, load: evaluations });
    expect(evaluations.failed).toBe(0);
  });

  it('200 ms between one API and Redis: kills are still confirmed, and that replica shows the lag in its metrics', async () => {
    const key = 'chaos-latency';
    await liveFlag(key);
    fleet.link('api-2', 'redis').set({ kind: 'latency', ms: 200 });
    try {
      const kill = await fleet.request('POST', `/api/v1/flags/${key}/environments/production/kill-switch`, { reason: 'latency drill' });
      expect(kill.status).toBe(201);
      const outcome = await (await startedWorkflow(temporal, kill.body.workflow.id)).result();
      expect(outcome.convergence).toMatchObject({ converged: true, confirmedReplicas: 3, totalReplicas: 3, laggards: [] });
      const metrics = await (await fleet.direct('api-2', '/metrics')).text();
      const lastPropagation = Number(/^ripcord_change_propagation_last_seconds (\S+)$/m.exec(metrics)?.[1]);
      const others = await Promise.all(['api-0', 'api-1'].map(async (api) =>
        Number(/^ripcord_change_propagation_last_seconds (\S+)$/m.exec(await (await fleet.direct(api, '/metrics')).text())?.[1])));
      report('latency 200 ms api-2 <-> Redis', { confirmation: outcome.convergence, propagationSeconds: { 'api-2': lastPropagation, 'api-0': others[0], 'api-1': others[1] } });
      // The injected 200 ms is on the path of every change to api-2: its propagation metric can't be below it.
      expect(lastPropagation).toBeGreaterThanOrEqual(0.2);
    } finally {
      fleet.link('api-2', 'redis').heal();
    }
  });

  it('Redis killed and restarted empty: no evaluation fails, the projection is rebuilt, changes resume', async () => {
    const key = 'chaos-redis-restart';
    await liveFlag(key);
    load.reset();
    await fleet.killRedis();
    await fleet.startRedis();
    const revision = Number((await db.query("SELECT revision FROM environments WHERE key = 'production'")).rows[0].revision);
    await eventually(async () => Number(await redis.get('ripcord:env:production:version')) >= revision, 'the projection to be rebuilt from Postgres', 30_000);
    expect(await redis.hget('ripcord:env:production:flags', key)).toContain(key);
    const change = await eventually(async () => {
      const answer = await fleet.request('PUT', `/api/v1/flags/${key}/environments/production`, { enabled: false, value: true, off_value: false });
      return answer.status === 200 ? answer : undefined;
    }, 'a change to be accepted');
    for (const api of fleet.apis) await eventually(async () => (await evaluateOn(api.name, key)).body.value === false, `${api.name} to serve the change after the restart`, 15_000);
    await eventually(async () => fleet.lb.backends.every((b) => b.ready), 'every API ready again', 15_000);
    const figures = load.read();
    report('Redis killed and restarted empty', { revision, changeVersion: change.body.version, load: figures });
    expect(figures.failed).toBe(0);
    expect(figures.requests).toBeGreaterThan(0);
  });

  it('PostgreSQL down: evaluations go on, writes answer 503 with a clear message, and work again after', async () => {
    const key = 'chaos-pg-down';
    await liveFlag(key);
    load.reset();
    for (const link of fleet.linksTo('postgres')) link.set({ kind: 'reset' });
    let refused;
    try {
      refused = await fleet.request('PUT', `/api/v1/flags/${key}/environments/production`, { enabled: false, value: true, off_value: false });
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/database is unavailable/i) });
      for (const api of fleet.apis) expect((await evaluateOn(api.name, key)).body.value).toBe(true);
    } finally {
      for (const link of fleet.linksTo('postgres')) link.heal();
    }
    await eventually(async () => (await fleet.request('PUT', `/api/v1/flags/${key}/environments/production`, { enabled: false, value: true, off_value: false })).status === 200, 'writes to work again', 30_000);
    for (const api of fleet.apis) await eventually(async () => (await evaluateOn(api.name, key)).body.value === false, `${api.name} to serve the write`);
    const figures = load.read();
    report('PostgreSQL down', { refused: refused.body.error.message, load: figures });
    expect(figures.failed).toBe(0);
  });

  it('Temporal down during a kill and a rollout step: the kill is live at once; workflow, audit and alert happen exactly once after it returns', async () => {
    const killed = 'chaos-temporal-kill';
    // Unique: a rollout's workflow id is its flag's, and a run that failed mid-rollout leaves that id
    // running in the stack's Temporal (no worker polls its task queue any more) for the next run to trip on.
    const rolled = uniqueKey('chaos-temporal-rollout');
    await liveFlag(killed);
    await liveFlag(rolled);
    const started = await fleet.request('POST', `/api/v1/flags/${rolled}/environments/production/rollouts`, {
      plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '3 seconds' }, { percentage: 50, hold: '3 seconds' }, { percentage: 100 }] },
    });
    expect(started.status).toBe(201);
    await eventually(async () => (await auditCount('rollout.step', rolled)) >= 1, 'the first rollout step');
    // The test's own client reaches Temporal directly: it reads the rollout's history while the fleet can't.
    const rollout = temporal.workflow.getHandle(rolloutWorkflowId('production', rolled));
    const history = async () => (await rollout.fetchHistory()).events ?? [];
    // A hold's timer already in the server's history, with more than a second to run when the links
    // drop: it falls due during the outage, whatever the fleet's worker can reach.
    const holdTimer = await eventually(async () => {
      const events = await history();
      const fired = new Set(events.map((event) => event.timerFiredEventAttributes?.timerId).filter(Boolean));
      const pending = events.find((event) => {
        const timer = event.timerStartedEventAttributes;
        return timer && !fired.has(timer.timerId) && tsToMs(event.eventTime) + tsToMs(timer.startToFireTimeout) > Date.now() + 1_000;
      });
      return pending?.timerStartedEventAttributes?.timerId;
    }, 'a hold timer of the rollout scheduled on the server');
    for (const link of fleet.linksTo('temporal')) link.set({ kind: 'reset' });
    let kill: { status: number; body: { version: number; workflow: { id: string; status: string } } };
    try {
      kill = await fleet.request('POST', `/api/v1/flags/${killed}/environments/production/kill-switch`, { reason: 'temporal is down' });
      expect(kill.status).toBe(201);
      expect(kill.body.workflow.status).toBe('starting');
      for (const api of fleet.apis) await eventually(async () => (await evaluateOn(api.name, killed)).body.value === false, `${api.name} to serve the kill`, 5_000);
      // The rollout's next step falls due while Temporal is away: the hold's timer fires on the server.
      await eventually(async () => (await history()).some((event) => event.timerFiredEventAttributes?.timerId === holdTimer), 'the hold timer to fire during the outage', 30_000);
    } finally {
      for (const link of fleet.linksTo('temporal')) link.heal();
    }
    const outcome = await eventually(async () => temporal.workflow.getHandle(kill.body.workflow.id).result(), 'the kill workflow to run after Temporal returned', 60_000);
    expect(outcome.version).toBe(kill.body.version);
    await temporal.workflow.getHandle(rolloutWorkflowId('production', rolled)).result();
    await eventually(async () => alertsAbout(killed, 'Kill switch activated') >= 1, 'the kill alert');
    expect(await auditCount('kill_switch.activated', killed)).toBe(1);
    expect(alertsAbout(killed, 'Kill switch activated')).toBe(1);
    const steps = await db.query("SELECT metadata->>'label' AS label, count(*)::int AS n FROM audit_events WHERE action = 'rollout.step' AND resource_id = $1 GROUP BY 1 ORDER BY 1", [rolled]);
    expect(steps.rows).toEqual([{ label: 'step:0', n: 1 }, { label: 'step:1', n: 1 }, { label: 'step:2', n: 1 }]);
    report('Temporal down', { killWorkflow: kill.body.workflow.id, confirmation: outcome.convergence, rolloutSteps: steps.rows });
  });

  it('a worker SIGKILLed mid-kill-workflow and mid-rollout: the other worker finishes both, every step audited once, the kill live throughout', async () => {
    const killed = 'chaos-crash-kill';
    const rolled = uniqueKey('chaos-crash-rollout'); // unique, as above
    await liveFlag(killed);
    await liveFlag(rolled);
    const [doomed, survivor] = fleet.workers as [FleetProcess, FleetProcess];
    const doomedIdentity = new RegExp(`^${doomed.child.pid}@`);
    load.reset();
    const killLoad = new EvaluationLoad({ url: fleet.url, token: FLEET_ADMIN_TOKEN, flag: () => killed, ratePerSecond: 20, concurrency: 1 });
    let kill: { status: number; body: { version: number; workflow: { id: string } } } = { status: 0, body: { version: 0, workflow: { id: '' } } };
    let crashedAt = 0;
    // The survivor is cut off from Temporal for a moment so that both workflows run on the doomed worker;
    // api-1 is cut off from Redis so that the kill's confirmation waits for its acknowledgement (5 s at
    // most): that wait is the moment the doomed worker dies.
    fleet.link(survivor.name, 'temporal').set({ kind: 'reset' });
    try {
      const started = await fleet.request('POST', `/api/v1/flags/${rolled}/environments/production/rollouts`, {
        plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '8 seconds' }, { percentage: 50, hold: '2 seconds' }, { percentage: 100 }] },
      });
      expect(started.status).toBe(201);
      await eventually(async () => (await auditCount('rollout.step', rolled)) >= 1, 'the first rollout step');
      fleet.link('api-1', 'redis').set({ kind: 'blackhole' });
      await eventually(async () => !fleet.lb.isReady('api-1'), 'the load balancer to take api-1 out', 15_000);
      kill = await fleet.request('POST', `/api/v1/flags/${killed}/environments/production/kill-switch`, { reason: 'worker crash drill' });
      expect(kill.status).toBe(201);
      // The replica that answered serves the kill at once; the other one in the balancer within its
      // pub/sub round trip (docs/architecture.md), which on a loaded machine the load's first requests
      // can beat. The load, and with it the claim "every answer was the kill", starts once both serve it.
      for (const api of ['api-0', 'api-2']) await eventually(async () => (await evaluateOn(api, killed)).body.value === false, `${api} to serve the kill`, 5_000);
      killLoad.start();
      const confirming = await eventually(async () => {
        const { raw } = await temporal.workflow.getHandle(kill.body.workflow.id).describe();
        return raw.pendingActivities?.find((a) => a.activityType?.name === 'confirmAcks' && a.attempt === 1 && a.lastWorkerIdentity);
      }, 'the kill workflow to be confirming on a worker', 15_000);
      expect(confirming.lastWorkerIdentity).toMatch(doomedIdentity);
      const rollout = temporal.workflow.getHandle(rolloutWorkflowId('production', rolled));
      const lastTaskBy = ((await rollout.fetchHistory()).events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes).at(-1)?.workflowTaskCompletedEventAttributes?.identity;
      expect(lastTaskBy).toMatch(doomedIdentity);
      expect((await rollout.describe()).status.name).toBe('RUNNING');
      await fleet.kill(doomed.name, 'SIGKILL');
      crashedAt = Date.now();
    } finally {
      fleet.link(survivor.name, 'temporal').heal();
      fleet.link('api-1', 'redis').heal();
    }
    const outcome = await (await startedWorkflow(temporal, kill.body.workflow.id)).result();
    const killFinishedMs = Date.now() - crashedAt;
    await temporal.workflow.getHandle(rolloutWorkflowId('production', rolled)).result();
    const rolloutFinishedMs = Date.now() - crashedAt;
    await eventually(async () => alertsAbout(killed, 'Kill switch activated') >= 1, 'the kill alert');
    const killFigures = await killLoad.stop();

    expect(outcome.version).toBe(kill.body.version);
    expect(await auditCount('kill_switch.activated', killed)).toBe(1);
    expect(alertsAbout(killed, 'Kill switch activated')).toBe(1);
    const steps = await db.query("SELECT metadata->>'label' AS label, count(*)::int AS n FROM audit_events WHERE action = 'rollout.step' AND resource_id = $1 GROUP BY 1 ORDER BY 1", [rolled]);
    expect(steps.rows).toEqual([{ label: 'step:0', n: 1 }, { label: 'step:1', n: 1 }, { label: 'step:2', n: 1 }]);
    const evaluations = load.read();
    report('worker SIGKILLed mid-kill and mid-rollout', {
      killFinishedAfterCrashMs: killFinishedMs, rolloutFinishedAfterCrashMs: rolloutFinishedMs, confirmation: outcome.convergence,
      killedFlag: killFigures, load: evaluations,
    });
    // Every answer about the killed flag, from the moment both balanced replicas served the kill (before the crash), was the kill.
    expect(killFigures.failed).toBe(0);
    // Which replica answered what, and when the last of each value was asked (ms after the kill's response).
    expect(killFigures.values, JSON.stringify({ byBackend: killFigures.valueBackends, lastSentMs: killFigures.valueLastSentMs })).toEqual({ false: killFigures.requests });
    expect(evaluations.failed).toBe(0);
  });
});
