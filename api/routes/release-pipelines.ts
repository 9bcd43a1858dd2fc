import { Router } from 'express';
import { z } from 'zod';
import { ROLES } from '../../src/auth/rbac.js';
import { newTemplateSchema, templateBodySchema, templateNameSchema } from '../../src/domain/release-pipeline.js';
import { pipelineSchema, pipelineStartedSchema, releaseTemplateSchema } from '../../src/protocol/admin-api.js';
import type { ReleasePipelineService } from '../../src/release-pipelines/release-pipeline-service.js';
import type { ReleasePipelineCommands } from '../../src/release-pipelines/release-pipeline-commands.js';
import type { ReleaseTemplateCommands } from '../../src/release-pipelines/release-template-commands.js';
import { callerOf, requireUser } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { flagKeySchema, reasonSchema, requiredReasonSchema, uuidSchema, VERSION_HEADER } from '../schemas.js';
import { expectedVersion } from './flags.js';
import { parseInput } from '../validation.js';
import { BYPASS_HEADER, bypassOf } from './change-requests.js';

const MOUNT = '/api/v1';
const TAG = 'Release pipelines';

const nameParams = z.object({ name: templateNameSchema });
const flagParams = z.object({ key: flagKeySchema });
const pipelineParams = z.object({ key: flagKeySchema, id: uuidSchema });
const startBody = z.strictObject({
  template: templateNameSchema,
  reason: reasonSchema.optional().meta({ description: 'why, for the start’s audit event (or X-Audit-Reason); required with X-Change-Request-Bypass' }),
});

const actions = {
  pause: { summary: 'Pause the running pipeline (and its running phase’s rollout)', body: z.strictObject({ reason: requiredReasonSchema.optional() }).optional() },
  resume: { summary: 'Resume the paused pipeline', body: z.strictObject({}).optional() },
  abort: {
    summary: 'Abort the running pipeline: its running phase’s rollout is aborted (rollback: back to where it started) and no later phase starts',
    body: z.strictObject({ rollback: z.boolean(), reason: requiredReasonSchema.optional() }),
  },
  approve: {
    summary: 'Approve the phase waiting at its gates: its own (a user with the gate’s role, or an admin) and its policy gate (users its environment’s change policy allows; N distinct approvals); never whoever started the pipeline',
    body: z.strictObject({}).optional(),
  },
} as const;

/** Release templates (CRUD) and the pipelines that apply them to a flag (start, list with timelines, steer). */
export function createReleasePipelinesRouter(service: ReleasePipelineService, commands: { pipelines: ReleasePipelineCommands; templates: ReleaseTemplateCommands }): Router {
  const router = Router();
  const templates = '/api/v1/release-templates';

  defineRoute(router, MOUNT, {
    method: 'get', path: templates, tag: TAG, summary: 'Every release template', auth: 'any user',
    responses: { 200: { description: 'the templates', schema: z.object({ templates: z.array(releaseTemplateSchema) }) } }, errors: [401, 403],
  }, async (_req, res) => {
    requireUser(res, ROLES);
    res.json(await service.listTemplates());
  });

  defineRoute(router, MOUNT, {
    method: 'post', path: templates, tag: TAG, auth: 'editor or admin', body: newTemplateSchema,
    summary: 'Create a release template: ordered phases, each an environment, a rollout plan, a guard, an approval gate and a soak',
    responses: { 201: { description: 'the template', schema: releaseTemplateSchema } }, errors: [400, 401, 403, 409, 413, 415],
  }, async (req, res) => {
    const body = parseInput(newTemplateSchema, req.body ?? {}, 'body');
    res.status(201).json(await commands.templates.create(callerOf(req, res), body));
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: `${templates}/{name}`, tag: TAG, summary: 'One release template', auth: 'any user', params: nameParams,
    responses: { 200: { description: 'the template', schema: releaseTemplateSchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    requireUser(res, ROLES);
    const { name } = parseInput(nameParams, req.params, 'params');
    res.json(await service.getTemplate(name));
  });

  defineRoute(router, MOUNT, {
    method: 'put', path: `${templates}/{name}`, tag: TAG, summary: 'Replace a release template’s phases (running pipelines keep theirs)',
    auth: 'editor or admin', params: nameParams, body: templateBodySchema, headers: [VERSION_HEADER],
    responses: { 200: { description: 'the template', schema: releaseTemplateSchema } }, errors: [400, 401, 403, 404, 412, 413, 415],
  }, async (req, res) => {
    const { name } = parseInput(nameParams, req.params, 'params');
    const body = parseInput(templateBodySchema, req.body ?? {}, 'body');
    res.json(await commands.templates.replace(callerOf(req, res), { name, body, expectedVersion: expectedVersion(req) }));
  });

  defineRoute(router, MOUNT, {
    method: 'delete', path: `${templates}/{name}`, tag: TAG, summary: 'Delete a release template (running pipelines keep their phases)',
    auth: 'editor or admin', params: nameParams, headers: [VERSION_HEADER], responses: { 204: { description: 'deleted' } }, errors: [400, 401, 403, 404, 412],
  }, async (req, res) => {
    const { name } = parseInput(nameParams, req.params, 'params');
    await commands.templates.delete(callerOf(req, res), { name, expectedVersion: expectedVersion(req) });
    res.status(204).end();
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/release-pipelines', tag: TAG, auth: 'any user',
    summary: 'Release pipelines not finished (running, paused, waiting for an approval, soaking) of every flag, the most recently changed first, as their workflows last recorded them',
    responses: { 200: { description: 'the pipelines', schema: z.object({ pipelines: z.array(pipelineSchema) }) } }, errors: [401, 403],
  }, async (_req, res) => {
    requireUser(res, ROLES);
    res.json(await service.unfinished());
  });

  const pipelines = '/api/v1/flags/{key}/pipelines';

  defineRoute(router, MOUNT, {
    method: 'post', path: pipelines, tag: TAG, params: flagParams, body: startBody, headers: [BYPASS_HEADER],
    summary: 'Apply a release template to the flag: one releasePipeline workflow (pipeline:<flag>) runs each phase’s rollout as a child; 409 names a running one. '
      + 'A phase whose environment’s change policy covers what it does (rollouts: a plan; configs: an audience) waits at a policy gate for the policy’s approvals, unless the start bypasses the policies (change_request:bypass, with a reason)',
    auth: 'users with flag:write in every environment of the template', responses: { 201: { description: 'the pipeline started', schema: pipelineStartedSchema } },
    errors: [400, 401, 403, 404, 409, 413, 415],
  }, async (req, res) => {
    const { key } = parseInput(flagParams, req.params, 'params');
    const { template, reason } = parseInput(startBody, req.body ?? {}, 'body');
    res.status(201).json(await commands.pipelines.start(callerOf(req, res, { reason, bypass: bypassOf(req) }), { flagKey: key, template }));
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: pipelines, tag: TAG, params: flagParams, auth: 'any user',
    summary: 'The flag’s release pipelines, newest first, each with its timeline (live for the running one)',
    responses: { 200: { description: 'the pipelines', schema: z.object({ pipelines: z.array(pipelineSchema) }) } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    requireUser(res, ROLES);
    const { key } = parseInput(flagParams, req.params, 'params');
    res.json(await service.list(key));
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: `${pipelines}/{id}`, tag: TAG, params: pipelineParams, auth: 'any user',
    summary: 'One release pipeline with its timeline: phases, their child rollouts, approvals with their actors, the breach',
    responses: { 200: { description: 'the pipeline', schema: pipelineSchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    requireUser(res, ROLES);
    const { key, id } = parseInput(pipelineParams, req.params, 'params');
    res.json(await service.get(key, id));
  });

  for (const [action, { summary, body }] of Object.entries(actions) as Array<[keyof typeof actions, (typeof actions)[keyof typeof actions]]>) {
    defineRoute(router, MOUNT, {
      method: 'post', path: `${pipelines}/current/${action}`, tag: TAG, summary, params: flagParams, body,
      auth: action === 'approve' ? 'a user with the gate’s role, or an admin; not whoever started the pipeline' : 'users with flag:write in every environment of the pipeline',
      responses: { 200: { description: 'the pipeline after the update', schema: pipelineSchema } }, errors: [400, 401, 403, 404, 409, 413, 415],
    }, async (req, res) => {
      const { key } = parseInput(flagParams, req.params, 'params');
      const args = parseInput(body, req.body, 'body') ?? {};
      res.json(await commands.pipelines.steer(callerOf(req, res), { flagKey: key, action, args }));
    });
  }

  return router;
}
