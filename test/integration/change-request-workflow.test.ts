import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOTSTRAP_ACTOR } from '../../src/auth/principal.js';
import type { FlagService } from '../../src/flags/flag-service.js';
import type { Database } from '../../src/connections/database.js';
import { findChangeRequest, insertApproval, insertChangeRequest, setChangeRequestStatus } from '../../src/change-requests/change-request-store.js';
import { changeRequestWorkflowId } from '../../src/temporal/workflow-ids.js';
import type { changeRequest } from '../../workflows/change-request.js';
import { uniqueKey } from './harness.js';
import { startTimeSkippingWorker, type TimeSkippingWorker } from './time-skipping.js';

// Time-skipping: an approved request scheduled two days out applies at its time in a moment of test
// time, with the real activities on the real Postgres and Redis; at apply time it re-validates.

let stack: TimeSkippingWorker;
let env: TestWorkflowEnvironment;
let db: Database;
let flags: FlagService;
const actor = BOOTSTRAP_ACTOR;
const reviewer = { id: 'reviewer-id', name: 'Reviewer' };

beforeAll(async () => {
  stack = await startTimeSkippingWorker({ name: 'change-request-test' });
  ({ env, db, flags } = stack);
});
afterAll(async () => {
  await stack?.close();
});

/** A flag and an approved request to turn it on in production, applying at `applyAt`. */
async function approvedRequest(applyAt: string): Promise<{ key: string; id: string; base: number }> {
  const key = uniqueKey('cr-wf');
  await flags.createFlag({ key, name: key, type: 'boolean' }, { actor });
  const current = await flags.getConfig(key, 'production');
  const proposed = { enabled: true, value: true, off_value: false };
  const id = await insertChangeRequest(db, {
    kind: 'config', source: 'scheduled', flagKey: key, environment: 'production', author: actor, reason: 'launch on Monday',
    baseVersion: current.version, baseConfig: current, proposed, diff: [{ field: 'enabled', before: false, after: true }], applyAt, requiredApprovals: 1,
  });
  await insertApproval(db, id, reviewer, null);
  await setChangeRequestStatus(db, id, { status: 'approved', workflowId: changeRequestWorkflowId('production', key, id) });
  return { key, id, base: current.version };
}

const run = (key: string, id: string, applyAt: string | null) =>
  env.client.workflow.execute<typeof changeRequest>('changeRequest', {
    taskQueue: stack.taskQueue, workflowId: changeRequestWorkflowId('production', key, id), args: [{ requestId: id, applyAt }],
  });

describe('changeRequest workflow (time-skipping)', () => {
  it('waits for its time (two days) and applies once, as the author, naming the approvers', async () => {
    const applyAt = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const { key, id, base } = await approvedRequest(applyAt);
    const startedAt = await env.currentTimeMs();
    const result = await run(key, id, applyAt);
    expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(Date.parse(applyAt) - 1_000);
    expect(startedAt).toBeLessThan(Date.parse(applyAt));
    expect(result.status).toBe('applied');
    expect(result.version).toBeGreaterThan(base);
    expect((await flags.getConfig(key, 'production')).enabled).toBe(true);
    expect(await findChangeRequest(db, id)).toMatchObject({ status: 'applied', applied_version: result.version });
    // A scheduled change's request is audited as a scheduled change is when it applies without a policy.
    const audit = await db.query(
      `SELECT user_id, metadata->'approvedBy' AS approved_by FROM audit_events WHERE resource_id = $1 AND action = 'flag.config.scheduled_update'`, [key],
    );
    expect(audit.rows).toEqual([{ user_id: actor.id, approved_by: ['Reviewer'] }]);
  });

  it('ends conflicted when the config changed after the request was made, and overwrites nothing', async () => {
    const applyAt = new Date(Date.now() + 86_400_000).toISOString();
    const { key, id } = await approvedRequest(applyAt);
    await flags.updateConfig(key, 'production', { enabled: false, value: true, off_value: true }, undefined, { actor });
    const result = await run(key, id, applyAt);
    expect(result.status).toBe('conflicted');
    expect(result.outcome).toMatch(/stale base/);
    expect(await flags.getConfig(key, 'production')).toMatchObject({ enabled: false, off_value: true });
    expect((await findChangeRequest(db, id))?.status).toBe('conflicted');
  });

  it('an approved rollout start with Temporal unreachable for the apply waits in the outbox as the author’s start (delayed, not lost)', async () => {
    // This worker has no workflow starter, as when the apply cannot reach Temporal to start the rollout.
    const key = uniqueKey('cr-wf-rollout');
    await flags.createFlag({ key, name: key, type: 'boolean' }, { actor });
    const current = await flags.getConfig(key, 'production');
    const plan = { strategy: 'gradual', steps: [{ percentage: 10, hold: '1 hour' }, { percentage: 100 }] };
    const id = await insertChangeRequest(db, {
      kind: 'rollout', source: 'rollout', flagKey: key, environment: 'production', author: actor, reason: 'ship',
      baseVersion: current.version, baseConfig: current, proposed: plan, diff: [{ field: 'rollout.plan', before: null, after: plan }], applyAt: null, requiredApprovals: 1,
    });
    await insertApproval(db, id, reviewer, null);
    await setChangeRequestStatus(db, id, { status: 'approved', workflowId: changeRequestWorkflowId('production', key, id) });
    try {
      const result = await run(key, id, null);
      expect(result).toMatchObject({ status: 'applied', version: current.version });
      expect(result.outcome).toMatch(/queued: Temporal was unreachable/);
      const queued = await db.query('SELECT kind, payload FROM outbox WHERE dedupe_key = $1 AND processed_at IS NULL', [`change-request-rollout:${id}`]);
      expect(queued.rows).toEqual([{
        kind: 'workflow.start',
        payload: expect.objectContaining({
          workflowType: 'rollout', workflowId: `rollout:production:${key}`, actor: actor.id, reuseFinishedId: true, rolloutStrategy: 'gradual',
          args: [expect.objectContaining({ flagKey: key, environment: 'production', actor: { id: actor.id, name: actor.name }, plan: expect.objectContaining({ strategy: 'gradual' }) })],
        }),
      }]);
      const audit = await db.query(`SELECT user_id, metadata->>'changeRequestId' AS request FROM audit_events WHERE resource_id = $1 AND action = 'rollout.started'`, [key]);
      expect(audit.rows).toEqual([{ user_id: actor.id, request: id }]);
    } finally {
      // Not for a later file's worker relay to start on the real server: this flag lives only in this test.
      await db.query('UPDATE outbox SET processed_at = now() WHERE dedupe_key = $1', [`change-request-rollout:${id}`]);
    }
  });

  it('applies nothing for a request withdrawn while it waited', async () => {
    const applyAt = new Date(Date.now() + 3_600_000).toISOString();
    const { key, id } = await approvedRequest(applyAt);
    await setChangeRequestStatus(db, id, { status: 'withdrawn', decidedBy: actor });
    expect((await run(key, id, applyAt)).status).toBe('skipped');
    expect((await flags.getConfig(key, 'production')).enabled).toBe(false);
  });
});
