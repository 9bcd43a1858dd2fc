import type { NextFunction, Request, Response } from 'express';
import { ValidationError } from '../src/errors.js';
import { CORS_HEADERS } from '../src/serving/evaluation-endpoints.js';
import { routeDocs } from './route-docs.js';

export const UNDECODABLE_MESSAGE = 'not valid percent-encoded UTF-8';

function decodes(segment: string): boolean {
  if (!segment.includes('%')) return true;
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/** A route template split into segments: a parameter's name, or a literal segment. */
type Template = Array<{ param: string } | { literal: string }>;

function compile(path: string): Template {
  return path.split('/').map((segment) => {
    const param = /^\{(\w+)\}$/.exec(segment)?.[1];
    return param ? { param } : { literal: segment };
  });
}

/**
 * The path parameters of `path` (raw, still percent-encoded) whose escapes do not decode to UTF-8
 * (`%FF`, a lone surrogate `%ED%A0%80`, an overlong `%C0%AF`), named as the first template in
 * `templates` that the path fits names them; `path` when none fits or a literal segment is at fault.
 * Empty when every segment decodes. The values themselves are never returned: they may be secrets.
 */
export function undecodableParams(path: string, templates: readonly string[]): string[] {
  const segments = path.split('/');
  if (segments.every(decodes)) return [];
  for (const template of templates.map(compile)) {
    if (template.length !== segments.length) continue;
    if (!template.every((part, i) => 'param' in part || part.literal === segments[i])) continue;
    const bad = template.flatMap((part, i) => (decodes(segments[i]!) ? [] : ['param' in part ? part.param : 'path']));
    return [...new Set(bad)];
  }
  return ['path'];
}

/**
 * Before any route: a path whose escapes do not decode is a 400 naming the parameter (OFREP's error
 * shape under /ofrep/), where Express would throw a URIError carrying the raw value from deep in its
 * router. Nothing is logged: an alert trigger's path parameter is its secret.
 */
export function refuseUndecodablePaths(req: Request, res: Response, next: NextFunction): void {
  const url = req.originalUrl;
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (!path.includes('%')) return next();
  const bad = undecodableParams(path, routeDocs().map((doc) => doc.path));
  if (bad.length === 0) return next();
  if (path.startsWith('/ofrep/')) {
    const where = bad.map((name) => (name === 'path' ? 'the path' : `path parameter '${name}'`)).join(', ');
    res.status(400).set(CORS_HEADERS).json({ errorCode: 'PARSE_ERROR', errorDetails: `${where}: ${UNDECODABLE_MESSAGE}` });
    return;
  }
  next(new ValidationError('Invalid request params', bad.map((name) => ({ path: name === 'path' ? 'path' : `params.${name}`, message: UNDECODABLE_MESSAGE }))));
}
