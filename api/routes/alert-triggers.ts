import express, { Router } from 'express';
import { z } from 'zod';
import { RateLimitedError } from '../../src/errors.js';
import { alertTriggerCreatedSchema, alertTriggerInputSchema, alertTriggerListSchema, alertTriggerPatchSchema, alertTriggerSchema } from '../../src/protocol/admin-api.js';
import { TRIGGER_HOOK_PREFIX, type AlertTriggerService } from '../../src/alert-triggers/alert-trigger-service.js';
import type { AlertTriggerCommands } from '../../src/alert-triggers/alert-trigger-commands.js';
import { authorizeFlagUser, callerOf, requestOrigin, type FlagTags } from '../auth.js';
import { refuseDeepBodies } from '../error-handler.js';
import { defineRoute, PUBLIC } from '../route-docs.js';
import { text } from '../schemas.js';
import { parseInput } from '../validation.js';
import { flagEnvParams } from './flags.js';

const MOUNT = '/api/v1';
const KILL_AUTH = 'admin, emergency_responder, or a flag:kill_switch grant for the environment and tags (a trigger pulls the kill switch for you)';

const idParams = z.object({ id: z.uuid() });
const secretParams = z.object({ secret: text(128).regex(/^rc_trigger_[A-Za-z0-9_-]{43}$/, 'a trigger secret as created') });
const decisionSchema = z.object({
  action: z.enum(['kill', 'restore', 'restore_requested', 'none']), reason: z.string().optional(), changed: z.boolean().optional(),
  change_request: z.object({ id: z.string(), status: z.string() }).optional()
    .meta({ description: "restore_requested: the environment's change policy says releasing a kill needs approval; the release waits as this change request, made by the trigger" }),
  alerts: z.array(z.object({ name: z.string(), link: z.string().nullable() })).optional(),
  workflow: z.object({ id: z.string(), url: z.string() }).nullable().optional(),
});
const testAlertAnswerSchema = decisionSchema.extend({ test_alert: z.string().meta({ description: 'the name of the alert sent (RipcordTestAlert)' }) });


/** Managing a flag's alert triggers (under /api/v1, authenticated like the rest): the alert-trigger commands decide who may. */
export function createAlertTriggersRouter(service: AlertTriggerService, commands: AlertTriggerCommands, flags?: FlagTags): Router {
  const router = Router();
  const path = '/api/v1/flags/{key}/environments/{env}/triggers';

  defineRoute(router, MOUNT, {
    method: 'post', path, tag: 'Alert triggers', auth: KILL_AUTH, params: flagEnvParams, body: alertTriggerInputSchema,
    summary: 'Create an alert trigger: a secret URL an alerting system calls to kill the flag (shown once)',
    responses: { 201: { description: 'the trigger and its path (with the secret: keep it)', schema: alertTriggerCreatedSchema } },
    errors: [400, 401, 403, 404, 413, 415],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    const input = parseInput(alertTriggerInputSchema, req.body, 'body');
    res.status(201).json(await commands.create(callerOf(req, res), { flagKey: key, environment: env, input }));
  });

  defineRoute(router, MOUNT, {
    method: 'get', path, tag: 'Alert triggers', auth: 'users with flag:read', params: flagEnvParams,
    summary: "A flag's alert triggers in an environment (never their secrets)",
    responses: { 200: { description: 'the triggers', schema: alertTriggerListSchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { key, env } = parseInput(flagEnvParams, req.params, 'params');
    await authorizeFlagUser(res, flags, key, env, 'read');
    res.json(await service.list(key, env));
  });

  defineRoute(router, MOUNT, {
    method: 'patch', path: '/api/v1/triggers/{id}', tag: 'Alert triggers', auth: KILL_AUTH, params: idParams, body: alertTriggerPatchSchema,
    summary: 'Disable or enable an alert trigger without deleting it: while disabled its URL answers 404, exactly like an unknown one, and never acts (audited when it changes)',
    responses: { 200: { description: 'the trigger as it is now', schema: alertTriggerSchema } }, errors: [400, 401, 403, 404, 413, 415],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    // The body is checked before the trigger is looked up: a bad body is a 400 naming its field, found or not.
    const { enabled } = parseInput(alertTriggerPatchSchema, req.body, 'body');
    res.json(await commands.setEnabled(callerOf(req, res), { id, enabled }));
  });

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/triggers/{id}/rotate-secret', tag: 'Alert triggers', auth: KILL_AUTH, params: idParams,
    summary: 'Give an alert trigger a new secret, so a new URL: the old URL answers 404 at once (as an unknown one); point the alerting system at the new one',
    responses: { 200: { description: 'the trigger and its new URL (`path`, with the secret: in this answer only)', schema: alertTriggerCreatedSchema } },
    errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    res.json(await commands.rotateSecret(callerOf(req, res), { id }));
  });

  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/triggers/{id}/test', tag: 'Alert triggers', auth: KILL_AUTH, params: idParams,
    summary: "Send a test alert: a firing alert in the trigger's format (named RipcordTestAlert), delivered as one from its URL is. It does what a real alert would do now — kill the flag, or nothing with the reason (waiting for more alerts, not armed) — and is audited as sent by you",
    responses: { 200: { description: 'what the delivery did (as the trigger URL answers), and the test alert\'s name', schema: testAlertAnswerSchema } },
    errors: [400, 401, 403, 404, 409, 429],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    try {
      res.json(await commands.sendTestAlert(callerOf(req, res), { id }));
    } catch (error) {
      if (error instanceof RateLimitedError) res.set('retry-after', String(error.retryAfterSeconds ?? 60));
      throw error;
    }
  });

  defineRoute(router, MOUNT, {
    method: 'delete', path: '/api/v1/triggers/{id}', tag: 'Alert triggers', auth: KILL_AUTH, params: idParams,
    summary: 'Delete an alert trigger: its URL stops working at once', responses: { 204: { description: 'deleted' } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    await commands.remove(callerOf(req, res), { id });
    res.status(204).end();
  });
  return router;
}

/**
 * Where alerting systems post (outside /api/v1: the secret in the path is the credential, as
 * with LaunchDarkly's flag triggers, because not every alerting system can send a header).
 */
export function createTriggerHookRouter(service: AlertTriggerService): Router {
  const router = Router();
  router.use(TRIGGER_HOOK_PREFIX, express.json({ limit: '256kb', type: () => true }), refuseDeepBodies);
  defineRoute(router, '', {
    method: 'post', path: `${TRIGGER_HOOK_PREFIX}{secret}`, tag: 'Alert triggers', auth: PUBLIC,
    summary: "No token: the secret in the path is the credential (an unknown or disabled one is 404, the same answer). An alerting system's webhook (Alertmanager, Grafana, Datadog, PagerDuty or generic JSON, as the trigger says): kills on firing, restores on resolved when configured",
    params: secretParams,
    responses: { 200: { description: 'what the delivery did: kill, restore, restore_requested (a change request, under a policy that says restores need approval) or none (with the reason)', schema: decisionSchema } },
    errors: [400, 404, 413, 429],
  }, async (req, res) => {
    // Checked by shape first: a malformed secret is as unknown as a wrong one.
    const parsed = secretParams.safeParse(req.params);
    if (!parsed.success) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No trigger at this address' } });
      return;
    }
    try {
      res.json(await service.receive(parsed.data.secret, req.body, requestOrigin(req)));
    } catch (error) {
      if (error instanceof RateLimitedError) res.set('retry-after', String(error.retryAfterSeconds ?? 60));
      throw error;
    }
  });
  return router;
}
