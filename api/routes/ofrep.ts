import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Authenticator, Principal } from '../../src/auth/principal.js';
import type { FlagSnapshot } from '../../src/cache/flag-snapshot.js';
import { evaluate, type EvaluationResult } from '../../src/engine/index.js';
import type { Metrics } from '../../src/metrics.js';
import { tokenOf } from '../auth.js';
import { bodyParserError } from '../error-handler.js';

export interface OfrepDeps {
  authenticator: Authenticator;
  snapshot: FlagSnapshot;
  metrics: Metrics;
}

const DEFAULT_ENVIRONMENT = 'production';

/** The environment a caller evaluates in: fixed by client/server tokens, chosen by X-Environment for users. */
export function environmentOf(principal: Principal, req: Request): string {
  return principal.kind === 'user' ? (req.get('x-environment') ?? DEFAULT_ENVIRONMENT) : principal.environment;
}

function ofrepError(res: Response, status: number, key: string | undefined, errorCode: string, errorDetails: string) {
  res.status(status).json({ ...(key === undefined ? {} : { key }), errorCode, errorDetails });
}

/** Parses OFREP's `{context}` body; returns an error message naming the field, or the context. */
function contextOf(body: unknown): { context: Record<string, unknown> } | { error: string } {
  if (body === undefined) return { context: {} };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: 'the body must be a JSON object' };
  const context = (body as { context?: unknown }).context;
  if (context === undefined) return { context: {} };
  if (typeof context !== 'object' || context === null || Array.isArray(context)) return { error: 'context must be an object' };
  const targetingKey = (context as { targetingKey?: unknown }).targetingKey;
  if (targetingKey !== undefined && typeof targetingKey !== 'string') return { error: 'context.targetingKey must be a string' };
  return { context: context as Record<string, unknown> };
}

// OFREP bodies are JSON whatever the Content-Type says; parse failures answer in OFREP's error shape.
const parseJson = express.json({ limit: '64kb', type: () => true });
function ofrepBody(req: Request<{ key?: string }>, res: Response, next: NextFunction) {
  parseJson(req, res, (error?: unknown) => {
    if (!error) return next();
    const mapped = bodyParserError(error as { type?: string });
    ofrepError(res, mapped?.status ?? 400, req.params.key, 'PARSE_ERROR', mapped?.message ?? 'unreadable body');
  });
}

/** OpenFeature Remote Evaluation Protocol, as its OpenAPI spec says: status codes, bodies, auth without a body. */
export function createOfrepRouter(deps: OfrepDeps): Router {
  const router = Router();

  router.post('/ofrep/v1/evaluate/flags/:key', ofrepBody, async (req, res) => {
    const key = req.params.key!;
    const token = tokenOf(req);
    const principal = token ? await deps.authenticator.authenticate(token) : null;
    if (!principal) {
      res.status(401).end();
      return;
    }
    const parsed = contextOf(req.body);
    if ('error' in parsed) return ofrepError(res, 400, key, 'INVALID_CONTEXT', parsed.error);

    const environment = environmentOf(principal, req);
    const flag = deps.snapshot.get(environment, key);
    if (!flag) return ofrepError(res, 404, key, 'FLAG_NOT_FOUND', `flag '${key}' was not found in environment '${environment}'`);

    const started = process.hrtime.bigint();
    const result: EvaluationResult = evaluate(flag, parsed.context, Date.now());
    deps.metrics.evaluationDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    deps.metrics.evaluations.inc({ environment, reason: result.reason });

    if (result.reason === 'ERROR') {
      return ofrepError(res, 400, key, result.errorCode ?? 'GENERAL', result.errorMessage ?? 'evaluation failed');
    }
    res.json({
      key,
      value: result.value,
      reason: result.reason,
      variant: result.variant,
      metadata: { version: flag.version, ...(result.ruleId ? { ruleId: result.ruleId } : {}), ...result.metadata },
    });
  });

  return router;
}
