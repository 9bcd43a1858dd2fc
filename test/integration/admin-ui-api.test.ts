import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { auditEvents, createEnvironmentToken, createFlag, createUser } from './governance-helpers.js';

// The server side of the admin UI: rollout audit with names, the dashboard endpoint,
// stream tickets, kill confirmation, per-flag metric rollups and "did you mean".

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const rolloutsPath = (key: string, env = 'staging') => `/api/v1/flags/${key}/environments/${env}/rollouts`;

/** Reads an SSE response until `done` says the text so far is enough (bounded). */
async function readStream(response: Response, done: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (!done(text) && Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now()))]);
      if (!chunk || chunk.done) break;
      text += decoder.decode(chunk.value);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

describe('admin UI API', () => {
  it('audits every rollout action once with its actor, names people, filters by actor name and by resource rollout', async () => {
    const key = await createFlag(stack, 'audited-rollout');
    const approver = await createUser(stack, 'editor');
    const name = `Ada Approver ${uniqueKey('n')}`;
    expect((await stack.request('PATCH', `/api/v1/users/${approver.id}`, { body: { name } })).status).toBe(200);

    const plan = { strategy: 'gradual', steps: [{ percentage: 10, approval: true }, { percentage: 50, approval: true }, { percentage: 100 }] };
    const started = await stack.request('POST', rolloutsPath(key), { body: { plan } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const waiting = () => eventually(async () => {
      const r = await stack.request('GET', rolloutsPath(key));
      return r.body.current?.status === 'waiting_approval' ? r.body.current : null;
    }, 'waiting for approval');
    await waiting();
    const approved = await stack.request('POST', `${rolloutsPath(key)}/current/approve`, { body: {}, token: approver.token });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/pause`, { body: { reason: 'look first' } })).status).toBe(200);
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/resume`, { body: {} })).status).toBe(200);
    expect((await stack.request('POST', `${rolloutsPath(key)}/current/abort`, { body: { rollback: true, reason: 'enough' } })).status).toBe(200);

    const events = await auditEvents(stack, { resource_type: 'rollout', resource_id: key });
    const actions = events.map((e) => e.action).reverse();
    for (const action of ['rollout.started', 'rollout.approved', 'rollout.paused', 'rollout.resumed', 'rollout.aborted']) {
      expect(actions.filter((a) => a === action), action).toHaveLength(1);
    }
    // The rollout's config changes (step, abort) are rollout events too.
    expect(actions).toContain('rollout.step');
    const approval = events.find((e) => e.action === 'rollout.approved')!;
    expect(approval).toMatchObject({ user_id: approver.id, actor_name: name, resource_type: 'rollout', environment: 'staging' });
    expect(approval.metadata).toMatchObject({ step: 1, totalSteps: 3 });
    expect(events.find((e) => e.action === 'rollout.aborted')).toMatchObject({ reason: 'enough', new_value: { rollback: true } });

    // The actor filter takes part of a name or an email; a flag's history includes its rollout events.
    const byName = await auditEvents(stack, { actor: name.split(' ').at(-1)!, resource_id: key });
    expect(byName.map((e) => e.action)).toEqual(['rollout.approved']);
    const email = (await stack.request('GET', `/api/v1/users/${approver.id}`)).body.email as string;
    expect((await auditEvents(stack, { actor: email.toUpperCase() })).map((e) => e.user_id)).toEqual([approver.id]);
    expect((await auditEvents(stack, { flag: key })).map((e) => e.action)).toContain('rollout.approved');

    const verify = await stack.request('GET', '/api/v1/audit/verify');
    expect(verify.body).toMatchObject({ ok: true });
    expect(verify.body.checked + verify.body.gaps).toBe(verify.body.last_seq);
  });

  it('serves the dashboard a keyset page of flags with states, rollouts and rates; and every running rollout', async () => {
    const tag = uniqueKey('dash');
    const keys: string[] = [];
    for (let i = 0; i < 5; i++) keys.push(await createFlag(stack, `dash-${i}`, [tag]));
    keys.sort();
    expect((await stack.request('PUT', `/api/v1/flags/${keys[1]}/environments/production`, { body: { enabled: true, value: true, off_value: false } })).status).toBe(200);
    expect((await stack.request('POST', `/api/v1/flags/${keys[2]}/environments/production/kill-switch`, { body: { reason: 'dash' } })).status).toBe(201);
    const started = await stack.request('POST', rolloutsPath(keys[3]!, 'production'), {
      body: { plan: { strategy: 'gradual', steps: [{ percentage: 20, approval: true }, { percentage: 100 }] } },
    });
    expect(started.status).toBe(201);

    const first = await stack.request('GET', `/api/v1/dashboard/flags?tag=${tag}&limit=2`);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.total).toBe(5);
    expect(first.body.flags.map((f: { key: string }) => f.key)).toEqual(keys.slice(0, 2));
    expect(first.body.flags[1].environments.production).toMatchObject({ state: 'on', enabled: true, killed: false });
    expect(first.body.flags[0].revision).toBe(1);
    expect(first.body.flags[0].evaluations_per_minute).toHaveLength(15);
    const second = await stack.request('GET', `/api/v1/dashboard/flags?tag=${tag}&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.flags.map((f: { key: string }) => f.key)).toEqual(keys.slice(2, 4));
    expect(second.body.flags[0].environments.production.state).toBe('killed');
    const withRollout = await eventually(async () => {
      const r = await stack.request('GET', `/api/v1/dashboard/flags?tag=${tag}&limit=2&cursor=${first.body.next_cursor}`);
      return r.body.flags[1].rollouts.length ? r.body.flags[1] : null;
    }, 'rollout on the dashboard');
    expect(withRollout.rollouts[0]).toMatchObject({ flag_key: keys[3], environment: 'production', step: 1, total_steps: 2 });

    const killed = await stack.request('GET', `/api/v1/dashboard/flags?tag=${tag}&state=killed&environment=production`);
    expect(killed.body.flags.map((f: { key: string }) => f.key)).toEqual([keys[2]]);
    const descending = await stack.request('GET', `/api/v1/dashboard/flags?tag=${tag}&sort=-key&limit=3`);
    expect(descending.body.flags.map((f: { key: string }) => f.key)).toEqual([...keys].reverse().slice(0, 3));
    const mixed = await stack.request('GET', `/api/v1/dashboard/flags?tag=${tag}&sort=updated&cursor=${first.body.next_cursor}`);
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.details[0].path).toBe('query.cursor');
    expect((await stack.request('GET', '/api/v1/dashboard/flags?sort=sideways')).body.error.details[0].path).toBe('query.sort');

    const running = await eventually(async () => {
      const r = await stack.request('GET', '/api/v1/dashboard/rollouts');
      return r.body.rollouts.find((x: { flag_key: string }) => x.flag_key === keys[3]);
    }, 'running rollout listed');
    expect(running.url).toContain(encodeURIComponent(`rollout:production:${keys[3]}`));
    await stack.request('POST', `${rolloutsPath(keys[3]!, 'production')}/current/abort`, { body: { rollback: false } });
  });

  it('lets a signed-in user open the stream with a single-use ticket, never with the admin token in the URL', async () => {
    const key = await createFlag(stack, 'streamed');
    const minted = await stack.request('POST', '/api/v1/stream/tickets', { body: { environments: ['staging', 'production'] } });
    expect(minted.status, JSON.stringify(minted.body)).toBe(201);
    const { ticket } = minted.body;
    const response = await fetch(`${stack.api.url}/api/v1/stream?ticket=${ticket}`);
    expect(response.status).toBe(200);
    const reading = readStream(response, (text) => text.includes(`"key":"${key}"`) && text.includes('"environment":"production"'));
    await eventually(async () => (await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { enabled: true, value: true, off_value: false } })).status === 200, 'change');
    const text = await reading;
    expect(text).toContain('event: ready');
    expect(text).toContain(`"key":"${key}"`);

    expect((await fetch(`${stack.api.url}/api/v1/stream?ticket=${ticket}`)).status).toBe(401);
    // Not a client token: answered like an unknown one (no validity oracle in URLs).
    expect((await fetch(`${stack.api.url}/api/v1/stream?token=${ADMIN_TOKEN}`)).status).toBe(401);
    const bad = await stack.request('POST', '/api/v1/stream/tickets', { body: { environments: ['nowhere'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('body.environments.0');
    const client = await createEnvironmentToken(stack, 'client', 'staging');
    expect((await stack.request('POST', '/api/v1/stream/tickets', { body: { environments: ['staging'] }, token: client.token })).status).toBe(403);
  });

  it('shows a kill confirmed on N/N replicas with its workflow link, and links the workflow that ran on a repeated kill', async () => {
    const key = await createFlag(stack, 'confirmed');
    const path = `/api/v1/flags/${key}/environments/production/kill-switch`;
    const kill = await stack.request('POST', path, { body: { reason: 'bad deploy' } });
    expect(kill.status).toBe(201);
    const status = await eventually(async () => {
      const r = await stack.request('GET', path);
      return r.body.confirmation?.status === 'confirmed' ? r.body : null;
    }, 'kill confirmation', 20_000);
    expect(status.kill_switch).toMatchObject({ enabled: true, reason: 'bad deploy' });
    expect(status.latest).toMatchObject({ action: 'activated', reason: 'bad deploy', workflow_id: kill.body.workflow.id, workflow_url: kill.body.workflow.url });
    expect(status.confirmation.total_replicas).toBeGreaterThanOrEqual(1);
    expect(status.confirmation.confirmed_replicas).toBe(status.confirmation.total_replicas);

    const again = await stack.request('POST', path, { body: { reason: 'again' } });
    expect(again.body).toMatchObject({ already_active: true, workflow: { id: kill.body.workflow.id } });
  });

  it('keeps per-minute evaluation rollups per environment and variant, and answers them as the flag\'s history', async () => {
    const key = await createFlag(stack, 'metered');
    await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { body: { enabled: true, value: true, off_value: false } });
    const client = await createEnvironmentToken(stack, 'client', 'staging');
    await eventually(async () => {
      const r = await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'u' } }, token: client.token });
      return r.status === 200 && r.body.value === true;
    }, 'flag served');
    for (let i = 0; i < 4; i++) await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: `u${i}` } }, token: client.token });
    const history = await eventually(async () => {
      const r = await stack.request('GET', `/api/v1/flags/${key}/metrics/history?window=hour`);
      const total = (r.body.series ?? []).flatMap((s: { points: Array<{ evaluations: number }> }) => s.points).reduce((n: number, p: { evaluations: number }) => n + p.evaluations, 0);
      return total >= 5 ? r.body : null;
    }, 'rollups flushed', 20_000);
    expect(history).toMatchObject({ flag_key: key, window: 'hour', bucket_seconds: 60 });
    expect(history.series.map((s: { environment: string }) => s.environment)).toEqual(['staging']);
    expect(history.last_evaluated.staging).toEqual(expect.any(String));
    const rows = await stack.db.query('SELECT sum(evaluations)::int AS n FROM flag_evaluation_minutes WHERE flag_key = $1', [key]);
    expect(rows.rows[0].n).toBeGreaterThanOrEqual(5);
    expect((await stack.request('GET', `/api/v1/flags/${key}/metrics/history?window=week`)).body.error.details[0].path).toBe('query.window');
  });

  it('answers a mistyped flag key with "did you mean"', async () => {
    const key = await createFlag(stack, 'suggestible');
    const typo = `${key.slice(0, -1)}${key.endsWith('x') ? 'y' : 'x'}`;
    const response = await stack.request('GET', `/api/v1/flags/${typo}`);
    expect(response.status).toBe(404);
    expect(response.body.error.message).toContain(`Did you mean '${key}'`);
    expect(response.body.error.details).toEqual({ did_you_mean: [key] });
  });
  it('audits scheduling and cancelling a change once each, with the actor', async () => {
    const key = await createFlag(stack, 'scheduled-audit');
    const editor = await createUser(stack, 'editor');
    const base = `/api/v1/flags/${key}/environments/staging/scheduled-changes`;
    const at = new Date(Date.now() + 24 * 3600_000).toISOString();
    const scheduled = await stack.request('POST', base, { body: { at, config: { enabled: true, value: true, off_value: false }, reason: 'launch' }, token: editor.token });
    expect(scheduled.status, JSON.stringify(scheduled.body)).toBe(201);
    expect((await stack.request('DELETE', `${base}/${scheduled.body.id}`, { token: editor.token })).status).toBe(200);
    const events = await auditEvents(stack, { resource_type: 'scheduled_change', resource_id: key });
    expect(events.map((e) => e.action)).toEqual(['scheduled_change.cancelled', 'scheduled_change.created']);
    for (const e of events) expect(e).toMatchObject({ user_id: editor.id, actor_name: 'Test editor', environment: 'staging', metadata: { changeId: scheduled.body.id } });
    expect(events[1]).toMatchObject({ reason: 'launch', metadata: { scheduledFor: at } });
    expect((await auditEvents(stack, { flag: key })).map((e) => e.action)).toContain('scheduled_change.created');
  });
});
