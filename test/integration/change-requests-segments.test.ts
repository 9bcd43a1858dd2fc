import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { auditEvents, createFlag, createUser, type TestUser } from './governance-helpers.js';

/**
 * Change requests for segment edits (ADR 0007, "Segment edits"), against the real
 * API, worker, Postgres, Redis and Temporal: a segment targeted by a production config falls under
 * production's policy when it covers segments; one targeted only where no policy covers segments is
 * edited directly; the strictest covering policy sets the approvals and who may give them; a stale
 * base ends conflicted; a delete waits as a request and applies only once no flag uses the segment.
 */
let stack: Stack;
let author: TestUser;
let reviewer: TestUser;
let viewer: TestUser;
let admin: TestUser;
let admin2: TestUser;

const policyPath = (env: string) => `/api/v1/environments/${env}/change-policy`;
const setPolicy = async (env: string, body: Record<string, unknown>) => {
  const response = await stack.request('PUT', policyPath(env), { body });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
};
const served = async (key: string, tier: string, env = 'production') =>
  (await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: 'u1', tier } }, headers: { 'x-environment': env } })).body.value;
const segmentOf = async (key: string) => (await stack.request('GET', `/api/v1/segments/${key}`)).body;
const approve = (id: string, user: TestUser) => stack.request('POST', `/api/v1/change-requests/${id}/approve`, { token: user.token });
const settled = (id: string, status: string) =>
  eventually(async () => {
    const r = await stack.request('GET', `/api/v1/change-requests/${id}`);
    return r.body.status === status ? r.body : undefined;
  }, `change request ${id} to be ${status}`, 30_000);

async function ruleSegment(): Promise<{ key: string; version: number }> {
  const key = uniqueKey('cr-seg');
  const created = await stack.request('POST', '/api/v1/segments', {
    token: author.token, body: { key, name: 'Enterprise', kind: 'rule', conditions: [{ field: 'tier', operator: 'equals', value: 'enterprise' }] },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { key, version: created.body.version };
}

/** A flag whose config in `env` serves true to the segment's users (and false to everyone else). */
async function targetingFlag(segment: string, env = 'production'): Promise<string> {
  const key = await createFlag(stack, 'cr-seg-flag');
  const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/${env}`, {
    body: { enabled: true, value: true, off_value: false, targeting: [{ id: 'cohort', segments: [segment], percentage: 100 }], rollout: { percentage: 0, strategy: 'gradual' } },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  return key;
}

const proConditions = [{ field: 'tier', operator: 'in', value: ['enterprise', 'pro'] }];

beforeAll(async () => {
  stack = await startStack();
  [author, reviewer, viewer, admin, admin2] = [
    await createUser(stack, 'editor'), await createUser(stack, 'editor'), await createUser(stack, 'viewer'), await createUser(stack, 'admin'), await createUser(stack, 'admin'),
  ];
});
afterEach(async () => {
  // Later test files write production and staging as the bootstrap admin: no policy may outlive a test.
  await setPolicy('production', { required_approvals: 0 });
  await setPolicy('staging', { required_approvals: 0 });
});
afterAll(async () => {
  await stack?.close();
});

describe('change requests for segment edits', () => {
  it('turns an edit of a segment a production config targets into a request; another user’s approval applies it', async () => {
    // Segments are opt-in: a policy set without `covers` does not cover them.
    await setPolicy('production', { required_approvals: 1 });
    expect((await stack.request('GET', policyPath('production'))).body.covers).toEqual(['configs', 'scheduled_changes', 'rollouts']);
    await setPolicy('production', { required_approvals: 0 });
    const segment = await ruleSegment();
    const flag = await targetingFlag(segment.key);
    await setPolicy('production', { required_approvals: 1, covers: ['configs', 'segments'] });
    await eventually(async () => (await served(flag, 'enterprise')) === true, 'the segment to be served');
    expect(await served(flag, 'pro')).toBe(false);

    const made = await stack.request('PUT', `/api/v1/segments/${segment.key}`, { token: author.token, body: { conditions: proConditions, reason: 'pro gets it too' } });
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    expect(made.body.message).toMatch(/targeted in 'production'.*requires 1 approval.*not applied/);
    const request = made.body.change_request;
    expect(request).toMatchObject({
      kind: 'segment', source: 'update', flag: null, segment: segment.key, environment: 'production', environments: ['production'],
      status: 'pending', base_version: segment.version, required_approvals: 1, reason: 'pro gets it too',
      proposed: expect.objectContaining({ key: segment.key, kind: 'rule', conditions: proConditions }),
    });
    expect(request.diff).toEqual([{ field: 'conditions', before: [{ field: 'tier', operator: 'equals', value: 'enterprise' }], after: proConditions }]);
    // Not applied: the segment and what OFREP serves are unchanged.
    expect((await segmentOf(segment.key)).version).toBe(segment.version);
    expect(await served(flag, 'pro')).toBe(false);

    const self = await approve(request.id, author);
    expect(self.status).toBe(403);
    expect(self.body.error.message).toMatch(/self-approval is refused/);
    expect((await approve(request.id, viewer)).status).toBe(403);
    const approved = await approve(request.id, reviewer);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.workflow_id).toBe(`change-request:segment:${segment.key}:${request.id}`);
    expect(approved.body.workflow_url).toBe(`${stack.config.TEMPORAL_UI_URL}/namespaces/${stack.config.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(approved.body.workflow_id)}`);
    expect(request.workflow_url).toBeNull();
    const applied = await settled(request.id, 'applied');
    const after = await segmentOf(segment.key);
    expect(after.conditions).toEqual(proConditions);
    expect(applied.applied_version).toBe(after.version);
    await eventually(async () => (await served(flag, 'pro')) === true, 'OFREP to serve the approved segment');

    // The write is the segment service's own: one segment.updated event, the author's, marked with the request.
    const updates = await auditEvents(stack, { resource_id: segment.key, action: 'segment.updated' });
    expect(updates).toEqual([expect.objectContaining({ user_id: author.id, reason: 'pro gets it too', metadata: expect.objectContaining({ changeRequestId: request.id, approvedBy: ['Test editor'] }) })]);
    const listed = await stack.request('GET', `/api/v1/change-requests?segment=${segment.key}&environment=production`);
    expect(listed.body.change_requests.map((r: { id: string }) => r.id)).toEqual([request.id]);
    expect((await stack.request('GET', `/api/v1/change-requests?segment=${segment.key}&environment=staging`)).body.change_requests).toEqual([]);
  });

  it('edits a segment targeted only where no policy covers segments directly; creating one is never gated', async () => {
    await setPolicy('production', { required_approvals: 1, covers: ['segments'] });
    const segment = await ruleSegment();
    const flag = await targetingFlag(segment.key, 'staging');
    const edited = await stack.request('PUT', `/api/v1/segments/${segment.key}`, { token: author.token, body: { conditions: proConditions } });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body.version).toBeGreaterThan(segment.version);
    await eventually(async () => (await served(flag, 'pro', 'staging')) === true, 'staging to serve the edited segment');
    expect((await stack.request('GET', `/api/v1/change-requests?segment=${segment.key}`)).body.change_requests).toEqual([]);
  });

  it('ends conflicted when a bypass changed the segment first; the bypass is audited with its reason', async () => {
    await setPolicy('production', { required_approvals: 1, covers: ['segments'] });
    const segment = await ruleSegment();
    const flag = await targetingFlag(segment.key);
    const made = await stack.request('PUT', `/api/v1/segments/${segment.key}`, { token: author.token, body: { conditions: proConditions } });
    expect(made.status).toBe(202);

    const bypassPath = `/api/v1/segments/${segment.key}`;
    const bypassHeaders = { 'x-change-request-bypass': 'true' };
    // The permission is admin's or an emergency responder's, and it needs a reason.
    expect((await stack.request('PUT', bypassPath, { token: author.token, body: { name: 'x', reason: 'x' }, headers: bypassHeaders })).status).toBe(403);
    const noReason = await stack.request('PUT', bypassPath, { body: { name: 'x' }, headers: bypassHeaders });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.details[0].path).toBe('body.reason');
    const bypass = await stack.request('PUT', bypassPath, { body: { conditions: [{ field: 'tier', operator: 'equals', value: 'vip' }], reason: 'incident 7: only VIPs' }, headers: bypassHeaders });
    expect(bypass.status, JSON.stringify(bypass.body)).toBe(200);
    const [event] = await auditEvents(stack, { resource_id: segment.key, action: 'segment.updated' });
    expect(event).toMatchObject({ user_id: 'bootstrap-admin', reason: 'incident 7: only VIPs', metadata: expect.objectContaining({ changePolicyBypass: true }) });
    await eventually(async () => (await served(flag, 'vip')) === true, 'the bypass to be served');

    expect((await approve(made.body.change_request.id, reviewer)).status).toBe(200);
    const conflicted = await settled(made.body.change_request.id, 'conflicted');
    expect(conflicted.outcome).toMatch(/stale base/);
    expect(await segmentOf(segment.key)).toMatchObject({ version: bypass.body.version, conditions: [{ field: 'tier', operator: 'equals', value: 'vip' }] });
    expect(await auditEvents(stack, { resource_id: segment.key, action: 'change_request.conflicted' })).toHaveLength(1);
  });

  it('takes the strictest covering policy: its approval count, and approvers every covering policy allows', async () => {
    await setPolicy('production', { required_approvals: 1, covers: ['segments'] });
    await setPolicy('staging', { required_approvals: 2, covers: ['segments'], approver_role: 'admin' });
    const segment = await ruleSegment();
    await targetingFlag(segment.key, 'production');
    const stagingFlag = await targetingFlag(segment.key, 'staging');
    const made = await stack.request('PUT', `/api/v1/segments/${segment.key}`, { token: author.token, body: { name: 'Enterprise and pro', conditions: proConditions } });
    expect(made.status, JSON.stringify(made.body)).toBe(202);
    const request = made.body.change_request;
    expect(request).toMatchObject({ environment: 'staging', environments: ['production', 'staging'], required_approvals: 2 });
    // Production would let an editor approve; staging's policy wants admins, and both must allow the approver.
    const editor = await approve(request.id, reviewer);
    expect(editor.status).toBe(403);
    expect(editor.body.error.message).toMatch(/'staging'/);
    expect((await approve(request.id, admin)).body.status).toBe('pending');
    expect((await approve(request.id, admin2)).body.status).toBe('approved');
    await settled(request.id, 'applied');
    expect(await segmentOf(segment.key)).toMatchObject({ name: 'Enterprise and pro', conditions: proConditions });
    await eventually(async () => (await served(stagingFlag, 'pro', 'staging')) === true, 'staging to serve the approved segment');
  });

  it('turns member changes and a delete into requests; a delete applies only once no flag uses the segment', async () => {
    await setPolicy('production', { required_approvals: 1, covers: ['segments'] });
    const key = uniqueKey('cr-list');
    expect((await stack.request('POST', '/api/v1/segments', { token: author.token, body: { key, kind: 'list', members: ['u1', 'u2'] } })).status).toBe(201);
    const flag = await targetingFlag(key);

    const members = await stack.request('POST', `/api/v1/segments/${key}/members`, { token: author.token, body: { add: ['u3'], remove: ['u1'] } });
    expect(members.status, JSON.stringify(members.body)).toBe(202);
    expect(members.body.change_request).toMatchObject({ source: 'members', proposed: expect.objectContaining({ members: ['u2', 'u3'] }) });
    expect(members.body.change_request.diff).toEqual([
      { field: 'members', before: { count: 2, removed: 1, first_removed: ['u1'] }, after: { count: 2, added: 1, first_added: ['u3'] } },
    ]);
    expect((await stack.request('POST', `/api/v1/change-requests/${members.body.change_request.id}/withdraw`, { token: author.token })).body.status).toBe('withdrawn');

    const deletes = [];
    for (let i = 0; i < 2; i++) {
      const made = await stack.request('DELETE', `/api/v1/segments/${key}`, { token: author.token, body: { reason: 'retired' } });
      expect(made.status, JSON.stringify(made.body)).toBe(202);
      expect(made.body.change_request).toMatchObject({ kind: 'segment', source: 'delete', proposed: null, diff: [{ field: 'deleted', before: false, after: true }] });
      deletes.push(made.body.change_request.id as string);
    }
    // Still targeted by the flag: approved, it fails instead of breaking the flag.
    expect((await approve(deletes[0]!, reviewer)).status).toBe(200);
    expect((await settled(deletes[0]!, 'failed')).outcome).toMatch(/is used by/);
    expect((await segmentOf(key)).key).toBe(key);

    // Once the config moves off it, the approved delete applies (the segment is no longer served anywhere).
    const moved = await stack.request('PUT', `/api/v1/flags/${flag}/environments/production`, { body: { enabled: true, value: true, off_value: false, targeting: [] } });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect((await approve(deletes[1]!, reviewer)).status).toBe(200);
    await settled(deletes[1]!, 'applied');
    expect((await stack.request('GET', `/api/v1/segments/${key}`)).status).toBe(404);
    expect(await auditEvents(stack, { resource_id: key, action: 'segment.deleted' })).toEqual([
      expect.objectContaining({ user_id: author.id, reason: 'retired', metadata: expect.objectContaining({ changeRequestId: deletes[1] }) }),
    ]);
  });

  it('re-checks at apply: a newly covered environment conflicts; an author no longer active fails it; nothing is written', async () => {
    await setPolicy('production', { required_approvals: 1, covers: ['segments'] });
    await setPolicy('staging', { required_approvals: 1, covers: ['segments'] });
    const segment = await ruleSegment();
    await targetingFlag(segment.key, 'production');
    const made = await stack.request('PUT', `/api/v1/segments/${segment.key}`, { token: author.token, body: { conditions: proConditions } });
    expect(made.body.change_request).toMatchObject({ environments: ['production'] });
    // While it waits, a staging config starts targeting the segment: staging's policy was never asked.
    await targetingFlag(segment.key, 'staging');
    expect((await approve(made.body.change_request.id, reviewer)).status).toBe(200);
    expect((await settled(made.body.change_request.id, 'conflicted')).outcome).toMatch(/now targeted in 'staging'/);

    const leaving = await createUser(stack, 'editor');
    const second = await stack.request('PUT', `/api/v1/segments/${segment.key}`, { token: leaving.token, body: { conditions: proConditions } });
    expect(second.body.change_request).toMatchObject({ environments: ['production', 'staging'] });
    expect((await stack.request('DELETE', `/api/v1/users/${leaving.id}`, { body: { reason: 'left the team' } })).status).toBe(200);
    expect((await approve(second.body.change_request.id, reviewer)).status).toBe(200);
    expect((await settled(second.body.change_request.id, 'failed')).outcome).toMatch(/author Test editor is no longer an active user.*nothing was applied/);
    expect(await segmentOf(segment.key)).toMatchObject({ version: segment.version, conditions: [{ field: 'tier', operator: 'equals', value: 'enterprise' }] });
    expect(await auditEvents(stack, { resource_id: segment.key, action: 'segment.updated' })).toEqual([]);
  });
});
