import { Router } from 'express';
import { z } from 'zod';
import { auditPageSchema, auditVerificationSchema, type AuditPage, type AuditVerification } from '../../src/protocol/admin-api.js';
import { AUDIT_RESOURCE_TYPES } from '../../src/protocol/audit-resource-types.js';
import { checkpointSchema } from '../../src/audit/audit-checkpoint.js';
import type { AuditService } from '../../src/audit/audit-service.js';
import { redactAuditPage } from '../../src/audit/audit-redaction.js';
import { authorize } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { cursorSchema, environmentKeySchema, flagKeySchema, limitSchema } from '../schemas.js';
import { parseInput } from '../validation.js';
import { nonBlankText, text, textMatching } from '../schemas.js';

const MOUNT = '/api/v1';
const isoDateTime = z.iso.datetime({ offset: true });

export const auditQuerySchema = z
  .strictObject({
    flag: flagKeySchema.optional(),
    actor: nonBlankText(128).optional()
      .meta({ description: "the acting user's id (bootstrap-admin for the bootstrap token), or part of their name or email" }),
    action: textMatching(64, /^[a-z_.]{1,64}$/, 'an action such as flag.config.updated').optional()
      .meta({ description: 'an action’s full name (flag.config.updated: that action), or a word without a dot (kill: every action containing it)' }),
    environment: environmentKeySchema.optional(),
    resource_type: z.enum(AUDIT_RESOURCE_TYPES).optional()
      .meta({ description: 'rollout also matches the config changes rollout steps make (actions rollout.*)' }),
    resource_id: text(256).min(1).optional(),
    from: isoDateTime.optional().meta({ description: 'inclusive, ISO 8601 with offset' }),
    to: isoDateTime.optional().meta({ description: 'exclusive, ISO 8601 with offset' }),
    limit: limitSchema.default(100),
    cursor: cursorSchema.optional(),
  })
  .refine((q) => !(q.from && q.to) || Date.parse(q.from) < Date.parse(q.to), { path: ['to'], message: 'must be after from' });

const verifyQuerySchema = z.strictObject({
  checkpoint: z
    .string()
    .max(1000)
    .transform((text, ctx) => {
      try {
        const parsed = checkpointSchema.safeParse(JSON.parse(text));
        if (parsed.success) return parsed.data;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'a checkpoint as JSON: {"seq","hash","at","signature"} (as logged and sent to webhooks)' });
      return z.NEVER;
    })
    .optional()
    .meta({ description: 'a checkpoint kept outside the database (log, webhook receiver), as JSON, to check against the chain' }),
});

/** The audit trail, newest first, and the chain's verification. */
export function createAuditRouter(service: AuditService): Router {
  const router = Router();

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/audit', tag: 'Audit', summary: 'Audit events, newest first, filtered, with cursor pagination',
    auth: 'viewer and above (audit:read); without the admin role, webhook URLs are cut to their origin and other users\' e-mail, role and grants read [redacted]',
    query: auditQuerySchema,
    responses: { 200: { description: 'a page of events', schema: auditPageSchema } },
    errors: [400, 401, 403],
  }, async (req, res) => {
    const principal = authorize(res, { resource: 'audit', action: 'read' });
    const query = parseInput(auditQuerySchema, req.query, 'query');
    const page = await service.list(query);
    const admin = principal.kind === 'user' && principal.actor.role === 'admin';
    res.json((admin || principal.kind !== 'user' ? page : redactAuditPage(page, principal.actor.id)) satisfies AuditPage);
  });

  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/audit/verify', tag: 'Audit',
    summary: 'Walk the hash chain, recomputing every digest in Postgres, and check the signed checkpoints; report the first broken link',
    auth: 'viewer and above (audit:read)', query: verifyQuerySchema,
    responses: { 200: { description: 'ok, or the first broken link or failed checkpoint', schema: auditVerificationSchema } }, errors: [400, 401, 403],
  }, async (req, res) => {
    authorize(res, { resource: 'audit', action: 'read' });
    const { checkpoint } = parseInput(verifyQuerySchema, req.query, 'query');
    res.json((await service.verify(checkpoint)) satisfies AuditVerification);
  });

  return router;
}
