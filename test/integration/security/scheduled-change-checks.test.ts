import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, uniqueKey, type Stack } from '../harness.js';
import { createFlag, createUser } from '../governance-helpers.js';

/**
 * Scheduled changes get PUT's checks: a NUL byte, an unknown segment or a change that outlives its
 * author's deactivation never applies. They are checked as PUT checks them, when scheduled and again when they apply
 * (with the author's rights), a change that can no longer apply fails without retries, and
 * scheduling and cancelling are audited.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const base = (key: string) => `/api/v1/flags/${key}/environments/staging/scheduled-changes`;
const soon = (ms: number) => new Date(Date.now() + ms).toISOString();
const on = { enabled: true, value: true, off_value: false };

async function failure(workflowId: string): Promise<string> {
  try {
    await stack.temporal.workflow.getHandle(workflowId).result();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause;
    return String((cause?.cause as Error | undefined)?.message ?? cause?.message);
  }
  throw new Error(`${workflowId} completed; it should have failed`);
}

const scheduledUpdates = async (key: string) =>
  (await stack.db.query(`SELECT 1 FROM audit_events WHERE resource_id = $1 AND action = 'flag.config.scheduled_update'`, [key])).rowCount;

describe('scheduled changes are checked as PUT checks them', () => {
  it('refuses at schedule time what PUT refuses: bad text and unknown segments, naming the field', async () => {
    const key = await createFlag(stack, 'sched-check');
    const nul = await stack.request('POST', base(key), { body: { at: soon(3_600_000), config: { ...on, rules: [{ id: 'a\u0000b', type: 'custom', conditions: [], action: 'enable', priority: 1 }] } } });
    expect(nul.status).toBe(400);
    expect(nul.body.error.details.map((d: { path: string }) => d.path)).toContain('body.config.rules.0.id');

    const put = await stack.request('PUT', `/api/v1/flags/${key}/environments/staging`, { body: { ...on, targeting: [{ segments: ['no-such-segment'] }] } });
    const scheduled = await stack.request('POST', base(key), { body: { at: soon(3_600_000), config: { ...on, targeting: [{ segments: ['no-such-segment'] }] } } });
    expect(put.status).toBe(400);
    expect(scheduled.status).toBe(400);
    expect(scheduled.body.error.details).toEqual([{ path: 'body.config.targeting.0.segments.0', message: "segment 'no-such-segment' does not exist" }]);
  });

  it('audits scheduling and cancelling, each once, naming the actor', async () => {
    const key = await createFlag(stack, 'sched-audit');
    const editor = await createUser(stack, 'editor');
    const scheduled = await stack.request('POST', base(key), { token: editor.token, body: { at: soon(3_600_000), config: on, reason: 'launch' } });
    expect(scheduled.status).toBe(201);
    expect((await stack.request('DELETE', `${base(key)}/${scheduled.body.id}`, { token: editor.token })).status).toBe(200);
    const events = await stack.db.query(
      `SELECT action, user_id, reason, metadata->>'changeId' AS change_id FROM audit_events WHERE resource_id = $1 AND resource_type = 'scheduled_change' ORDER BY seq`,
      [key],
    );
    expect(events.rows).toEqual([
      { action: 'scheduled_change.created', user_id: editor.id, reason: 'launch', change_id: scheduled.body.id },
      { action: 'scheduled_change.cancelled', user_id: editor.id, reason: null, change_id: scheduled.body.id },
    ]);
  });

  it('does not apply a change whose author was deactivated or whose segment is gone, and fails it without retrying', async () => {
    const authorFlag = await createFlag(stack, 'sched-author');
    const editor = await createUser(stack, 'editor');
    const byEditor = await stack.request('POST', base(authorFlag), { token: editor.token, body: { at: soon(6_000), config: on } });
    expect(byEditor.status).toBe(201);

    const segmentFlag = await createFlag(stack, 'sched-segment');
    const segment = uniqueKey('sched-seg');
    expect((await stack.request('POST', '/api/v1/segments', { body: { key: segment, kind: 'list', members: ['u1'] } })).status).toBe(201);
    const bySegment = await stack.request('POST', base(segmentFlag), { body: { at: soon(6_000), config: { ...on, targeting: [{ segments: [segment] }] } } });
    expect(bySegment.status).toBe(201);

    expect((await stack.request('DELETE', `/api/v1/users/${editor.id}`)).status).toBe(200);
    expect((await stack.request('DELETE', `/api/v1/segments/${segment}`)).status).toBe(204);

    const [authorFailure, segmentFailure] = await Promise.all([failure(byEditor.body.workflow_id), failure(bySegment.body.workflow_id)]);
    expect(authorFailure).toMatch(/no longer an active user/);
    expect(segmentFailure).toMatch(/does not exist/);
    for (const key of [authorFlag, segmentFlag]) {
      expect(await scheduledUpdates(key)).toBe(0);
      expect((await stack.request('GET', `/api/v1/flags/${key}/environments/staging`)).body.enabled).toBe(false);
    }
    // One attempt each: a change that cannot apply is not retried.
    for (const workflowId of [byEditor.body.workflow_id, bySegment.body.workflow_id]) {
      const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
      const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.activityTaskFailedEventAttributes!.failure!.applicationFailureInfo!.nonRetryable).toBe(true);
    }
  });
});
