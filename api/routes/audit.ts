import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../../src/stores/database.js';
import { listAuditEvents } from '../../src/stores/audit-store.js';
import { requireUser } from '../auth.js';
import { parseInput } from '../validation.js';
import { environmentKeySchema, flagKeySchema } from './flags.js';

const auditQuery = z.strictObject({
  flag: flagKeySchema.optional(),
  environment: environmentKeySchema.optional(),
  action: z.string().regex(/^[a-z_.]{1,64}$/).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** The audit trail, newest first. */
export function createAuditRouter(db: Database): Router {
  const router = Router();
  router.get('/audit', async (req, res) => {
    requireUser(res, ['viewer', 'editor', 'admin', 'emergency_responder']);
    const query = parseInput(auditQuery, req.query, 'query');
    const events = await listAuditEvents(db, {
      ...(query.flag ? { resourceType: 'flag', resourceId: query.flag } : {}),
      environment: query.environment,
      action: query.action,
      limit: query.limit,
    });
    res.json({ events });
  });
  return router;
}
