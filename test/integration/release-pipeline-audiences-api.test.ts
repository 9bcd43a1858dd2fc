import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../src/protocol/admin-api.js';
import { eventually, startStack, uniqueKey, type Stack } from './harness.js';
import { createEnvironmentToken, createUser, type TestUser } from './governance-helpers.js';

// Release pipeline audience phases on the real dev server: a phase serves the new variant to segments
// (a targeting rule the pipeline writes), and OFREP answers change for users in them, not for others.

let stack: Stack;
let editor: TestUser;
const clients: Record<string, string> = {};

beforeAll(async () => {
  stack = await startStack();
  editor = await createUser(stack, 'editor');
  for (const environment of ['staging', 'production']) clients[environment] = (await createEnvironmentToken(stack, 'client', environment)).token;
});
afterAll(async () => {
  await stack?.close();
});

async function newSegment(prefix: string, members: string[]): Promise<string> {
  const key = uniqueKey(prefix);
  expect((await stack.request('POST', '/api/v1/segments', { body: { key, kind: 'list', members } })).status).toBe(201);
  return key;
}

/** What OFREP serves `user` for the flag in an environment. */
const served = async (key: string, environment: string, user: string) =>
  (await stack.request('POST', `/ofrep/v1/evaluate/flags/${key}`, { body: { context: { targetingKey: user } }, token: clients[environment] })).body.value;

const pipelinePath = (key: string) => `/api/v1/flags/${key}/pipelines`;

async function pipelineWhen(key: string, id: string, done: (p: Pipeline) => boolean, what: string): Promise<Pipeline> {
  return eventually(async () => {
    const got = await stack.request('GET', `${pipelinePath(key)}/${id}`);
    return got.status === 200 && done(got.body as Pipeline) ? (got.body as Pipeline) : undefined;
  }, what, 30_000);
}

describe('release pipeline audiences through the API', () => {
  it('refuses a missing segment, a phase with neither plan nor audience, and an undeclared variant at start, naming the field', async () => {
    const segment = await newSegment('internal', ['alice']);
    const missing = await stack.request('POST', '/api/v1/release-templates', {
      body: { name: uniqueKey('aud').toLowerCase(), phases: [{ environment: 'staging', audience: { segments: [segment, 'no-such-segment-xyz'] } }] },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details).toEqual([expect.objectContaining({ path: 'body.phases.0.audience.segments.1' })]);
    const empty = await stack.request('POST', '/api/v1/release-templates', { body: { name: uniqueKey('aud').toLowerCase(), phases: [{ environment: 'staging' }] } });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details[0].path).toBe('body.phases.0.plan');
    const guardOnly = await stack.request('POST', '/api/v1/release-templates', {
      body: { name: uniqueKey('aud').toLowerCase(), phases: [{ environment: 'staging', audience: { segments: [segment] }, guard: { source: 'events', max_error_rate: 0.1 } }] },
    });
    expect(guardOnly.body.error.details[0].path).toBe('body.phases.0.guard');

    const key = uniqueKey('aud-flag');
    expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
    const template = uniqueKey('aud').toLowerCase();
    expect((await stack.request('POST', '/api/v1/release-templates', {
      body: { name: template, phases: [{ environment: 'staging', audience: { segments: [segment], variant: 'wide' } }] },
    })).status).toBe(201);
    const refused = await stack.request('POST', pipelinePath(key), { body: { template } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([expect.objectContaining({ path: 'template.phases.0.audience.variant', message: expect.stringMatching(/variant 'wide' is not declared/) })]);
    expect((await stack.request('GET', pipelinePath(key))).body.pipelines).toEqual([]);
  });

  it('staging audience "internal" → production audience "beta-testers" → production rollout: OFREP changes for the audience only; the guard trip stops it', async () => {
    const internal = await newSegment('internal', ['alice']);
    const beta = await newSegment('beta-testers', ['carol']);
    const key = uniqueKey('aud-flag');
    expect((await stack.request('POST', '/api/v1/flags', { body: { key, name: key, type: 'boolean' } })).status).toBe(201);
    const template = uniqueKey('aud').toLowerCase();
    expect((await stack.request('POST', '/api/v1/release-templates', {
      body: {
        name: template, phases: [
          { name: 'internal', environment: 'staging', audience: { segments: [internal] } },
          { name: 'beta', environment: 'production', approval: { role: 'editor' }, audience: { segments: [beta] } },
          {
            name: 'everyone', environment: 'production', approval: { role: 'editor' },
            plan: { strategy: 'gradual', steps: [{ percentage: 50, hold: '1 hour' }, { percentage: 100 }] },
            guard: { source: 'events', max_error_rate: 0.2, min_samples: 10, interval: '1 second' },
          },
        ],
      },
    })).status).toBe(201);

    const started = await stack.request('POST', pipelinePath(key), { body: { template } });
    expect(started.status).toBe(201);

    // Phase 1 served staging's audience; phase 2 waits at its gate.
    const gate2 = await pipelineWhen(key, started.body.id, (p) => p.status === 'waiting_approval', 'phase 2’s gate');
    expect(gate2.phases.map((p) => p.status)).toEqual(['completed', 'waiting_approval', 'pending']);
    expect(gate2.phases[0]).toMatchObject({ audience: { segments: [internal], variant: null }, audience_at: expect.any(String) });
    await eventually(async () => (await served(key, 'staging', 'alice')) === true, 'alice (internal) to get true in staging');
    expect(await served(key, 'staging', 'bob')).toBe(false);
    expect(await served(key, 'production', 'carol')).toBe(false);

    expect((await stack.request('POST', `${pipelinePath(key)}/current/approve`, { body: {}, token: editor.token })).status).toBe(200);
    await pipelineWhen(key, started.body.id, (p) => p.status === 'waiting_approval' && p.phases[2]!.status === 'waiting_approval', 'phase 3’s gate');
    await eventually(async () => (await served(key, 'production', 'carol')) === true, 'carol (beta-testers) to get true in production');
    expect(await served(key, 'production', 'bob')).toBe(false);
    expect(await served(key, 'production', 'alice')).toBe(false);

    // One audit event per audience, naming whoever started the pipeline and the pipeline.
    const audit = await stack.request('GET', `/api/v1/audit?flag=${key}&limit=50`);
    const applied = (audit.body.events as Array<{ action: string; user_id: string; environment: string; metadata: Record<string, unknown> }>)
      .filter((e) => e.action === 'pipeline.audience_applied');
    expect(applied.map((e) => e.environment).sort()).toEqual(['production', 'staging']);
    for (const event of applied) {
      expect(event.user_id).toBe(gate2.started_by);
      expect(event.metadata).toMatchObject({ workflowId: `pipeline:${key}`, pipelineId: started.body.id });
    }

    expect((await stack.request('POST', `${pipelinePath(key)}/current/approve`, { body: {}, token: editor.token })).status).toBe(200);
    await eventually(async () => (await stack.request('GET', `/api/v1/flags/${key}/environments/production`)).body.rollout?.percentage === 50, 'production at 50%');
    const reported = await stack.request('POST', '/api/v1/events', {
      body: { environment: 'production', events: [{ flag: key, variant: 'on', outcome: 'error', count: 8 }, { flag: key, variant: 'on', outcome: 'success', count: 12 }] },
    });
    expect(reported.status).toBe(202);

    const stopped = await pipelineWhen(key, started.body.id, (p) => p.status === 'stopped', 'the guard to stop the pipeline');
    expect(stopped.phases.map((p) => p.status)).toEqual(['completed', 'completed', 'rolled_back']);
    // Where the guard tripped the pipeline's audiences are withdrawn too; staging's completed phase keeps its own.
    await eventually(async () => (await served(key, 'production', 'carol')) === false, 'carol back to false in production');
    const production = await stack.request('GET', `/api/v1/flags/${key}/environments/production`);
    expect(production.body.targeting).toEqual([]);
    expect(await served(key, 'staging', 'alice')).toBe(true);
    const result = await stack.temporal.workflow.getHandle(`pipeline:${key}`).result();
    expect(result.reason).toMatch(/^phase 3 \(everyone\) in production: guard breached: /);
    const removed = await stack.request('GET', `/api/v1/audit?flag=${key}&limit=50`);
    expect((removed.body.events as Array<{ action: string; environment: string }>).filter((e) => e.action === 'pipeline.audience_removed'))
      .toEqual([expect.objectContaining({ environment: 'production' })]);
  });
});
