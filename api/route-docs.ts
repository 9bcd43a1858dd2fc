import type { NextFunction, Request, Response, Router } from 'express';
import type { z } from 'zod';

/** Who may call a route, as the OpenAPI document says it (and RBAC enforces it). */
export type RouteAuth = string;

/** The auth of routes anyone may call: the document gives them no security requirement. */
export const PUBLIC = 'public (no token)';

/** One route as the OpenAPI document describes it; the same zod schemas parse its input. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** The full path in OpenAPI form, e.g. `/api/v1/users/{id}`. */
  path: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Extra request headers (If-Match, Idempotency-Key, X-Audit-Reason...), with the schema that parses each (default: any string). */
  headers?: Array<{ name: string; description: string; required?: boolean; schema?: z.ZodType }>;
  /** Success responses: status → description and body schema. */
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  /** Error statuses this route can answer (the body is always the Error schema). */
  errors: number[];
  /** Other content types the body may use (e.g. text/plain member lists). */
  bodyContentTypes?: string[];
}

const docs = new Map<string, RouteDoc>();
/** The routes of the app being built (collectRouteDocs), beside every route the process documented. */
let building: Map<string, RouteDoc> | undefined;

/** Every route documented in this process, in registration order. */
export function routeDocs(): RouteDoc[] {
  return [...docs.values()];
}

/**
 * Documents a route that is not an Express route of its own (Bolt's Slack receiver); every other
 * route documents itself through defineRoute.
 */
export function documentRoute(doc: RouteDoc): void {
  const key = `${doc.method} ${doc.path}`;
  docs.set(key, doc);
  building?.set(key, doc);
}

/**
 * Runs `build`, which defines an app's routes (synchronously), and returns the docs of the routes it
 * defined, in order: an app's document lists its own routes (those its config turns on, e.g. Slack's)
 * even in a process that builds several apps with different configs (the tests do).
 */
export function collectRouteDocs<T>(build: () => T): { built: T; docs: RouteDoc[] } {
  const outer = building;
  const own = new Map<string, RouteDoc>();
  building = own;
  try {
    return { built: build(), docs: [...own.values()] };
  } finally {
    building = outer;
  }
}

type Handler = (req: Request, res: Response, next: NextFunction) => Promise<void> | void;

/**
 * Mounts a route on a router that sits under `mount` (e.g. `/api/v1`, or '' at the root) and records
 * its doc, so the OpenAPI document lists exactly the routes that exist, with the schemas they parse.
 * Middleware (a raw body reader) may come before the handler.
 */
export function defineRoute(router: Router, mount: string, doc: RouteDoc, ...handlers: Handler[]): void {
  documentRoute(doc);
  const expressPath = doc.path.slice(mount.length).replace(/\{(\w+)\}/g, ':$1');
  router[doc.method](expressPath, ...handlers);
}
