import { Router } from 'express';
import { z } from 'zod';
import {
  webhookCreatedSchema, webhookDeliveriesSchema, webhookListSchema, webhookSchema,
  type Webhook, type WebhookCreated, type WebhookDeliveries, type WebhookList,
} from '../../src/protocol/admin-api.js';
import type { WebhookCommands } from '../../src/webhooks/webhook-commands.js';
import { callerOf } from '../auth.js';
import { parseInput } from '../validation.js';
import { atLeastOneOf, text } from '../schemas.js';
import { defineRoute } from '../route-docs.js';

const MOUNT = '/api/v1';
const ADMIN = 'admin';
const EVENTS = ['flag.updated', 'flag.killed', 'flag.restored', 'rollout.*', 'rollout.step', 'rollout.rolled_back', 'rollout.aborted', 'audit.checkpoint', '*'] as const;
// Scheme and host are case-insensitive (HTTP://Example.COM): stored as the URL parser writes them.
const url = z.url({ protocol: /^https?$/i }).max(2000).transform((value) => new URL(value).href)
  .meta({ description: 'http(s) URL; must resolve to public addresses unless WEBHOOK_ALLOWED_HOSTS allows it' });
const events = z.array(z.enum(EVENTS)).min(1).max(EVENTS.length);
const createBody = z.strictObject({
  url,
  events,
  secret: text(200).min(16, 'at least 16 characters').optional(),
  enabled: z.boolean().optional(),
});
const patchBody = atLeastOneOf(z.strictObject({ url: url.optional(), events: events.optional(), enabled: z.boolean().optional() }), ['url', 'events', 'enabled']);
const idParams = z.object({ id: z.uuid() });
const deliveriesQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });

/** Webhooks: admin only (the webhook commands decide). Deliveries are signed (X-Ripcord-Signature) and retried; each has a log. */
export function createWebhooksRouter(commands: WebhookCommands): Router {
  const router = Router();
  defineRoute(router, MOUNT, {
    method: 'post', path: '/api/v1/webhooks', tag: 'Webhooks', summary: 'Register a webhook (the secret is shown once)', auth: ADMIN, body: createBody,
    responses: { 201: { description: 'the webhook and its secret', schema: webhookCreatedSchema } }, errors: [400, 401, 403, 413, 415],
  }, async (req, res) => {
    const input = parseInput(createBody, req.body, 'body');
    res.status(201).json((await commands.create(callerOf(req, res), input)) satisfies WebhookCreated);
  });
  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/webhooks', tag: 'Webhooks', summary: 'Webhooks (without secrets)', auth: ADMIN, responses: { 200: { description: 'every webhook', schema: webhookListSchema } }, errors: [401, 403],
  }, async (req, res) => {
    res.json((await commands.list(callerOf(req, res))) satisfies WebhookList);
  });
  defineRoute(router, MOUNT, {
    method: 'patch', path: '/api/v1/webhooks/{id}', tag: 'Webhooks', summary: 'Change url, events or enabled', auth: ADMIN, params: idParams, body: patchBody,
    responses: { 200: { description: 'the webhook', schema: webhookSchema } }, errors: [400, 401, 403, 404, 413, 415],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const patch = parseInput(patchBody, req.body, 'body');
    res.json((await commands.update(callerOf(req, res), { id, patch })) satisfies Webhook);
  });
  defineRoute(router, MOUNT, {
    method: 'delete', path: '/api/v1/webhooks/{id}', tag: 'Webhooks', summary: 'Remove a webhook', auth: ADMIN, params: idParams,
    responses: { 204: { description: 'removed' } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    await commands.remove(callerOf(req, res), { id });
    res.status(204).end();
  });
  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/webhooks/{id}/deliveries', tag: 'Webhooks', summary: 'Delivery log, newest first', auth: ADMIN, params: idParams, query: deliveriesQuery,
    responses: { 200: { description: 'the delivery log, newest first', schema: webhookDeliveriesSchema } }, errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'params');
    const { limit } = parseInput(deliveriesQuery, req.query, 'query');
    res.json((await commands.deliveries(callerOf(req, res), { id, limit })) satisfies WebhookDeliveries);
  });
  return router;
}
