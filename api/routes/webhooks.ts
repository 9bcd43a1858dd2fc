import { Router } from 'express';
import { z } from 'zod';
import type { WebhookService } from '../../src/services/webhook-service.js';
import { requireUser } from '../auth.js';
import { parseInput } from '../validation.js';

const EVENTS = ['flag.updated', 'flag.killed', 'flag.restored', 'rollout.*', 'rollout.step', 'rollout.rolled_back', 'rollout.aborted', 'audit.checkpoint', '*'] as const;
const url = z.url({ protocol: /^https?$/ }).max(2000);
const events = z.array(z.enum(EVENTS)).min(1).max(EVENTS.length);
const createBody = z.strictObject({
  url,
  events,
  secret: z.string().min(16, 'at least 16 characters').max(200).optional(),
  enabled: z.boolean().optional(),
});
const patchBody = z
  .strictObject({ url: url.optional(), events: events.optional(), enabled: z.boolean().optional() })
  .refine((p) => p.url !== undefined || p.events !== undefined || p.enabled !== undefined, 'give at least one of url, events, enabled');
const idParams = z.object({ id: z.uuid() });
const deliveriesQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) });

/** The schemas these routes parse with, for the OpenAPI document. */
export const webhookSchemas = { createBody, patchBody, idParams, deliveriesQuery };

const meta = (req: { ip?: string; get(name: string): string | undefined }, actor: Parameters<WebhookService['create']>[1]['actor']) => ({
  actor, ipAddress: req.ip ?? null, userAgent: req.get('user-agent') ?? null,
});

/** Webhooks: admin only. Deliveries are signed (X-Ripcord-Signature) and retried; each has a log. */
export function createWebhooksRouter(service: WebhookService): Router {
  const router = Router();
  router.post('/webhooks', async (req, res) => {
    const actor = requireUser(res, ['admin']);
    res.status(201).json(await service.create(parseInput(createBody, req.body, 'body'), meta(req, actor)));
  });
  router.get('/webhooks', async (_req, res) => {
    requireUser(res, ['admin']);
    res.json(await service.list());
  });
  router.patch('/webhooks/:id', async (req, res) => {
    const actor = requireUser(res, ['admin']);
    const { id } = parseInput(idParams, req.params, 'params');
    res.json(await service.update(id, parseInput(patchBody, req.body, 'body'), meta(req, actor)));
  });
  router.delete('/webhooks/:id', async (req, res) => {
    const actor = requireUser(res, ['admin']);
    const { id } = parseInput(idParams, req.params, 'params');
    await service.remove(id, meta(req, actor));
    res.status(204).end();
  });
  router.get('/webhooks/:id/deliveries', async (req, res) => {
    requireUser(res, ['admin']);
    const { id } = parseInput(idParams, req.params, 'params');
    const { limit } = parseInput(deliveriesQuery, req.query, 'query');
    res.json(await service.deliveries(id, limit));
  });
  return router;
}
