import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_PIPELINE } from '../../src/temporal/search-attributes.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { auditEvents, createEnvironmentToken, createUser, type TestUser } from './governance-helpers.js';

// Release pipelines on the real dev server (real timers): the API starts one releasePipeline workflow,
// its phases run the rollout workflow as children, and OFREP answers change in each environment in turn.

const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
let stack: Stack;
let editor: TestUser;
const clients = {} as Record<(typeof ENVIRONMENTS)[number], string>;

beforeAll(async () => {
  stack = await startStack();
  editor = await createUser(stack, 'editor');
  for (const environment of ENVIRONMENTS) clients[environment] = (await createEnvironmentToken(stack, 'client', environment)).token;
});
afterAll(async () => {
  await stack?.close();
});

async function newFlag(): Promise<string> {
  const key = uniqueKey('pipe-api');
  expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
  return key;
}

async function newTemplate(phases: unknown[]): Promise<string> {
  const name = uniqueKey('tpl').toLowerCase();
  const created = await stack.request('POST', '/api/v1/release-templates', { body: { name, description: 'test', phases } });
  expect(created.status).toBe(201);
  return name;
}

/** What OFREP serves the flag in an environment (client token of that environment). */
const served = async (key: string, environment: (typeof ENVIRONMENTS)[number]) =>
  (await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'user-1' } }, token: clients[environment] })).body.value;

const pipelinePath = (key: string) => `/api/v1/flags/${key}/pipelines`;

async function pipelineWhen(key: string, id: string, done: (p: Record<string, never> & { status: string; phases: Array<{ status: string }> }) => boolean, what: string) {
  return eventually(async () => {
    const got = await stack.request('GET', `${pipelinePath(key)}/${id}`);
    return got.status === 200 && done(got.body) ? got.body : undefined;
  }, what, 30_000);
}

describe('release pipelines through the API', () => {
  it('validates templates, naming the field, and keeps them audited', async () => {
    const unknownEnv = await stack.request('POST', '/api/v1/release-templates', {
      body: { name: 'bad-env', phases: [{ environment: 'moon', plan: { strategy: 'immediate', percentage: 10 } }] },
    });
    expect(unknownEnv.status).toBe(400);
    expect(unknownEnv.body.error.details[0].path).toBe('body.phases.0.environment');
    const badPlan = await stack.request('POST', '/api/v1/release-templates', {
      body: { name: 'bad-plan', phases: [{ environment: 'staging', plan: { strategy: 'gradual', steps: [{ percentage: 150 }] }, approval: { role: 'boss' } }] },
    });
    expect(badPlan.status).toBe(400);
    expect(badPlan.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['body.phases.0.plan.steps.0.percentage', 'body.phases.0.approval.role']));
    const twoGuards = await stack.request('POST', '/api/v1/release-templates', {
      body: {
        name: 'two-guards', phases: [{
          environment: 'staging', guard: { source: 'events', max_error_rate: 0.1 },
          plan: { strategy: 'immediate', percentage: 10, guard: { source: 'events', max_error_rate: 0.1 } },
        }],
      },
    });
    expect(twoGuards.body.error.details[0].path).toBe('body.phases.0.guard');
    expect((await stack.request('POST', '/api/v1/release-templates', { body: { name: 'No Caps', phases: [] } })).body.error.details.map((d: { path: string }) => d.path))
      .toEqual(['body.name', 'body.phases']);

    const name = await newTemplate([{ environment: 'staging', plan: { strategy: 'immediate', percentage: 10 } }]);
    expect((await stack.request('POST', '/api/v1/release-templates', { body: { name, phases: [{ environment: 'staging', plan: { strategy: 'immediate', percentage: 1 } }] } })).status).toBe(409);
    const replaced = await stack.request('PUT', `/api/v1/release-templates/${name}`, { body: { phases: [{ environment: 'production', soak: '1 hour', plan: { strategy: 'immediate', percentage: 5 } }] } });
    expect(replaced.body).toMatchObject({ name, version: 2, phases: [{ environment: 'production', soak: '1 hour' }] });
    expect((await stack.request('GET', '/api/v1/release-templates')).body.templates.map((t: { name: string }) => t.name)).toContain(name);
    expect((await stack.request('DELETE', `/api/v1/release-templates/${name}`)).status).toBe(204);
    expect((await stack.request('GET', `/api/v1/release-templates/${name}`)).status).toBe(404);
    const audit = await stack.request('GET', `/api/v1/audit?resource_type=release_template&resource_id=${name}`);
    const actions = (audit.body.events as Array<{ action: string }>).map((e) => e.action);
    expect(actions.sort()).toEqual(['release_template.created', 'release_template.deleted', 'release_template.updated']);
  });

  it('advances development → staging (approved by someone else) → production, OFREP answers changing in each', async () => {
    const key = await newFlag();
    const template = await newTemplate([
      { environment: 'development', plan: { strategy: 'immediate', percentage: 100 } },
      { environment: 'staging', approval: { role: 'editor' }, plan: { strategy: 'immediate', percentage: 100 }, soak: '1s' },
      { environment: 'production', plan: { strategy: 'gradual', steps: [{ percentage: 100 }] } },
    ]);
    for (const environment of ENVIRONMENTS) expect(await served(key, environment)).toBe(false);

    const started = await stack.request('POST', pipelinePath(key), { body: { template } });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ workflow_id: `pipeline:${key}`, template });
    expect((await stack.request('POST', pipelinePath(key), { body: { template } })).status).toBe(409);

    const waiting = await pipelineWhen(key, started.body.id, (p) => p.status === 'waiting_approval', 'the staging approval gate');
    expect(waiting.phases.map((p: { status: string }) => p.status)).toEqual(['completed', 'waiting_approval', 'pending']);
    await eventually(async () => (await served(key, 'development')) === true, 'development to serve true');
    expect(await served(key, 'staging')).toBe(false);

    const self = await stack.request('POST', `${pipelinePath(key)}/current/approve`, { body: {} });
    expect(self.status).toBe(403);
    expect(self.body.error.message).toMatch(/whoever started the pipeline/);
    const approved = await stack.request('POST', `${pipelinePath(key)}/current/approve`, { body: {}, token: editor.token });
    expect(approved.status).toBe(200);
    expect(approved.body.phases[1].approvals).toEqual([expect.objectContaining({ by: editor.id, role: 'editor' })]);

    const done = await pipelineWhen(key, started.body.id, (p) => p.status === 'completed', 'the pipeline to complete');
    for (const environment of ENVIRONMENTS) expect(await served(key, environment)).toBe(true);
    expect(done.phases).toEqual(ENVIRONMENTS.map((environment) => expect.objectContaining({
      environment, status: 'completed', workflow_id: `rollout:${environment}:${key}`, url: expect.stringContaining(encodeURIComponent(`rollout:${environment}:${key}`)),
    })));

    // In Temporal: each phase's rollout is a child of the pipeline and carries its ReleasePipeline search attribute.
    const child = await stack.temporal.workflow.getHandle(`rollout:production:${key}`).describe();
    expect(child.raw.workflowExecutionInfo?.parentExecution?.workflowId).toBe(`pipeline:${key}`);
    expect(child.typedSearchAttributes.get(RELEASE_PIPELINE)).toBe(`pipeline:${key}`);
    expect((await stack.temporal.workflow.getHandle(`pipeline:${key}`).describe()).typedSearchAttributes.get(RELEASE_PIPELINE)).toBe(`pipeline:${key}`);

    const list = await stack.request('GET', pipelinePath(key));
    expect(list.body.pipelines[0]).toMatchObject({ id: started.body.id, status: 'completed', finished_at: expect.any(String) });
    const audit = await stack.request('GET', `/api/v1/audit?flag=${key}&limit=50`);
    const actions = (audit.body.events as Array<{ action: string }>).map((e) => e.action);
    expect(actions.filter((a) => a.startsWith('pipeline.')).sort()).toEqual(['pipeline.approved', 'pipeline.completed', 'pipeline.started']);
  });

  it('stops when phase 2’s guard trips: staging rolls back, production never changes', async () => {
    const key = await newFlag();
    const template = await newTemplate([
      { environment: 'development', plan: { strategy: 'immediate', percentage: 100 } },
      {
        environment: 'staging', plan: { strategy: 'gradual', steps: [{ percentage: 50, hold: '1 hour' }, { percentage: 100 }] },
        guard: { source: 'events', max_error_rate: 0.2, min_samples: 10, interval: '1 second' },
      },
      { environment: 'production', plan: { strategy: 'immediate', percentage: 100 } },
    ]);
    const started = await stack.request('POST', pipelinePath(key), { body: { template } });
    expect(started.status).toBe(201);
    await pipelineWhen(key, started.body.id, (p) => p.phases[1]?.status === 'running', 'staging to start');
    await eventually(async () => (await stack.request('GET', `/api/v1/flags/${key}/environments/staging`)).body.rollout?.percentage === 50, 'staging at 50%');
    const reported = await stack.request('POST', '/api/v1/events', {
      body: { environment: 'staging', events: [{ flag: key, variant: 'on', outcome: 'error', count: 8 }, { flag: key, variant: 'on', outcome: 'success', count: 12 }] },
    });
    expect(reported.status).toBe(202);

    const stopped = await pipelineWhen(key, started.body.id, (p) => p.status === 'stopped', 'the guard to stop the pipeline');
    expect(stopped.reason).toMatch(/^phase 2 \(staging\) in staging: guard breached: /);
    expect(stopped.phases.map((p: { status: string }) => p.status)).toEqual(['completed', 'rolled_back', 'not_started']);
    expect(stopped.phases[1].breach).toMatchObject({ breached: true, source: 'events' });
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/staging`)).body.rollout).toMatchObject({ percentage: 0 });
    // The phase's child rollout carries the template's guard as its own plan's guard, and it is that guard that tripped.
    const rollouts = (await stack.request('GET', `/api/v1/flags/${key}/environments/staging/rollouts`)).body;
    const child = rollouts.rollouts.find((r: { id: string }) => r.id === stopped.phases[1].rollout_id);
    expect(child.plan.guard).toEqual({ source: 'events', max_error_rate: 0.2, min_samples: 10, interval: '1 second', action: 'rollback' });
    expect(child.status).toBe('rolled_back');
    expect(child.progress.guard.breach).toMatchObject({ breached: true, source: 'events', treated_error_rate: 0.4 });
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/development/rollouts`)).body.rollouts[0].plan.guard).toBeUndefined();
    expect(await served(key, 'development')).toBe(true);
    expect(await served(key, 'production')).toBe(false);
  });

  it('pauses and resumes, and a kill in one of its environments stops it', async () => {
    const key = await newFlag();
    const template = await newTemplate([
      { environment: 'staging', plan: { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] } },
      { environment: 'production', plan: { strategy: 'immediate', percentage: 100 } },
    ]);
    const started = await stack.request('POST', pipelinePath(key), { body: { template } });
    await pipelineWhen(key, started.body.id, (p) => p.phases[0]?.status === 'running', 'staging to start');
    const paused = await stack.request('POST', `${pipelinePath(key)}/current/pause`, { body: { reason: 'checking graphs' } });
    expect(paused.body).toMatchObject({ paused_reason: 'checking graphs' });
    await eventually(async () => (await stack.request('GET', `/api/v1/flags/${key}/environments/staging/rollouts`)).body.current?.status === 'paused', 'the phase rollout to pause');
    expect((await stack.request('POST', `${pipelinePath(key)}/current/pause`, { body: {} })).status).toBe(409);
    expect((await stack.request('POST', `${pipelinePath(key)}/current/resume`)).status).toBe(200);

    const kill = await stack.request('POST', `/api/v1/flags/${key}/environments/staging/kill-switch`, { body: { reason: 'error spike' } });
    expect(kill.status).toBe(201);
    const stopped = await pipelineWhen(key, started.body.id, (p) => p.status === 'stopped', 'the kill to stop the pipeline');
    expect(stopped.reason).toBe('kill switch activated in staging: error spike');
    expect(stopped.phases.map((p: { status: string }) => p.status)).toEqual(['aborted', 'not_started']);
    expect(await served(key, 'production')).toBe(false);
    // Refused: 409 while the workflow finishes (it answers "already stopped"), 404 once the read model says it ended.
    expect([404, 409]).toContain((await stack.request('POST', `${pipelinePath(key)}/current/resume`)).status);
  });
});

describe('release pipelines under a change policy', () => {
  const POLICY = '/api/v1/environments/production/change-policy';
  afterEach(async () => {
    // Later tests and files write production configs and start rollouts there: the policy must not outlive a test.
    expect((await stack.request('PUT', POLICY, { body: { required_approvals: 0 } })).status).toBe(200);
  });

  it('holds the production phase at a policy gate: the starter’s approval and a non-approver’s are refused, another editor’s starts it; a bypass skips it, audited', async () => {
    const [starter, reviewer, viewer] = [await createUser(stack, 'editor'), await createUser(stack, 'editor'), await createUser(stack, 'viewer')];
    expect((await stack.request('PUT', POLICY, { body: { required_approvals: 1, covers: ['rollouts'] } })).status).toBe(200);
    const key = await newFlag();
    const template = await newTemplate([
      { environment: 'staging', plan: { strategy: 'immediate', percentage: 100 } },
      { environment: 'production', plan: { strategy: 'immediate', percentage: 100 } },
    ]);
    const started = await stack.request('POST', pipelinePath(key), { body: { template }, token: starter.token });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const waiting = await pipelineWhen(key, started.body.id, (p) => p.status === 'waiting_approval', 'the production policy gate');
    expect(waiting.phases[0]).toMatchObject({ status: 'completed', policy: null });
    expect(waiting.phases[1]).toMatchObject({
      status: 'waiting_approval', approval: null, started_at: null,
      policy: { environment: 'production', required_approvals: 1, approver_user_ids: [], approver_role: null, covers: ['rollouts'] },
    });
    expect(await served(key, 'staging')).toBe(true);
    expect(await served(key, 'production')).toBe(false);

    const approve = (token: string) => stack.request('POST', `${pipelinePath(key)}/current/approve`, { body: {}, token });
    const self = await approve(starter.token);
    expect(self.status).toBe(403);
    expect(self.body.error.message).toMatch(/self-approval is refused/);
    const outsider = await approve(viewer.token);
    expect(outsider.status).toBe(403);
    expect(outsider.body.error.message).toMatch(/production’s change policy takes approvals only from users who may change flags in production/);
    const approved = await approve(reviewer.token);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.phases[1].approvals).toEqual([expect.objectContaining({ by: reviewer.id, counts: ['policy'] })]);
    await pipelineWhen(key, started.body.id, (p) => p.status === 'completed', 'the production phase to run once approved');
    expect(await served(key, 'production')).toBe(true);
    const [startEvent] = await auditEvents(stack, { resource_id: key, action: 'pipeline.started' });
    expect(startEvent).toMatchObject({ metadata: expect.objectContaining({ policyGates: [{ phase: 2, environment: 'production', requiredApprovals: 1 }] }) });

    // A bypass needs change_request:bypass and a reason; then no phase waits, and the start's audit event says why.
    const bypassKey = await newFlag();
    const bypass = { 'x-change-request-bypass': 'true' };
    const byEditor = await stack.request('POST', pipelinePath(bypassKey), { body: { template, reason: 'incident 9' }, token: starter.token, headers: bypass });
    expect(byEditor.status).toBe(403);
    expect(byEditor.body.error.message).toMatch(/change_request:bypass/);
    const noReason = await stack.request('POST', pipelinePath(bypassKey), { body: { template }, headers: bypass });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.details[0].path).toBe('body.reason');
    // Invisible characters are no reason (the rule every bypass shares).
    const invisible = await stack.request('POST', pipelinePath(bypassKey), { body: { template, reason: '\u200b\u2060' }, headers: bypass });
    expect(invisible.status, JSON.stringify(invisible.body)).toBe(400);
    const bypassed = await stack.request('POST', pipelinePath(bypassKey), { body: { template, reason: 'incident 9: ship the fix' }, headers: bypass });
    expect(bypassed.status, JSON.stringify(bypassed.body)).toBe(201);
    const done = await pipelineWhen(bypassKey, bypassed.body.id, (p) => p.status === 'completed', 'the bypassed pipeline to complete without a gate');
    expect(done.phases.map((p: { policy?: unknown; approvals: unknown[] }) => [p.policy ?? null, p.approvals])).toEqual([[null, []], [null, []]]);
    expect(await served(bypassKey, 'production')).toBe(true);
    const [bypassEvent] = await auditEvents(stack, { resource_id: bypassKey, action: 'pipeline.started' });
    expect(bypassEvent).toMatchObject({
      reason: 'incident 9: ship the fix',
      metadata: expect.objectContaining({ changePolicyBypass: true, bypassedPolicies: [{ phase: 2, environment: 'production', requiredApprovals: 1 }] }),
    });
  });
});
