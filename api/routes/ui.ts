import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';

/** Paths the API owns: the UI never answers them, not even with its index.html fallback. */
const RESERVED = /^\/(api|ofrep|slack)(\/|$)|^\/(healthz|readyz|metrics|openapi\.json)$/;

/**
 * Headers on every UI response: scripts, styles and connections only from this
 * origin (the build has no inline script; React sets styles through the DOM, which CSP allows), never
 * framed (clickjacking on the kill switch), no MIME sniffing, no referrer to the Temporal UI links.
 */
export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
  ].join('; '),
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../ui/dist', import.meta.url));

/**
 * The admin UI: the static files of `ui/dist` (built by `npm run ui:build`) at `/`, and its
 * index.html for any other GET that the API does not own, so that deep links work (SPA fallback).
 */
export function createUiRouter(dir: string = DEFAULT_UI_DIR): Router {
  const router = Router();
  const index = join(dir, 'index.html');
  const assets = express.static(dir, { index: false, fallthrough: true, maxAge: '1h', immutable: true });

  router.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || RESERVED.test(req.path)) return next();
    res.set(UI_SECURITY_HEADERS);
    // Source maps are never served, even from a build that made them (they publish the source).
    if (req.path.endsWith('.map')) {
      res.status(404).type('text/plain').send('Not found');
      return;
    }
    if (!existsSync(index)) {
      if (req.path !== '/') return next();
      res.status(404).type('text/plain').send('The admin UI is not built: run `npm run ui:build` (npm run dev does it).');
      return;
    }
    // Hashed assets are immutable; index.html must be revalidated so a new build is picked up.
    if (req.path.startsWith('/assets/')) return assets(req, res, next);
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}
