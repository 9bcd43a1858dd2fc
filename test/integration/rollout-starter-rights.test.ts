import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type Stack } from './harness.js';
import { createFlag, createUser } from './governance-helpers.js';

// A rollout's steps apply on its starter's authority, re-checked at each step as a scheduled change's
// or an approved change request's apply is: once the starter is demoted or deactivated, the next step
// is not applied, the refusal is audited naming why, and the rollout holds (paused) where it was.

let stack: Stack;
const ENV = 'staging';
const rolloutsPath = (key: string) => `/api/v1/flags/${key}/environments/${ENV}/rollouts`;

beforeAll(async () => {
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** Starts a two-step rollout as `token` and waits for the first step to apply and the second to wait at its gate. */
async function startAndReachGate(key: string, token: string) {
  const plan = { strategy: 'gradual', steps: [{ percentage: 10 }, { percentage: 60, approval: true }] };
  const started = await stack.request('POST', rolloutsPath(key), { token, body: { plan } });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  await eventually(async () => (await stack.request('GET', rolloutsPath(key))).body.current?.status === 'waiting_approval', 'the approval gate');
  expect((await stack.request('GET', `/api/v1/flags/${key}/environments/${ENV}`)).body.rollout).toMatchObject({ percentage: 10 });
  return started.body.workflow_id as string;
}

async function refusalsOf(key: string) {
  const result = await stack.db.query(
    `SELECT user_id, reason, metadata FROM audit_events WHERE action = 'rollout.step_refused' AND resource_id = $1 ORDER BY seq`, [key]);
  return result.rows as Array<{ user_id: string; reason: string; metadata: Record<string, unknown> }>;
}

async function stepsApplied(key: string): Promise<string[]> {
  const result = await stack.db.query(`SELECT metadata->>'label' AS label FROM audit_events WHERE action = 'rollout.step' AND resource_id = $1 ORDER BY seq`, [key]);
  return result.rows.map((r: { label: string }) => r.label);
}

describe('rollout steps re-check their starter’s rights', () => {
  it('holds the rollout at the next step once the starter was demoted: nothing applied, the refusal audited, resumable once restored', async () => {
    const starter = await createUser(stack, 'editor');
    const key = await createFlag(stack, 'starter-demoted');
    const workflowId = await startAndReachGate(key, starter.token);

    expect((await stack.request('PATCH', `/api/v1/users/${starter.id}`, { body: { role: 'viewer' } })).status).toBe(200);
    // An admin opens the gate: the step would still apply as the starter, who may no longer change the flag.
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/approve`)).status).toBe(200);

    const held = await eventually(async () => {
      const current = (await stack.request('GET', rolloutsPath(key))).body.current;
      return current?.status === 'paused' ? current : undefined;
    }, 'the rollout to hold');
    expect(held.paused_reason).toMatch(/^step 2 can't apply: rollout step 2 of 2 was not applied: its starter Test editor may no longer change '.+' in 'staging'/);
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/${ENV}`)).body.rollout).toMatchObject({ percentage: 10 });
    expect(await stepsApplied(key)).toEqual(['step:0']);
    const [refusal, ...more] = await refusalsOf(key);
    expect(more).toEqual([]);
    expect(refusal).toMatchObject({ user_id: 'rollout-workflow', metadata: { startedBy: starter.id, label: 'step:1', workflowId } });
    expect(refusal!.reason).toContain('may no longer change');

    // Restored, the rollout resumes and the step applies (still as the starter).
    expect((await stack.request('PATCH', `/api/v1/users/${starter.id}`, { body: { role: 'editor' } })).status).toBe(200);
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/resume`)).status).toBe(200);
    await stack.temporal.workflow.getHandle(workflowId).result();
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/${ENV}`)).body.rollout).toMatchObject({ percentage: 60 });
    const applied = await stack.db.query(`SELECT user_id FROM audit_events WHERE action = 'rollout.step' AND resource_id = $1 AND metadata->>'label' = 'step:1'`, [key]);
    expect(applied.rows).toEqual([{ user_id: starter.id }]);
  });

  it('holds at the next step once the starter was deactivated; a resume re-checks and holds again (audited again); abort ends it', async () => {
    const starter = await createUser(stack, 'editor');
    const key = await createFlag(stack, 'starter-gone');
    const workflowId = await startAndReachGate(key, starter.token);

    expect((await stack.request('DELETE', `/api/v1/users/${starter.id}`, { body: { reason: 'left the company' } })).status).toBe(200);
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/approve`)).status).toBe(200);
    const held = await eventually(async () => {
      const current = (await stack.request('GET', rolloutsPath(key))).body.current;
      return current?.status === 'paused' ? current : undefined;
    }, 'the rollout to hold');
    expect(held.paused_reason).toContain('its starter Test editor is no longer an active user');

    expect((await stack.request('POST', `${rolloutsPath(key)}/current/resume`)).status).toBe(200);
    await eventually(async () => (await refusalsOf(key)).length === 2, 'the second refusal');
    await eventually(async () => (await stack.request('GET', rolloutsPath(key))).body.current?.status === 'paused', 'the rollout to hold again');
    expect(await stepsApplied(key)).toEqual(['step:0']);

    expect((await stack.request('POST', `${rolloutsPath(key)}/current/abort`, { body: { rollback: true } })).status).toBe(200);
    await stack.temporal.workflow.getHandle(workflowId).result();
    // A rollback takes traffic back on nobody's new authority: it is never refused.
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/${ENV}`)).body.rollout).toMatchObject({ percentage: 0 });
  });
});
