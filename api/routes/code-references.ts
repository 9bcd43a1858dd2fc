import { Router } from 'express';
import { z } from 'zod';
import { flagCodeReferencesSchema } from '../../src/protocol/admin-api.js';
import type { CodeReferenceService } from '../../src/code-references/code-reference-service.js';
import type { CodeReferenceCommands } from '../../src/code-references/code-reference-commands.js';
import { authorizeUser, callerOf } from '../auth.js';
import { defineRoute } from '../route-docs.js';
import { flagKeySchema, text } from '../schemas.js';
import { parseInput } from '../validation.js';

const MOUNT = '/api/v1';
const uploadBody = z.strictObject({
  repository: text(200).trim().min(1, 'a repository name is required'),
  references: z.array(z.strictObject({
    flag: flagKeySchema,
    path: text(1024).min(1),
    line: z.number().int().min(1).max(10_000_000),
    kind: z.enum(['call', 'literal']),
  })).max(50_000),
});
const keyParams = z.object({ key: flagKeySchema });

/** `ripcord refs --upload` and each flag's "referenced in N files". */
export function createCodeReferencesRouter(service: CodeReferenceService, commands: CodeReferenceCommands): Router {
  const router = Router();
  defineRoute(router, MOUNT, {
    method: 'put', path: '/api/v1/code-references', tag: 'Flags', auth: 'editor or admin (a user\'s admin token)', body: uploadBody,
    summary: "Replace one repository's flag references (what `ripcord refs --upload` sends)",
    responses: { 200: { description: 'what was stored', schema: z.object({ repository: z.string(), references: z.number().int(), flags: z.number().int() }) } },
    errors: [400, 401, 403, 413, 415],
  }, async (req, res) => {
    const { repository, references } = parseInput(uploadBody, req.body, 'body');
    res.json(await commands.upload(callerOf(req, res), { repository, references }));
  });
  defineRoute(router, MOUNT, {
    method: 'get', path: '/api/v1/flags/{key}/code-references', tag: 'Flags', auth: 'users with flag:read', params: keyParams,
    summary: 'Where the flag is used in code, per repository and file (from `ripcord refs --upload`)',
    responses: { 200: { description: 'files with lines', schema: flagCodeReferencesSchema } },
    errors: [400, 401, 403, 404],
  }, async (req, res) => {
    const { key } = parseInput(keyParams, req.params, 'params');
    authorizeUser(res, { resource: 'flag', action: 'read' });
    res.json(await service.ofFlag(key));
  });
  return router;
}
