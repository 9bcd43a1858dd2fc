import { z } from 'zod';
import { rolloutPlanSchema } from '../../src/domain/rollout-plan.js';
import { documentRoute } from '../route-docs.js';
import { environmentKeySchema, flagKeySchema } from '../schemas.js';
import { webhookSchemas } from './webhooks.js';

// OpenAPI entries for the routes of rollouts, scheduled changes, explain, events, webhooks and Slack.
// The routers parse with their own schemas; these describe the same shapes for the document.

const flagEnv = z.object({ key: flagKeySchema, env: environmentKeySchema });
const FLAG_WRITE = 'editor or admin, or a flag:write grant for the environment and tags';
const FLAG_READ = 'any user with flag:read in the environment; server tokens';
const ADMIN = 'admin';

/** Registers the docs once (the document is built from every registered route). */
export function documentWorkflowRoutes(): void {
  const rolloutBase = '/api/v1/flags/{key}/environments/{env}/rollouts';
  documentRoute({
    method: 'post', path: rolloutBase, tag: 'Rollouts', summary: 'Start a rollout workflow (rollout:<env>:<flag>); 409 names a running one',
    auth: FLAG_WRITE, params: flagEnv, body: z.object({ plan: rolloutPlanSchema }),
    responses: { 201: { description: '{rolloutId, workflowId, url, summary}' } }, errors: [400, 401, 403, 404, 409, 503],
  });
  documentRoute({
    method: 'get', path: rolloutBase, tag: 'Rollouts', summary: 'Rollouts of the flag (read model) and the running one’s live progress',
    auth: FLAG_READ, params: flagEnv, responses: { 200: { description: '{current, rollouts}' } }, errors: [400, 401, 403, 404],
  });
  documentRoute({
    method: 'post', path: `${rolloutBase}/current/{action}`, tag: 'Rollouts',
    summary: 'Steer the running rollout: pause {reason?}, resume, skip, approve, abort {rollback}', auth: FLAG_WRITE,
    params: flagEnv.extend({ action: z.enum(['pause', 'resume', 'abort', 'skip', 'approve']) }),
    body: z.object({ reason: z.string().optional(), rollback: z.boolean().optional() }),
    responses: { 200: { description: 'progress after the update' } }, errors: [400, 401, 403, 404, 409, 503],
  });
  const scheduledBase = '/api/v1/flags/{key}/environments/{env}/scheduled-changes';
  documentRoute({
    method: 'post', path: scheduledBase, tag: 'Scheduled changes', summary: 'Apply a whole config at a set time (scheduledChange workflow)',
    auth: FLAG_WRITE, params: flagEnv, body: z.object({ at: z.iso.datetime({ offset: true }), config: z.record(z.string(), z.unknown()), reason: z.string().optional() }),
    responses: { 201: { description: '{id, workflowId, at, url}' } }, errors: [400, 401, 403, 404, 503],
  });
  documentRoute({
    method: 'get', path: scheduledBase, tag: 'Scheduled changes', summary: 'Scheduled changes of the flag with their state',
    auth: FLAG_READ, params: flagEnv, responses: { 200: { description: '{changes}' } }, errors: [400, 401, 403, 404, 503],
  });
  documentRoute({
    method: 'delete', path: `${scheduledBase}/{id}`, tag: 'Scheduled changes', summary: 'Cancel a pending scheduled change',
    auth: FLAG_WRITE, params: flagEnv.extend({ id: z.uuid() }), responses: { 200: { description: 'cancelled' } }, errors: [400, 401, 403, 404, 409, 503],
  });
  documentRoute({
    method: 'post', path: '/api/v1/flags/{key}/environments/{env}/explain', tag: 'Evaluation', summary: 'Evaluate as…: result and trace for a context',
    auth: FLAG_READ, params: flagEnv, body: z.object({ context: z.record(z.string(), z.unknown()), at: z.iso.datetime({ offset: true }).optional() }),
    responses: { 200: { description: '{result, trace}' } }, errors: [400, 401, 403, 404],
  });
  documentRoute({
    method: 'post', path: '/api/v1/events', tag: 'Evaluation', summary: 'Report outcomes (flag, variant, success/error) for rollout guards',
    auth: 'any token (client and server tokens report for their environment)',
    body: z.object({ environment: environmentKeySchema.optional(), events: z.array(z.object({ flag: flagKeySchema, variant: z.string(), outcome: z.enum(['success', 'error']), count: z.number().int().optional() })) }),
    responses: { 202: { description: 'accepted' } }, errors: [400, 401, 413],
  });
  documentRoute({ method: 'post', path: '/api/v1/webhooks', tag: 'Webhooks', summary: 'Register a webhook (the secret is shown once)', auth: ADMIN, body: webhookSchemas.createBody, responses: { 201: { description: 'the webhook and its secret' } }, errors: [400, 401, 403] });
  documentRoute({ method: 'get', path: '/api/v1/webhooks', tag: 'Webhooks', summary: 'Webhooks (without secrets)', auth: ADMIN, responses: { 200: { description: '{webhooks}' } }, errors: [401, 403] });
  documentRoute({ method: 'patch', path: '/api/v1/webhooks/{id}', tag: 'Webhooks', summary: 'Change url, events or enabled', auth: ADMIN, params: webhookSchemas.idParams, body: webhookSchemas.patchBody, responses: { 200: { description: 'the webhook' } }, errors: [400, 401, 403, 404] });
  documentRoute({ method: 'delete', path: '/api/v1/webhooks/{id}', tag: 'Webhooks', summary: 'Remove a webhook', auth: ADMIN, params: webhookSchemas.idParams, responses: { 204: { description: 'removed' } }, errors: [400, 401, 403, 404] });
  documentRoute({ method: 'get', path: '/api/v1/webhooks/{id}/deliveries', tag: 'Webhooks', summary: 'Delivery log, newest first', auth: ADMIN, params: webhookSchemas.idParams, query: webhookSchemas.deliveriesQuery, responses: { 200: { description: '{deliveries}' } }, errors: [400, 401, 403, 404] });
  documentRoute({
    method: 'post', path: '/slack/events', tag: 'Slack', summary: 'Slack slash commands and interactivity (Bolt; signed with SLACK_SIGNING_SECRET)',
    auth: 'public (Slack request signature)', responses: { 200: { description: 'acknowledged' } }, errors: [401],
  });
}
