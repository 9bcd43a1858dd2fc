import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type Stack } from './harness.js';
import { auditEvents, createFlag, createUser, type TestUser } from './governance-helpers.js';

/**
 * Change requests, against the real API, worker, Postgres and Temporal: a production
 * policy turns an editor's PUT into a request, self-approval is refused, another user's approval
 * applies it through the changeRequest workflow (OFREP answers change), a stale base ends conflicted
 * without overwriting, a kill is never blocked (API and alert trigger), a bypass applies directly and
 * is audited with its reason, and two approvals at once apply once.
 */
let stack: Stack;
let author: TestUser;
let reviewer: TestUser;
let second: TestUser;
let responder: TestUser;
let viewer: TestUser;

const POLICY = '/api/v1/environments/production/change-policy';
const config = (value: boolean) => ({ enabled: true, value, off_value: !value });
const put = (key: string, body: unknown, token: string, headers: Record<string, string> = {}) =>
  stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body, token, headers });
const served = async (key: string) =>
  (await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'u1' } }, headers: { 'x-environment': 'production' } })).body.value;
const requestOf = (id: string) => stack.request('GET', `/api/v1/change-requests/${id}`);
const settled = (id: string, status: string) =>
  eventually(async () => {
    const r = await requestOf(id);
    return r.body.status === status ? r.body : undefined;
  }, `change request ${id} to be ${status}`, 30_000);

beforeAll(async () => {
  stack = await startStack();
  [author, reviewer, second, responder, viewer] = [
    await createUser(stack, 'editor'), await createUser(stack, 'editor'), await createUser(stack, 'editor'),
    await createUser(stack, 'emergency_responder'), await createUser(stack, 'viewer'),
  ];
});
afterEach(async () => {
  // Later test files write production configs as the bootstrap admin: the policy must not outlive a test.
  expect((await stack.request('PUT', POLICY, { body: { required_approvals: 0 } })).status).toBe(200);
});
afterAll(async () => {
  await stack?.close();
});

describe('change requests', () => {
  it('turns an editor’s PUT into a request; self-approval is refused; another user’s approval applies it', async () => {
    const key = await createFlag(stack, 'cr');
    expect(await served(key)).toBe(false);
    // Only admins set policies; the change is audited.
    expect((await stack.request('PUT', POLICY, { body: { required_approvals: 1 }, token: author.token })).status).toBe(403);
    const policy = await stack.request('PUT', POLICY, { body: { required_approvals: 1, reason: 'SOX' } });
    expect(policy.body).toMatchObject({ environment: 'production', required_approvals: 1, covers: ['configs', 'scheduled_changes', 'rollouts'], restore_requires_approval: false });
    expect((await stack.request('GET', POLICY, { token: viewer.token })).body.required_approvals).toBe(1);

    const before = (await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.version;
    const made = await put(key, { ...config(true), reason: 'launch' }, author.token);
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    expect(made.body.message).toMatch(/requires 1 approval.*not applied/);
    const request = made.body.change_request;
    expect(request).toMatchObject({
      kind: 'config', flag: key, environment: 'production', status: 'pending', author: { id: author.id }, reason: 'launch',
      base_version: before, required_approvals: 1, approvals: [],
    });
    expect(request.diff).toContainEqual({ field: 'enabled', before: false, after: true });
    // Not applied: the config and what OFREP serves are unchanged.
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.version).toBe(before);
    expect(await served(key)).toBe(false);

    const self = await stack.request('POST', `/api/v1/change-requests/${request.id}/approve`, { token: author.token });
    expect(self.status).toBe(403);
    expect(self.body.error.message).toMatch(/self-approval is refused/);
    // A viewer may not write the flag, so may not approve it.
    expect((await stack.request('POST', `/api/v1/change-requests/${request.id}/approve`, { token: viewer.token })).status).toBe(403);

    const approved = await stack.request('POST', `/api/v1/change-requests/${request.id}/approve`, { token: reviewer.token, body: { comment: 'looks right' } });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.approvals).toEqual([expect.objectContaining({ user_id: reviewer.id, comment: 'looks right' })]);
    const applied = await settled(request.id, 'applied');
    expect(applied.applied_version).toBeGreaterThan(before);
    expect(await eventually(async () => (await served(key)) === true, 'OFREP to serve the approved change')).toBe(true);

    const listed = await stack.request('GET', `/api/v1/change-requests?flag=${key}&status=applied`);
    expect(listed.body.change_requests.map((r: { id: string }) => r.id)).toEqual([request.id]);
    // One audit event per action, each naming its actor.
    const events = await auditEvents(stack, { resource_id: key });
    const byAction = (action: string) => events.filter((e) => e.action === action);
    expect(byAction('change_request.created').map((e) => e.user_id)).toEqual([author.id]);
    expect(byAction('change_request.approved').map((e) => e.user_id)).toEqual([reviewer.id]);
    const update = byAction('flag.config.updated');
    expect(update).toHaveLength(1);
    expect(update[0]).toMatchObject({ user_id: author.id, metadata: expect.objectContaining({ changeRequestId: request.id, approvedBy: ['Test editor'] }) });
    const [policyEvent] = await auditEvents(stack, { action: 'change_policy.updated', resource_id: 'production', to: new Date(Date.parse(policy.body.updated_at) + 1).toISOString() });
    expect(policyEvent).toMatchObject({ user_id: 'bootstrap-admin', reason: 'SOX', new_value: expect.objectContaining({ required_approvals: 1 }) });
  });

  it('ends conflicted on a stale base without overwriting; a bypass applies at once and is audited with its reason', async () => {
    const key = await createFlag(stack, 'cr-stale');
    await stack.request('PUT', POLICY, { body: { required_approvals: 1 } });
    const made = await put(key, config(true), author.token);
    expect(made.status).toBe(202);

    // Bypass needs the permission and a reason.
    expect((await put(key, config(false), author.token, { 'x-change-request-bypass': 'true', 'x-audit-reason': 'x' })).status).toBe(403);
    const noReason = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, { body: { ...config(false), rollout: null }, headers: { 'x-change-request-bypass': 'true' } });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.details[0].path).toBe('body.reason');
    expect((await put(key, config(false), '', { 'x-change-request-bypass': 'yes' })).status).toBe(401);
    const bypass = await stack.request('PUT', `/api/v1/flags/${key}/environments/production`, {
      body: { enabled: true, value: false, off_value: true, reason: 'incident 42: force the fallback' }, headers: { 'x-change-request-bypass': 'true' },
    });
    expect(bypass.status, JSON.stringify(bypass.body)).toBe(200);
    const [event] = await auditEvents(stack, { resource_id: key, action: 'flag.config.updated' });
    expect(event).toMatchObject({ reason: 'incident 42: force the fallback', metadata: expect.objectContaining({ changePolicyBypass: true }) });
    expect(await served(key)).toBe(false);

    // The request was made against the version before the bypass: applying it would overwrite that.
    expect((await stack.request('POST', `/api/v1/change-requests/${made.body.change_request.id}/approve`, { token: reviewer.token })).status).toBe(200);
    const conflicted = await settled(made.body.change_request.id, 'conflicted');
    expect(conflicted.outcome).toMatch(/stale base/);
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body).toMatchObject({ value: false, off_value: true, version: bypass.body.version });
    expect(await auditEvents(stack, { resource_id: key, action: 'change_request.conflicted' })).toHaveLength(1);
  });

  it('never blocks a kill (API and alert trigger); releasing one needs approval when the policy says so', async () => {
    const key = await createFlag(stack, 'cr-kill');
    await stack.request('PUT', POLICY, { body: { required_approvals: 2, restore_requires_approval: true } });
    const killPath = `/api/v1/flags/${key}/environments/production/kill-switch`;
    const killed = await stack.request('POST', killPath, { token: responder.token, body: { reason: 'errors' } });
    expect(killed.status).toBe(201);

    const released = await stack.request('DELETE', killPath, { token: responder.token, body: { reason: 'recovered' } });
    expect(released.status, JSON.stringify(released.body)).toBe(202);
    expect(released.body.change_request).toMatchObject({ kind: 'restore', status: 'pending', required_approvals: 2 });
    expect((await stack.request('GET', killPath)).body.kill_switch?.enabled ?? (await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.kill_switch.enabled).toBe(true);
    const id = released.body.change_request.id;
    expect((await stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: reviewer.token })).body.status).toBe('pending');
    expect((await stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: reviewer.token })).status).toBe(409);
    expect((await stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: second.token })).body.status).toBe('approved');
    await settled(id, 'applied');
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.kill_switch.enabled).toBe(false);
    expect(await auditEvents(stack, { resource_id: key, action: 'kill_switch.deactivated' })).toEqual([expect.objectContaining({ user_id: responder.id, reason: 'recovered' })]);

    // An alert trigger kills under the same policy.
    const trigger = await stack.request('POST', `/api/v1/flags/${key}/environments/production/triggers`, { body: { name: 'errors', source: 'generic' } });
    expect(trigger.status).toBe(201);
    const fired = await stack.request('POST', trigger.body.path, { body: { status: 'firing', name: 'HighErrors' }, token: null });
    expect(fired.status, JSON.stringify(fired.body)).toBe(200);
    expect(fired.body).toMatchObject({ action: 'kill', changed: true });
    expect((await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.kill_switch.enabled).toBe(true);
    // An emergency responder may bypass the release, with a reason.
    const bypassed = await stack.request('DELETE', killPath, { token: responder.token, body: { reason: 'false alarm' }, headers: { 'x-change-request-bypass': 'true' } });
    expect(bypassed.status, JSON.stringify(bypassed.body)).toBe(200);
    expect((await auditEvents(stack, { resource_id: key, action: 'kill_switch.deactivated' }))[0]).toMatchObject({ reason: '[change policy bypassed] false alarm' });
  });

  it('a covered scheduled change becomes a request that applies at its time once approved', async () => {
    const key = await createFlag(stack, 'cr-scheduled');
    await stack.request('PUT', POLICY, { body: { required_approvals: 1, covers: ['scheduled_changes'] } });
    // Not covered: configs apply directly under this policy.
    expect((await put(key, { enabled: false, value: false, off_value: true }, author.token)).status).toBe(200);
    const at = new Date(Date.now() + 2_000).toISOString();
    const made = await stack.request('POST', `/api/v1/flags/${key}/environments/production/scheduled-changes`, {
      token: author.token, body: { at, config: config(true), reason: 'launch' },
    });
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    expect(made.body.change_request).toMatchObject({ source: 'scheduled', apply_at: at, status: 'pending' });
    const approved = await stack.request('POST', `/api/v1/change-requests/${made.body.change_request.id}/approve`, { token: reviewer.token });
    expect(approved.status).toBe(200);
    await settled(made.body.change_request.id, 'applied');
    expect(await served(key)).toBe(true);
    // Applied at its time, not at the approval: the audit log's own clock says so; the event is a
    // scheduled change's, as without a policy.
    const applied = await stack.db.query(
      `SELECT "timestamp" >= $2::timestamptz AS on_time FROM audit_events WHERE resource_id = $1 AND action = 'flag.config.scheduled_update' AND metadata ? 'changeRequestId'`,
      [key, at],
    );
    expect(applied.rows).toEqual([{ on_time: true }]);
  });

  it('applies once when two approvals arrive at the same moment; rejects and withdrawals are the right people’s', async () => {
    const key = await createFlag(stack, 'cr-race');
    await stack.request('PUT', POLICY, { body: { required_approvals: 1 } });
    const made = await put(key, config(true), author.token);
    const id = made.body.change_request.id;
    const answers = await Promise.all([reviewer, second].map((u) => stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: u.token })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    await settled(id, 'applied');
    expect(await auditEvents(stack, { resource_id: key, action: 'flag.config.updated' })).toHaveLength(1);

    const other = (await put(key, config(false), author.token)).body.change_request.id;
    expect((await stack.request('POST', `/api/v1/change-requests/${other}/reject`, { token: reviewer.token, body: {} })).status).toBe(400);
    expect((await stack.request('POST', `/api/v1/change-requests/${other}/withdraw`, { token: reviewer.token })).status).toBe(403);
    const rejected = await stack.request('POST', `/api/v1/change-requests/${other}/reject`, { token: reviewer.token, body: { comment: 'not during the sale' } });
    expect(rejected.body).toMatchObject({ status: 'rejected', decided_by: { id: reviewer.id }, decision_comment: 'not during the sale' });
    expect((await stack.request('POST', `/api/v1/change-requests/${other}/approve`, { token: second.token })).status).toBe(409);
    const third = (await put(key, config(false), author.token)).body.change_request.id;
    expect((await stack.request('POST', `/api/v1/change-requests/${third}/withdraw`, { token: author.token })).body.status).toBe('withdrawn');
    expect(await served(key)).toBe(true);
    expect((await stack.request('GET', '/api/v1/change-requests/8f1d1f7e-9c55-4a2b-9f3e-0c1d2e3f4a5b')).status).toBe(404);
    expect((await stack.request('GET', '/api/v1/change-requests?status=nope')).status).toBe(400);
  });
});
